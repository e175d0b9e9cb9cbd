"""The JSON report: the camaudit.scan/1 document itself, as camaudit/scanfile.py writes it."""

from __future__ import annotations

from camaudit import scanfile
from camaudit.models import ScanResult


def render(result: ScanResult) -> str:
    """The scan as indented JSON text (ASCII-safe, so hostile strings stay visible escapes)."""
    return scanfile.dumps(result)

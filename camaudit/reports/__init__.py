"""Reports: terminal table, JSON, CSV, HTML, and the removal checklist."""

from __future__ import annotations

from collections.abc import Callable

from camaudit.models import ScanResult
from camaudit.reports import as_csv, as_html, as_json
from camaudit.reports.table import render_table

REPORTS: dict[str, Callable[[ScanResult], str]] = {
    "json": as_json.render,
    "csv": as_csv.render,
    "html": as_html.render,
}

__all__ = ["REPORTS", "render_table"]

"""Fixtures for report tests: a scan with a hostile device, and golden-file comparison."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from report_samples import (
    axis_camera,
    hikvision_camera,
    hostile_device,
    make_scan,
    possible_dahua,
)

from camaudit import __version__
from camaudit.models import ScanResult

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def scan_result() -> ScanResult:
    """A scan with a flagged Hikvision camera, a hostile Dahua NVR, a possible Dahua and an Axis."""
    return make_scan((axis_camera(), possible_dahua(), hikvision_camera(), hostile_device()))


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """Compare text with golden/<name>, or rewrite it under --update-golden."""
    update = bool(request.config.getoption("--update-golden", default=False))

    def check(name: str, text: str) -> None:
        text = text.replace(__version__, "<version>")
        path = GOLDEN / name
        if update:
            path.write_text(text, encoding="utf-8", newline="")
            return
        assert path.exists(), f"no golden file {path}; run pytest tests/reports --update-golden"
        with path.open(encoding="utf-8", newline="") as handle:
            expected = handle.read()
        assert text == expected, f"{name} differs from its golden file"

    return check

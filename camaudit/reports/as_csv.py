"""The scan as CSV: one row per device, every cell safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from camaudit.models import ScanResult
from camaudit.reports.base import evidence_line, neutralise_cell, strongest_evidence
from camaudit.scanfile import order_devices
from camaudit.untrusted import clean_text

COLUMNS = (
    "ip", "mac", "maker", "brand", "model", "firmware", "serial", "device_type",
    "verdict", "confidence", "flagged", "flag_reason", "in_scope", "evidence",
)  # fmt: skip


def safe_cell(value: object) -> str:
    """A cell as text: control characters stripped, formula-shaped text neutralised."""
    if value is None:
        return ""
    return neutralise_cell(clean_text(str(value)))


def write_rows(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text (RFC 4180 CRLF line ends) of a header and rows, every cell made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def render(result: ScanResult) -> str:
    """One row per device, flagged first, then by IP."""
    rows = [
        (
            d.ip,
            d.mac,
            d.maker,
            d.brand,
            d.model,
            d.firmware,
            d.serial,
            d.device_type,
            d.verdict.value,
            f"{d.confidence:.2f}",
            "yes" if d.flagged else "no",
            d.flag_reason,
            "yes" if d.in_scope else "no",
            " | ".join(evidence_line(item) for item in strongest_evidence(d)),
        )  # fmt: skip
        for d in order_devices(result.devices)
    ]
    return write_rows(COLUMNS, rows)

"""The removal checklist: one row per flagged device, with staff edits carried across rescans.

One module per job: rows.py builds rows from a scan, read.py reads an existing checklist,
merge.py carries staff edits onto fresh rows, write.py writes CSV/XLSX/Markdown/HTML.
"""

from __future__ import annotations

from camaudit.reports.checklist.merge import merge
from camaudit.reports.checklist.read import read_csv, read_xlsx, verify_path
from camaudit.reports.checklist.rows import (
    COLUMNS,
    FORMATS,
    HEADINGS,
    STATUSES,
    Checklist,
    ChecklistError,
    Row,
    build,
    needs_verifying,
)
from camaudit.reports.checklist.write import format_for, render_html, render_md, write

__all__ = [
    "COLUMNS",
    "FORMATS",
    "HEADINGS",
    "STATUSES",
    "Checklist",
    "ChecklistError",
    "Row",
    "build",
    "format_for",
    "merge",
    "needs_verifying",
    "read_csv",
    "read_xlsx",
    "render_html",
    "render_md",
    "verify_path",
    "write",
]

"""Writing the checklist as CSV (two files), XLSX (two sheets), Markdown or HTML."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from camaudit.errors import ConfigError
from camaudit.fileio import write_atomic
from camaudit.reports.base import neutralise_cell
from camaudit.reports.checklist.merge import merge
from camaudit.reports.checklist.read import READERS, verify_path
from camaudit.reports.checklist.rows import (
    FORMATS,
    HEADINGS,
    MAIN_SHEET,
    STATUSES,
    VERIFY_SHEET,
    Checklist,
    Row,
    cells,
)
from camaudit.untrusted import clean_text


def _csv_text(rows: Iterable[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADINGS)
    writer.writerows([neutralise_cell(clean_text(c)) for c in cells(row)] for row in rows)
    return buffer.getvalue()


def render_md(checklist: Checklist) -> str:
    """Markdown: the to-do table, then the verify-on-site table."""

    def md(text: str) -> str:
        # NOTE: Markdown renderers pass raw HTML through, so < > & become entities; the rest of
        # the escapes stop a device string from forging links, emphasis or table cells.
        text = clean_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for ch in "\\`*_[]|#!":
            text = text.replace(ch, "\\" + ch)
        return text

    def table(rows: Sequence[Row]) -> list[str]:
        if not rows:
            return ["_None._", ""]
        lines = ["| " + " | ".join(HEADINGS) + " |", "|" + "---|" * len(HEADINGS)]
        lines += ["| " + " | ".join(md(c) for c in cells(row)) + " |" for row in rows]
        return [*lines, ""]

    title = f"# Removal checklist{': ' + md(checklist.site) if checklist.site else ''}"
    head = [title, "", f"Generated {checklist.generated}; policy {md(checklist.policy)}.", ""]
    return "\n".join(
        [*head, "## To remove or replace", "", *table(checklist.rows),
         "## Verify on site", "", *table(checklist.verify)]
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class VulnerabilityPart:
    """One advisory of a row's "known vulnerabilities" cell, split for the printed card."""

    id: str
    status: str
    url: str
    exploited: bool


# "CVE-2021-36260 (exploited, affected) https://…": only a link of the shape the advisory
# table holds becomes a link; anything else (a hand-edited cell) stays text.
_PART = re.compile(r"^(?P<id>\S+)(?: \((?P<status>[^)]*)\))?(?: (?P<url>https://[^\s\"'<>]+))?$")


def vulnerability_parts(row: Row) -> list[VulnerabilityPart]:
    """The cell "CVE-… (exploited, affected) https://…; …" as parts with their links."""
    parts = []
    for piece in filter(None, (p.strip() for p in row.vulnerabilities.split("; "))):
        found = _PART.match(piece)
        if found is None:
            parts.append(VulnerabilityPart(piece, "", "", exploited=False))
            continue
        status = found.group("status") or ""
        parts.append(
            VulnerabilityPart(
                found.group("id"),
                status.replace("exploited, ", "known exploited; ", 1),
                found.group("url") or "",
                exploited=status.startswith("exploited, "),
            )
        )
    return parts


def why_flagged(row: Row) -> str:
    """The policy rule in one line: "uk-2022: made by Hikvision (likely)"; the policy's long
    title and source stay in the other formats."""
    return clean_text(row.policy_rule).split(" - ", 1)[0]


def render_html(checklist: Checklist) -> str:
    """A printable, self-contained HTML page: one card per device, tick boxes, sign-off."""
    from camaudit.reports.as_html import environment

    return (
        environment()
        .get_template("checklist.html.j2")
        .render(
            checklist=checklist,
            statuses=STATUSES,
            vulnerabilities=vulnerability_parts,
            why=why_flagged,
        )
    )


def _xlsx_bytes(checklist: Checklist) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    status_col = get_column_letter(HEADINGS.index("status") + 1)
    first = book.active
    assert first is not None
    for sheet, rows in ((first, checklist.rows), (book.create_sheet(), checklist.verify)):
        sheet.title = MAIN_SHEET if sheet is first else VERIFY_SHEET
        sheet.append(list(HEADINGS))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        widths = [len(h) for h in HEADINGS]
        for r, row in enumerate(rows, start=2):
            for c, value in enumerate(cells(row), start=1):
                text = neutralise_cell(clean_text(value))
                cell = sheet.cell(row=r, column=c)
                if c == 1 and text.isdigit():
                    cell.value = int(text)
                else:
                    cell.value = text
                    # NOTE: set after the value: openpyxl guesses "f" for text starting "=".
                    cell.data_type = "s"
                widths[c - 1] = max(widths[c - 1], len(text))
        last_row = max(2, len(rows) + 1)
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(HEADINGS))}{last_row}"
        # Room below the rows so staff can add a line and still get the drop-down.
        status = DataValidation(type="list", formula1='"' + ",".join(STATUSES) + '"',
                                allow_blank=True, showDropDown=False)  # fmt: skip
        status.error = "Pick one of: " + ", ".join(STATUSES)
        status.add(f"{status_col}2:{status_col}{last_row + 500}")
        sheet.add_data_validation(status)
        for c, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(c)].width = min(max(width + 2, 8), 60)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def format_for(path: Path, explicit: str | None) -> str:
    """The output format: --format if given, else from the file ending."""
    fmt = explicit or path.suffix.lower().lstrip(".")
    if fmt == "htm":
        fmt = "html"
    if fmt not in FORMATS:
        raise ConfigError(
            f"cannot tell the checklist format from {path.name!r}; use --format {'|'.join(FORMATS)}"
        )
    return fmt


def write(fresh: Checklist, path: Path, fmt: str) -> Checklist:
    """Write the checklist, merging staff edits from an existing CSV/XLSX file first.

    Raises ChecklistError, leaving the file untouched, when an existing file cannot be parsed.
    Returns what was written.
    """
    checklist = fresh
    # NOTE: a CSV checklist is two files; edits in the -verify one count even if the main is gone.
    existing = path.exists() or (fmt == "csv" and verify_path(path).exists())
    if fmt in READERS and existing:
        checklist = merge(fresh, READERS[fmt](path))
    if fmt == "csv":
        write_atomic(path, _csv_text(checklist.rows).encode("utf-8"))
        write_atomic(verify_path(path), _csv_text(checklist.verify).encode("utf-8"))
    elif fmt == "xlsx":
        write_atomic(path, _xlsx_bytes(checklist))
    elif fmt == "md":
        write_atomic(path, render_md(checklist).encode("utf-8"))
    else:
        write_atomic(path, render_html(checklist).encode("utf-8"))
    return checklist

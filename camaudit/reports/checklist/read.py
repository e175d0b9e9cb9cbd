"""Reading an existing checklist (CSV and its -verify file, or XLSX) so its edits survive."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Mapping, Sequence
from ipaddress import AddressValueError, IPv4Address
from pathlib import Path
from typing import Any

from camaudit.reports.base import unneutralise_cell
from camaudit.reports.checklist.rows import (
    COLUMNS,
    HEADINGS,
    LATER_HEADINGS,
    MAIN_SHEET,
    VERIFY_SHEET,
    Checklist,
    ChecklistError,
    Row,
)

# A checklist is a human-sized file; anything bigger is not ours.
MAX_CHECKLIST_BYTES = 64 * 1024 * 1024


def _row_from_cells(cells: Mapping[str, str], where: str) -> Row:
    values = {name: unneutralise_cell(cells.get(heading, "") or "") for heading, name in COLUMNS}
    raw_item = values.pop("item").strip()
    # NOTE: str.isdigit() accepts "²" and other digits int() rejects; item numbers are ASCII.
    if raw_item and not (raw_item.isascii() and raw_item.isdigit()):
        raise ChecklistError(f"{where}: item {raw_item!r} is not a number")
    if values["ip"]:
        try:
            IPv4Address(values["ip"].strip())
        except AddressValueError as exc:
            raise ChecklistError(f"{where}: IP {values['ip']!r} is not an IPv4 address") from exc
    return Row(item=int(raw_item) if raw_item else None, **values)


def _rows_from_table(table: Sequence[Sequence[Any]], where: str) -> list[Row]:
    if not table:
        raise ChecklistError(f"{where}: empty; not a camaudit checklist")
    header = [str(cell or "").strip() for cell in table[0]]
    missing = [h for h in HEADINGS if h not in header and h not in LATER_HEADINGS]
    if missing:
        raise ChecklistError(
            f"{where}: not a camaudit checklist (missing columns: {', '.join(missing)})"
        )
    rows = []
    for number, line in enumerate(table[1:], start=2):
        cells = {h: "" if v is None else str(v) for h, v in zip(header, line, strict=False)}
        if not any(value.strip() for value in cells.values()):
            continue  # blank lines staff left between groups
        rows.append(_row_from_cells(cells, f"{where} row {number}"))
    return rows


def _read_capped(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CHECKLIST_BYTES + 1)
    except OSError as exc:
        raise ChecklistError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_CHECKLIST_BYTES:
        raise ChecklistError(f"{path}: too large to be a checklist")
    return raw


def _csv_table(path: Path) -> list[list[str]]:
    raw = _read_capped(path)
    try:
        # utf-8-sig: spreadsheet apps often add a BOM when staff save the file.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ChecklistError(f"{path}: not UTF-8 text; save it as CSV UTF-8") from exc
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ChecklistError(f"{path}: not readable as CSV: {exc}") from exc


def verify_path(path: Path) -> Path:
    """Where the CSV checklist's verify-on-site list lives: <name>-verify.csv beside it."""
    return path.with_name(f"{path.stem}-verify{path.suffix}")


def read_csv(path: Path) -> Checklist:
    """An existing CSV checklist and its -verify file, whichever of the two exist."""
    rows = _rows_from_table(_csv_table(path), str(path)) if path.exists() else []
    verify_file = verify_path(path)
    verify = []
    if verify_file.exists():
        verify = _rows_from_table(_csv_table(verify_file), str(verify_file))
    return Checklist(rows=tuple(rows), verify=tuple(verify))


# What openpyxl raises on a damaged workbook: zip damage, missing parts, and XML parse errors
# (ElementTree's ParseError and lxml's XMLSyntaxError are both SyntaxError subclasses).
_XLSX_ERRORS = (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError, SyntaxError)


def read_xlsx(path: Path) -> Checklist:
    """An existing XLSX checklist, both sheets."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _read_capped(path)
    try:
        book = load_workbook(path, read_only=True, data_only=False)
    except (*_XLSX_ERRORS, InvalidFileException) as exc:
        raise ChecklistError(f"{path}: not a readable XLSX workbook ({exc})") from exc
    try:
        if MAIN_SHEET not in book.sheetnames:
            raise ChecklistError(f"{path}: no {MAIN_SHEET!r} sheet; not a camaudit checklist")
        sheets = {}
        for name in (MAIN_SHEET, VERIFY_SHEET):
            if name in book.sheetnames:
                # NOTE: read-only mode parses a sheet's XML only now, row by row.
                try:
                    table = [list(r) for r in book[name].iter_rows(values_only=True)]
                except _XLSX_ERRORS as exc:
                    raise ChecklistError(f"{path}: sheet {name!r} is damaged ({exc})") from exc
                sheets[name] = _rows_from_table(table, f"{path} sheet {name!r}")
    finally:
        book.close()
    return Checklist(rows=tuple(sheets[MAIN_SHEET]), verify=tuple(sheets.get(VERIFY_SHEET, [])))


READERS: dict[str, Callable[[Path], Checklist]] = {"csv": read_csv, "xlsx": read_xlsx}

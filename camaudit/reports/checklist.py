"""The removal checklist: one row per flagged device, with staff edits carried across rescans."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from ipaddress import AddressValueError, IPv4Address
from pathlib import Path
from typing import Any

from camaudit.errors import ConfigError
from camaudit.fileio import write_atomic
from camaudit.identity import Identity, device_key, identity, pair_up
from camaudit.models import Device, ScanResult, Verdict
from camaudit.reports.base import (
    evidence_line,
    neutralise_cell,
    short_date,
    strongest_evidence,
    subnet_of,
    unneutralise_cell,
    verdict_text,
)
from camaudit.scanfile import order_devices
from camaudit.untrusted import clean_text

FORMATS = ("csv", "xlsx", "md", "html")
STATUSES = ("to do", "removed", "replaced", "verified not covered", "cannot access")
RECORDER_TYPES = frozenset({"nvr", "dvr", "xvr", "recorder"})
# Makers flagged by every policy camaudit ships; a "possible" device from one of them is worth
# a look on site even when the policy did not flag it outright.
DEFAULT_FLAGGED_MAKERS = frozenset({"hikvision", "dahua"})
MAIN_SHEET = "Checklist"
VERIFY_SHEET = "Verify on site"
# A checklist is a human-sized file; anything bigger is not ours.
MAX_CHECKLIST_BYTES = 64 * 1024 * 1024


class ChecklistError(ConfigError):
    """An existing checklist file cannot be read, so it must not be overwritten."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One line of the checklist; the last four fields belong to staff and survive rescans."""

    item: int | None
    site: str = ""
    location: str = ""
    subnet: str = ""
    recorder: str = ""
    ip: str = ""
    mac: str = ""
    maker: str = ""
    brand: str = ""
    model: str = ""
    serial: str = ""
    firmware: str = ""
    first_seen: str = ""
    last_seen: str = ""
    verdict: str = ""
    evidence: str = ""
    policy_rule: str = ""
    action: str = ""
    status: str = STATUSES[0]
    notes: str = ""
    sign_off: str = ""


# Column headings in file order, paired with the Row field each one holds.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("item", "item"), ("site", "site"), ("location", "location"), ("subnet", "subnet"),
    ("recorder", "recorder"), ("IP", "ip"), ("MAC", "mac"), ("maker", "maker"),
    ("brand", "brand"), ("model", "model"), ("serial", "serial"), ("firmware", "firmware"),
    ("first seen", "first_seen"), ("last seen", "last_seen"),
    ("verdict and confidence", "verdict"), ("evidence", "evidence"),
    ("policy rule and source", "policy_rule"), ("action", "action"), ("status", "status"),
    ("notes", "notes"), ("sign-off", "sign_off"),
)  # fmt: skip
HEADINGS = tuple(heading for heading, _ in COLUMNS)
STAFF_FIELDS = ("location", "status", "notes", "sign_off")
assert {name for _, name in COLUMNS} == {f.name for f in fields(Row)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Checklist:
    """The to-do list of flagged devices and the separate verify-on-site list."""

    rows: tuple[Row, ...] = ()
    verify: tuple[Row, ...] = ()
    site: str = ""
    generated: str = ""
    policy: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)


def _action(device: Device) -> str:
    if device.verdict is Verdict.POSSIBLE:
        return "verify on site"
    # A recorder holds every camera's footage, so it is replaced rather than just pulled out.
    if (device.device_type or "").lower() in RECORDER_TYPES:
        return "replace"
    return "remove"


def _policy_rule(result: ScanResult, device: Device) -> str:
    reason = clean_text(device.flag_reason)
    policy = clean_text(result.policy)
    return f"{policy}: {reason}" if reason else policy


def _row(result: ScanResult, device: Device, site: str, seen: Mapping[str, tuple[str, str]]) -> Row:
    scanned = short_date(result.started_at)
    first, last = seen.get(device_key(device), (scanned, scanned))
    return Row(
        item=None,
        site=site,
        subnet=subnet_of(device.ip),
        ip=str(device.ip),
        mac=clean_text(device.mac),
        maker=clean_text(device.maker),
        brand=clean_text(device.brand),
        model=clean_text(device.model),
        serial=clean_text(device.serial),
        firmware=clean_text(device.firmware),
        first_seen=first,
        last_seen=last,
        verdict=verdict_text(device),
        evidence="; ".join(evidence_line(item) for item in strongest_evidence(device)),
        policy_rule=_policy_rule(result, device),
        action=_action(device),
    )


def _group_key(row: Row) -> tuple[Any, ...]:
    return (row.site, IPv4Address(row.subnet.split("/")[0]), row.recorder, IPv4Address(row.ip))


def needs_verifying(device: Device, flagged_makers: Iterable[str]) -> bool:
    """A `possible` device from a flagged maker: someone should look at it."""
    return device.verdict is Verdict.POSSIBLE and (
        device.flagged or (device.maker or "").lower() in set(flagged_makers)
    )


def build(
    result: ScanResult,
    *,
    site: str | None = None,
    seen: Mapping[str, tuple[datetime, datetime]] | None = None,
) -> Checklist:
    """A fresh checklist, grouped by site, subnet, recorder, then IP, numbered from 1.

    `seen` maps `device_key(device)` to first/last sighting (from the inventory); without it
    both dates are the scan's.
    """
    site_name = clean_text(site or result.site)
    seen_dates = {k: (short_date(a), short_date(b)) for k, (a, b) in (seen or {}).items()}
    flagged_makers = DEFAULT_FLAGGED_MAKERS | {
        (d.maker or "").lower() for d in result.devices if d.flagged and d.maker
    }
    main: list[Row] = []
    verify: list[Row] = []
    for device in order_devices(result.devices):
        if needs_verifying(device, flagged_makers):
            verify.append(_row(result, device, site_name, seen_dates))
        elif device.flagged:
            main.append(_row(result, device, site_name, seen_dates))
    main.sort(key=_group_key)
    verify.sort(key=_group_key)
    numbered = [replace(row, item=i) for i, row in enumerate([*main, *verify], start=1)]
    return Checklist(
        rows=tuple(numbered[: len(main)]),
        verify=tuple(numbered[len(main) :]),
        site=site_name,
        generated=short_date(result.finished_at),
        policy=clean_text(result.policy),
    )


# --- carrying staff edits across a rescan -----------------------------------------------------


def _row_identity(row: Row) -> Identity:
    return identity(mac=row.mac, serial=row.serial, ip=row.ip)


def _has_identity(row: Row) -> bool:
    ident = _row_identity(row)
    return bool(ident.mac or ident.serial or ident.ip)


def _carry_over(old: Row, fresh: Row) -> Row:
    staff = {name: getattr(old, name) for name in STAFF_FIELDS}
    first = min(filter(None, (old.first_seen, fresh.first_seen)), default="")
    return replace(fresh, item=old.item, first_seen=first, **staff)


def _gone(old: Row) -> Row:
    if not _has_identity(old) or old.action.startswith("not seen since"):
        return old
    return replace(old, action=f"not seen since {old.last_seen or 'an earlier scan'}")


def merge(fresh: Checklist, old: Checklist) -> Checklist:
    """The fresh checklist with every staff edit from the old one kept.

    Old rows keep their place and item number; rows for devices no longer seen stay, marked
    "not seen since <date>"; new devices are appended at the end with new item numbers.
    """
    old_rows = [*old.rows, *old.verify]
    old_main_count = len(old.rows)
    fresh_rows = [*fresh.rows, *fresh.verify]
    fresh_main_count = len(fresh.rows)
    pairs = {
        new_i: old_i for old_i, new_i in pair_up(old_rows, fresh_rows, _row_identity, _row_identity)
    }
    old_to_new = {old_i: new_i for new_i, old_i in pairs.items()}
    next_item = max((r.item for r in old_rows if r.item is not None), default=0) + 1

    def in_main(new_i: int) -> bool:
        return new_i < fresh_main_count

    main: list[Row] = []
    verify: list[Row] = []
    for old_i, old_row in enumerate(old_rows):
        target = main if old_i < old_main_count else verify
        new_i = old_to_new.get(old_i)
        if new_i is None:
            target.append(_gone(old_row))
        elif in_main(new_i) == (old_i < old_main_count):
            target.append(_carry_over(old_row, fresh_rows[new_i]))
    for new_i, fresh_row in enumerate(fresh_rows):
        target = main if in_main(new_i) else verify
        partner = pairs.get(new_i)
        if partner is None:
            target.append(replace(fresh_row, item=next_item))
            next_item += 1
        elif in_main(new_i) != (partner < old_main_count):
            # Moved between lists (e.g. possible → confirmed): it goes to the end of its new list.
            target.append(_carry_over(old_rows[partner], fresh_row))
    return replace(fresh, rows=tuple(main), verify=tuple(verify))


# --- reading an existing checklist -------------------------------------------------------------


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
    missing = [h for h in HEADINGS if h not in header]
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


# --- writing -----------------------------------------------------------------------------------


def _cells(row: Row) -> list[str]:
    return ["" if getattr(row, name) is None else str(getattr(row, name)) for _, name in COLUMNS]


def _csv_text(rows: Iterable[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADINGS)
    writer.writerows([neutralise_cell(clean_text(c)) for c in _cells(row)] for row in rows)
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
        lines += ["| " + " | ".join(md(c) for c in _cells(row)) + " |" for row in rows]
        return [*lines, ""]

    title = f"# Removal checklist{': ' + md(checklist.site) if checklist.site else ''}"
    head = [title, "", f"Generated {checklist.generated}; policy {md(checklist.policy)}.", ""]
    return "\n".join(
        [*head, "## To remove or replace", "", *table(checklist.rows),
         "## Verify on site", "", *table(checklist.verify)]
    )  # fmt: skip


def render_html(checklist: Checklist) -> str:
    """A printable, self-contained HTML page with tick boxes."""
    from camaudit.reports.as_html import environment

    return (
        environment()
        .get_template("checklist.html.j2")
        .render(checklist=checklist, headings=HEADINGS, cells=_cells, statuses=STATUSES)
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
            for c, value in enumerate(_cells(row), start=1):
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

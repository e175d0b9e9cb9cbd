"""`camaudit report` renders a saved scan; `camaudit checklist` writes the removal checklist."""

from __future__ import annotations

import io
from pathlib import Path

import click
from rich.console import Console

from camaudit.exitcodes import CannotDo, one_line_errors
from camaudit.fileio import write_atomic
from camaudit.inventory.commands import DB_OPT
from camaudit.models import ScanResult
from camaudit.reports import REPORTS, as_json, checklist, render_table


def _write(path: Path, text: str) -> None:
    try:
        write_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        raise CannotDo(f"cannot write {path}: {exc.strerror or exc}") from exc


def _scan_from(
    scan_file: Path | None, db: str | None, scan_id: int | None, site: str | None = None
) -> ScanResult:
    """SCAN.json, or scan `scan_id` of the inventory, or its latest (of `site`, when named)."""
    from camaudit.inventory.store import ALL_SITES, open_store

    if scan_file is not None:
        return as_json.load(scan_file)
    with open_store(db) as store:
        if scan_id is not None:
            return store.load(scan_id)
        latest = store.latest(1, ALL_SITES if site is None else site)
        if not latest:
            raise CannotDo(f"no scans saved in {store.location}; run `camaudit scan --save` first")
        return latest[0]


def _seen_dates(result: ScanResult, db: str | None) -> dict[str, tuple]:  # type: ignore[type-arg]
    from camaudit.inventory.keys import device_key
    from camaudit.inventory.store import open_store

    seen = {}
    with open_store(db) as store:
        for device in result.devices:
            key = device_key(device)
            # NOTE: only this scan's site: another building's sighting of a MAC says nothing here.
            dates = store.first_last_seen(key, site=result.site)
            if dates is not None:
                seen[key] = dates
    return seen


_SCAN_ARG = click.argument(
    "scan_file", metavar="[SCAN.json]", required=False,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)  # fmt: skip
_SCAN_ID_OPT = click.option(
    "--scan", "scan_id", type=int, default=None, help="Scan id in the inventory (default: latest)."
)


@click.command("checklist")
@_SCAN_ARG
@DB_OPT
@_SCAN_ID_OPT
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Checklist file; an existing CSV/XLSX keeps its staff edits.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(checklist.FORMATS),
    default=None,
    help="Default: from the file ending.",
)
@click.option(
    "--site", default=None,
    help="Site name for every row (default: the scan's); from an inventory, that site's latest.",
)  # fmt: skip
def checklist_command(
    scan_file: Path | None,
    db: str | None,
    scan_id: int | None,
    output: Path,
    fmt: str | None,
    site: str | None,
) -> None:
    """Write the removal checklist for the flagged devices of a scan.

    Reads SCAN.json, or a scan from the inventory (--db, --scan). Location, status, notes and
    sign-off typed into an existing CSV/XLSX checklist are kept; devices no longer seen stay,
    marked "not seen since"; new devices are added at the end.
    """
    with one_line_errors():
        out_format = checklist.format_for(output, fmt)
        result = _scan_from(scan_file, db, scan_id, site)
        seen = _seen_dates(result, db) if (scan_file is None or db is not None) else None
        try:
            written = checklist.write(
                checklist.build(result, site=site, seen=seen), output, out_format
            )
        except OSError as exc:
            raise CannotDo(f"cannot write {output}: {exc.strerror or exc}") from exc
    extra = f" (+ {checklist.verify_path(output).name})" if out_format == "csv" else ""
    click.echo(
        f"wrote {output}{extra}: {len(written.rows)} to remove or replace, "
        f"{len(written.verify)} to verify on site",
        err=True,
    )


def _rollup(
    scan_file: Path | None, db: str | None, scan_id: int | None, fmt: str, output: Path | None
) -> None:
    from camaudit.inventory.rollup import rollup
    from camaudit.inventory.store import open_store
    from camaudit.reports.rollup import render

    if scan_file is not None or scan_id is not None:
        raise click.UsageError("--all-sites reads the inventory (--db), not one scan")
    with one_line_errors(), open_store(db) as store:
        text = render(rollup(store), fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        _write(output, text)


@click.command("report")
@_SCAN_ARG
@DB_OPT
@_SCAN_ID_OPT
@click.option("-f", "--format", "fmt", type=click.Choice(["table", *REPORTS]), default="table",
              show_default=True)  # fmt: skip
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write here instead of standard output.",
)
@click.option(
    "--all-sites", is_flag=True,
    help="Roll-up of every site in the inventory: flagged, removed, not seen since.",
)  # fmt: skip
def report_command(  # noqa: PLR0913 - click passes every option
    scan_file: Path | None,
    db: str | None,
    scan_id: int | None,
    fmt: str,
    output: Path | None,
    all_sites: bool,
) -> None:
    """Render a saved scan (SCAN.json, or from the inventory) as a table, JSON, CSV or HTML."""
    if all_sites:
        _rollup(scan_file, db, scan_id, fmt, output)
        return
    with one_line_errors():
        result = _scan_from(scan_file, db, scan_id)
    if fmt == "table":
        if output is None:
            render_table(result, Console())
        else:
            buffer = io.StringIO()
            render_table(result, Console(file=buffer, width=160, no_color=True))
            _write(output, buffer.getvalue())
        return
    text = REPORTS[fmt](result)
    if output is None:
        click.echo(text, nl=False)
    else:
        _write(output, text)

"""`camaudit report`: a saved scan (SCAN.json or from the inventory) as table, JSON, CSV, HTML."""

from __future__ import annotations

import io
from pathlib import Path

import click
from rich.console import Console

from camaudit.commands.common import (
    DB_OPTION,
    SCAN_FILE_ARGUMENT,
    SCAN_ID_OPTION,
    CannotDo,
    one_line_errors,
    scan_from,
)
from camaudit.fileio import write_atomic
from camaudit.reports import REPORTS, render_table


def _write(path: Path, text: str) -> None:
    """Write the rendered report atomically; a failure is a one-line exit 3."""
    try:
        write_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        raise CannotDo(f"cannot write {path}: {exc.strerror or exc}") from exc


def _rollup(
    scan_file: Path | None, db: str | None, scan_id: int | None, fmt: str, output: Path | None
) -> None:
    """Every site of the inventory in one report (--all-sites)."""
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
@SCAN_FILE_ARGUMENT
@DB_OPTION
@SCAN_ID_OPTION
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
        result = scan_from(scan_file, db, scan_id)
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

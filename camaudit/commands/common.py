"""What the commands share: how an error leaves, where a scan comes from, where output goes."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console

from camaudit import scanfile
from camaudit.errors import CamauditError, ConfigError
from camaudit.exitcodes import EXIT_CANNOT, EXIT_USAGE, exit_code_for
from camaudit.fileio import write_atomic
from camaudit.models import ScanResult
from camaudit.reports import REPORTS, render_table

FORMATS = ("table", "json", "csv", "html")


class CannotDo(click.ClickException):
    """One line on stderr, exit 3: the command could not be carried out."""

    exit_code = EXIT_CANNOT


class BadInput(CannotDo):
    """One line on stderr, exit 2: the user's targets, options or input are wrong."""

    exit_code = EXIT_USAGE


def fail(error: CamauditError) -> NoReturn:
    """Leave with a one-line reason and the documented exit code."""
    raise (BadInput if exit_code_for(error) == EXIT_USAGE else CannotDo)(str(error))


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn a CamauditError raised inside into its one-line exit; anything else is a bug."""
    try:
        yield
    except CamauditError as exc:
        fail(exc)


DB_OPTION = click.option(
    "--db", default=None, metavar="PATH|URL",
    help="Inventory: a SQLite file (default ~/.local/share/camaudit/inventory.sqlite3) or a "
    "postgresql:// URL.",
)  # fmt: skip
SCAN_FILE_ARGUMENT = click.argument(
    "scan_file", metavar="[SCAN.json]", required=False,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)  # fmt: skip
SCAN_ID_OPTION = click.option(
    "--scan", "scan_id", type=int, default=None, help="Scan id in the inventory (default: latest)."
)


def scan_from(
    scan_file: Path | None, db: str | None, scan_id: int | None, site: str | None = None
) -> ScanResult:
    """The scan a command works on: SCAN.json when given, else scan `scan_id` of the inventory,
    or its latest (of `site`, when named)."""
    from camaudit.inventory.store import ALL_SITES, open_store

    if scan_file is not None:
        return scanfile.load(scan_file)
    with open_store(db) as store:
        if scan_id is not None:
            return store.load(scan_id)
        latest = store.latest(1, ALL_SITES if site is None else site)
        if not latest:
            raise CannotDo(f"no scans saved in {store.location}; run `camaudit scan --save` first")
        return latest[0]


def check_writable(output: Path | None) -> None:
    """Refuse an output path that cannot be written before anything is scanned."""
    if output is None:
        return
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"cannot write {output}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (output.exists() and not os.access(output, os.W_OK)):
        raise ConfigError(f"cannot write {output}: permission denied")


def emit(result: ScanResult, output_format: str, output: Path | None) -> None:
    """Show a fresh result (scan, identify) on stdout or write it; a failed write still shows it."""
    if output_format == "table":
        if output is None:
            render_table(result, Console(highlight=False))
            return
        sink = io.StringIO()
        render_table(result, Console(file=sink, width=160, highlight=False, no_color=True))
        text = sink.getvalue()
    else:
        text = REPORTS[output_format](result)
    write_text(text, output)


def write_text(text: str, output: Path | None) -> None:
    """Print `text`, or write it atomically to `output`; a failed write still shows it."""
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        write_atomic(output, text)
    except OSError as exc:
        # The scan is done and must not be lost: show it here instead, then fail.
        click.echo(text, nl=not text.endswith("\n"))
        fail(CamauditError(f"cannot write {output} ({exc.strerror}); the report is above"))
    click.echo(f"Wrote {output}", err=True)

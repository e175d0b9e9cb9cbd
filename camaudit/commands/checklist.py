"""`camaudit checklist`: the removal checklist for a scan, keeping staff edits already in it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from camaudit.commands.common import (
    DB_OPTION,
    SCAN_FILE_ARGUMENT,
    SCAN_ID_OPTION,
    CannotDo,
    one_line_errors,
    scan_from,
)
from camaudit.models import ScanResult
from camaudit.reports import checklist


def _seen_dates(result: ScanResult, db: str | None) -> dict[str, tuple[datetime, datetime]]:
    """When the inventory first and last saw each device of the scan, by device key."""
    from camaudit.identity import device_key
    from camaudit.inventory.store import open_store

    seen: dict[str, tuple[datetime, datetime]] = {}
    with open_store(db) as store:
        for device in result.devices:
            key = device_key(device)
            # NOTE: only this scan's site: another building's sighting of a MAC says nothing here.
            dates = store.first_last_seen(key, site=result.site)
            if dates is not None:
                seen[key] = dates
    return seen


@click.command("checklist")
@SCAN_FILE_ARGUMENT
@DB_OPTION
@SCAN_ID_OPTION
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
        result = scan_from(scan_file, db, scan_id, site)
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

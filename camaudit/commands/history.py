"""`camaudit history list|show|diff`: the scans kept in the local inventory."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from camaudit.commands.common import DB_OPTION, CannotDo, one_line_errors
from camaudit.inventory.diff import ScanDiff, diff
from camaudit.inventory.store import Store
from camaudit.reports import render_table
from camaudit.scanfile import iso_utc
from camaudit.untrusted import clean_text


@click.group("history")
def history_group() -> None:
    """Scans remembered in the local inventory, and what changed."""


@history_group.command("list")
@DB_OPTION
def list_command(db: Path | None) -> None:
    """List saved scans, oldest first."""
    with one_line_errors(), Store(db) as store:
        summaries = store.scans()
    table = Table(title=Text(f"{len(summaries)} saved scans"))
    for name in ("id", "started (UTC)", "site", "policy", "devices", "flagged", "note"):
        table.add_column(Text(name))
    for s in summaries:
        table.add_row(
            Text(str(s.id)), Text(iso_utc(s.started_at)), Text(clean_text(s.site)),
            Text(clean_text(s.policy)), Text(str(s.devices)), Text(str(s.flagged)),
            Text("interrupted" if s.interrupted else ""),
        )  # fmt: skip
    Console().print(table)


@history_group.command("show")
@click.argument("scan_id", type=int)
@DB_OPTION
def show_command(scan_id: int, db: Path | None) -> None:
    """Show one saved scan as a table."""
    with one_line_errors(), Store(db) as store:
        result = store.load(scan_id)
    render_table(result, Console())


def render_diff(changes: ScanDiff, console: Console) -> None:
    """Print a diff: added, removed, changed."""
    if changes.empty:
        console.print(Text("no changes"))
        return
    for device in changes.added:
        flag = " FLAGGED" if device.flagged else ""
        console.print(Text(f"+ {device.ip} {clean_text(device.mac)} {clean_text(device.maker)} "
                           f"{clean_text(device.model)}{flag}", style="green"))  # fmt: skip
    for device in changes.removed:
        console.print(Text(f"- {device.ip} {clean_text(device.mac)} {clean_text(device.maker)} "
                           f"{clean_text(device.model)}", style="red"))  # fmt: skip
    for change in changes.changed:
        what = "; ".join(
            f"{c.field}: {clean_text(c.old) or '-'} -> {clean_text(c.new) or '-'}"
            for c in change.changes
        )
        console.print(Text(f"~ {change.new.ip} {clean_text(change.new.mac)}: {what}",
                           style="yellow"))  # fmt: skip


@history_group.command("diff")
@click.argument("ids", type=int, nargs=-1, metavar="[OLD NEW]")
@DB_OPTION
def diff_command(ids: tuple[int, ...], db: Path | None) -> None:
    """What changed between two saved scans (default: the last two)."""
    if len(ids) not in (0, 2):
        raise click.UsageError("give two scan ids (OLD NEW) or none for the last two")
    with one_line_errors(), Store(db) as store:
        if not ids:
            newest = store.latest_ids(2)
            if len(newest) < 2:
                raise CannotDo(f"need two saved scans to compare; {store.path} has {len(newest)}")
            ids = (newest[1], newest[0])
        old, new = store.load(ids[0]), store.load(ids[1])
    console = Console()
    console.print(Text(f"scan {ids[0]} ({iso_utc(old.started_at)}) -> "
                       f"scan {ids[1]} ({iso_utc(new.started_at)})"))  # fmt: skip
    render_diff(diff(old, new), console)

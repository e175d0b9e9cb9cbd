"""`camaudit history list|show|diff`: the scans kept in the local inventory."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from camaudit.commands.common import DB_OPTION, one_line_errors
from camaudit.inventory.diff import ScanDiff
from camaudit.inventory.history import all_or, compare, diff_document
from camaudit.inventory.recorder import Outcome
from camaudit.inventory.store import open_store
from camaudit.reports import render_table
from camaudit.scanfile import iso_utc
from camaudit.untrusted import clean_text

_SITE_OPT = click.option("--site", default=None, help="Only this site's scans.")


@click.group("history")
def history_group() -> None:
    """Scans remembered in the local inventory, and what changed."""


@history_group.command("list")
@DB_OPTION
@_SITE_OPT
def list_command(db: str | None, site: str | None) -> None:
    """List saved scans (all sites, or one), oldest first."""
    with one_line_errors(), open_store(db) as store:
        summaries = store.scans(all_or(site))
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
def show_command(scan_id: int, db: str | None) -> None:
    """Show one saved scan as a table."""
    with one_line_errors(), open_store(db) as store:
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
@_SITE_OPT
@click.option(
    "-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text",
    show_default=True, help='json: {"new": [...], "gone": [...], "changed": [...]}.',
)  # fmt: skip
def diff_command(ids: tuple[int, ...], db: str | None, site: str | None, fmt: str) -> None:
    """What changed between two saved scans of a site (default: its last two).

    Without --site, the site of the newest scan. Devices are paired by MAC, then serial, then
    IP: a device that moved address or changed firmware is changed, not new and gone.
    """
    if len(ids) not in (0, 2):
        raise click.UsageError("give two scan ids (OLD NEW) or none for the last two")
    with one_line_errors(), open_store(db) as store:
        compared = compare(store, site=site, ids=(ids[0], ids[1]) if ids else None)
    if fmt == "json":
        click.echo(json.dumps(diff_document(compared), indent=2, ensure_ascii=True))
        return
    console = Console()
    console.print(Text(f"scan {compared.old_id} ({iso_utc(compared.old.started_at)}) -> "
                       f"scan {compared.new_id} ({iso_utc(compared.new.started_at)})"))  # fmt: skip
    render_diff(compared.changes, console)


def describe(outcome: Outcome, console: Console) -> None:
    """What became of the scan: stored (and what changed), spooled, alerts sent or failed."""
    for record in outcome.earlier:
        console.print(Text(f"Sent spooled scan of {iso_utc(record.result.started_at)} as scan "
                           f"{record.scan_id} in {outcome.location}"))  # fmt: skip
    current = outcome.current
    if outcome.spooled is not None:
        console.print(Text(f"warning: scan not saved to the inventory: {outcome.problem}; "
                           f"spooled as {outcome.spooled}, sent on the next run"))  # fmt: skip
    elif current.scan_id is not None:
        console.print(Text(f"Saved as scan {current.scan_id} in {outcome.location}"))
        if current.changes is not None:
            console.print(Text("Changes since the previous saved scan:"))
            render_diff(current.changes, console)
    for record in outcome.records:
        if record.new_flagged:
            units = ", ".join(f"{d.ip} {clean_text(d.maker)} {clean_text(d.model)}".strip()
                              for d in record.new_flagged)  # fmt: skip
            console.print(Text(f"{len(record.new_flagged)} flagged device(s) new to site "
                               f"{clean_text(record.result.site) or '-'}: {units}"))  # fmt: skip
        if record.webhook is not None and not record.webhook.ok:
            console.print(Text(f"warning: webhook failed after {record.webhook.attempts} "
                               f"attempts: {clean_text(record.webhook.detail)}"))  # fmt: skip

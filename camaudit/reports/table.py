"""The scan as a rich table on the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from camaudit.models import ScanResult
from camaudit.reports.base import (
    clean_text,
    evidence_line,
    iso_utc,
    ordered_devices,
    probes_sentence,
    strongest_evidence,
    summarise,
    verdict_text,
)

COLUMNS = ("IP", "MAC", "maker", "brand", "model", "firmware", "serial", "type", "verdict",
           "flagged")  # fmt: skip


def _cell(value: object) -> Text:
    # NOTE: Text() never parses markup, so "[bold]" in a model name stays literal.
    return Text(clean_text(None if value is None else str(value)))


def build_table(result: ScanResult) -> Table:
    """The device table, flagged rows first and in bold red."""
    table = Table(title=Text(f"camaudit scan {iso_utc(result.started_at)}"), show_lines=False)
    for name in COLUMNS:
        table.add_column(Text(name), overflow="fold")
    for d in ordered_devices(result.devices):
        table.add_row(
            _cell(d.ip), _cell(d.mac), _cell(d.maker), _cell(d.brand), _cell(d.model),
            _cell(d.firmware), _cell(d.serial), _cell(d.device_type), _cell(verdict_text(d)),
            Text("FLAGGED", style="bold red") if d.flagged else Text("-"),
            style="red" if d.flagged else None,
        )  # fmt: skip
    return table


def render_table(result: ScanResult, console: Console) -> None:
    """Print the summary, device table, probe line and the top evidence of flagged devices."""
    summary = summarise(result)
    makers = ", ".join(f"{clean_text(m)} {n}" for m, n in summary.by_maker.items()) or "none"
    console.print(
        Text(f"{summary.devices} devices, {summary.flagged} flagged (by maker: {makers})")
    )
    if result.interrupted:
        console.print(Text("scan was interrupted: results are partial", style="bold yellow"))
    console.print(build_table(result))
    console.print(Text("probes " + probes_sentence(result.probes)))
    for d in ordered_devices(result.devices):
        if not d.flagged:
            continue
        console.print(Text(f"{d.ip} flagged: {clean_text(d.flag_reason) or 'no reason given'}",
                           style="bold"))
        for item in strongest_evidence(d):
            console.print(Text("  " + evidence_line(item)))

"""The scan as a rich table on the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from camaudit.models import ScanResult
from camaudit.reports.base import evidence_line, probes_sentence, strongest_evidence, verdict_text
from camaudit.scanfile import iso_utc, order_devices, summarise
from camaudit.untrusted import clean_text

COLUMNS = ("IP", "MAC", "maker", "brand", "model", "firmware", "serial", "type", "verdict",
           "flagged")  # fmt: skip
# On a narrow terminal the long, least-read columns go first: below these widths (characters)
# the column is left out; JSON, CSV and HTML always carry everything.
DROP_BELOW_WIDTH = {"serial": 150, "firmware": 125, "MAC": 105}
KEEP_WHOLE = {"IP", "verdict", "flagged"}  # never folded mid-value


def _cell(value: object) -> Text:
    # NOTE: Text() never parses markup, so "[bold]" in a model name stays literal.
    return Text(clean_text(None if value is None else str(value)))


def build_table(result: ScanResult, width: int | None = None) -> Table:
    """The device table, flagged rows first and in bold red; narrow widths drop long columns."""
    shown = [c for c in COLUMNS if width is None or width >= DROP_BELOW_WIDTH.get(c, 0)]
    table = Table(title=Text(f"camaudit scan {iso_utc(result.started_at)}"), show_lines=False)
    for name in shown:
        table.add_column(Text(name), overflow="fold", no_wrap=name in KEEP_WHOLE)
    for d in order_devices(result.devices):
        cells = {
            "IP": _cell(d.ip), "MAC": _cell(d.mac), "maker": _cell(d.maker),
            "brand": _cell(d.brand), "model": _cell(d.model), "firmware": _cell(d.firmware),
            "serial": _cell(d.serial), "type": _cell(d.device_type),
            "verdict": _cell(verdict_text(d)),
            "flagged": Text("FLAGGED", style="bold red") if d.flagged else Text("-"),
        }  # fmt: skip
        table.add_row(*(cells[c] for c in shown), style="red" if d.flagged else None)
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
    console.print(build_table(result, console.width))
    console.print(Text("probes " + probes_sentence(result.probes)))
    for d in order_devices(result.devices):
        if not d.flagged:
            continue
        console.print(
            Text(f"{d.ip} flagged: {clean_text(d.flag_reason) or 'no reason given'}", style="bold")
        )
        for item in strongest_evidence(d):
            console.print(Text("  " + evidence_line(item)))

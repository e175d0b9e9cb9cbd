"""The scan as one self-contained HTML page: no external resources, and one inline script (sort
and filter) that a Content-Security-Policy pins by hash, so nothing else can run or load."""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from camaudit import __version__
from camaudit.models import AdvisoryStatus, Device, ScanResult, Verdict
from camaudit.reports.base import maker_name, verdict_text
from camaudit.scanfile import iso_utc, order_devices, summarise
from camaudit.untrusted import clean_text

if TYPE_CHECKING:  # jinja2 costs 40 ms to import, and a scan writing JSON never renders HTML
    import jinja2

# Bar chart geometry in SVG user units; the viewBox scales it to the screen.
BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_WIDTH = 150
CHART_WIDTH = 560


def environment() -> jinja2.Environment:
    """Jinja2 with autoescape on for every template, and a filter that strips control chars."""
    import jinja2  # noqa: PLC0415 - see TYPE_CHECKING above

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("camaudit.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clean"] = clean_text
    return env


@dataclass(frozen=True, slots=True, kw_only=True)
class Bar:
    """One bar of the devices-by-maker chart, in SVG units."""

    label: str
    count: int
    y: int
    width: int


def maker_bars(by_maker: dict[str, int]) -> list[Bar]:
    """Bars scaled so the largest fills the chart width."""
    top = max(by_maker.values(), default=0) or 1
    span = CHART_WIDTH - LABEL_WIDTH - 40
    return [
        Bar(label=maker_name(maker) if maker != "unknown" else "unknown", count=count,
            y=i * (BAR_HEIGHT + BAR_GAP), width=max(2, round(span * count / top)))
        for i, (maker, count) in enumerate(by_maker.items())
    ]  # fmt: skip


def context(result: ScanResult) -> dict[str, Any]:
    """Everything the template shows, already ordered."""
    summary = summarise(result)
    bars = maker_bars(summary.by_maker)
    devices = order_devices(result.devices)
    style, script = _assets()
    return {
        "version": __version__,
        "result": result,
        "started": iso_utc(result.started_at),
        "finished": iso_utc(result.finished_at),
        "summary": summary,
        "bars": bars,
        "chart": {
            "width": CHART_WIDTH,
            "height": max(1, len(bars)) * (BAR_HEIGHT + BAR_GAP),
            "label_width": LABEL_WIDTH,
            "bar_height": BAR_HEIGHT,
        },
        "devices": devices,
        "columns": COLUMNS,
        "makers": sorted(
            {(d.maker, maker_name(d.maker)) for d in devices if d.maker}, key=lambda m: m[1]
        ),
        "verdict_text": verdict_text,
        "verdict_rank": lambda d: _VERDICT_RANK[d.verdict],
        "ip_number": lambda d: int(d.ip),
        "maker_name": maker_name,
        "vulnerable": vulnerable,
        "style": style,
        "script": script,
        "csp": {"style": csp_hash(style), "script": csp_hash(script)},
    }


# The device table's sortable columns: (data-key, heading).
COLUMNS = (
    ("ip", "IP"), ("mac", "MAC"), ("maker", "Maker"), ("brand", "Brand"), ("model", "Model"),
    ("firmware", "Firmware"), ("serial", "Serial"), ("type", "Type"), ("verdict", "Verdict"),
    ("flagged", "Flagged"), ("vulnerable", "Vulnerable"),
)  # fmt: skip
_VERDICT_RANK = {Verdict.UNKNOWN: 0, Verdict.POSSIBLE: 1, Verdict.LIKELY: 2, Verdict.CONFIRMED: 3}


@functools.lru_cache(maxsize=1)
def _assets() -> tuple[str, str]:
    """The report's stylesheet and script, exactly as they go into the page (hashed for CSP)."""
    folder = resources.files("camaudit.reports") / "templates"
    return (folder / "report.css").read_text("utf-8"), (folder / "report.js").read_text("utf-8")


def csp_hash(text: str) -> str:
    """A CSP source expression for one inline element's exact text (CSP Level 2, sha256)."""
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def vulnerable(device: Device) -> int:
    """2: firmware with a known-exploited CVE; 1: another affected CVE; 0: none known."""
    affected = [a for a in device.advisories if a.status is AdvisoryStatus.AFFECTED]
    return 2 if any(a.known_exploited for a in affected) else int(bool(affected))


def render(result: ScanResult) -> str:
    """The HTML page as text."""
    return environment().get_template("report.html.j2").render(context(result))

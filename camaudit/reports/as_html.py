"""The scan as one self-contained HTML page (no external resources, no JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2

from camaudit import __version__
from camaudit.models import ScanResult
from camaudit.reports.base import evidence_line, verdict_text
from camaudit.scanfile import iso_utc, order_devices, summarise
from camaudit.untrusted import clean_text

# Bar chart geometry in SVG user units; the viewBox scales it to the screen.
BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_WIDTH = 150
CHART_WIDTH = 560


def environment() -> jinja2.Environment:
    """Jinja2 with autoescape on for every template, and a filter that strips control chars."""
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
        Bar(label=clean_text(maker), count=count, y=i * (BAR_HEIGHT + BAR_GAP),
            width=max(2, round(span * count / top)))
        for i, (maker, count) in enumerate(by_maker.items())
    ]  # fmt: skip


def context(result: ScanResult) -> dict[str, Any]:
    """Everything the template shows, already ordered."""
    summary = summarise(result)
    bars = maker_bars(summary.by_maker)
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
        "devices": order_devices(result.devices),
        "verdict_text": verdict_text,
        "evidence_line": evidence_line,
    }


def render(result: ScanResult) -> str:
    """The HTML page as text."""
    return environment().get_template("report.html.j2").render(context(result))

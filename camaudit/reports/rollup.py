"""The all-sites roll-up as HTML, JSON, CSV or a table (device strings cleaned and escaped)."""

from __future__ import annotations

import json
from typing import Any

from camaudit import __version__
from camaudit.models import SiteRollup
from camaudit.reports.as_csv import write_rows
from camaudit.scanfile import iso_utc
from camaudit.untrusted import clean_text

FORMATS = ("table", "json", "csv", "html")
COLUMNS = ("site", "scans", "latest scan", "latest (UTC)", "flagged", "removed", "not seen since")


def _row(line: SiteRollup) -> list[str]:
    return [clean_text(line.site) or "(no site)", str(line.scans), str(line.latest_scan),
            iso_utc(line.latest_at), str(line.flagged), str(line.removed),
            str(len(line.not_seen))]  # fmt: skip


def as_dict(lines: list[SiteRollup]) -> dict[str, Any]:
    """The roll-up as plain data."""
    return {
        "camaudit_version": __version__,
        "sites": [
            {
                "site": line.site,
                "scans": line.scans,
                "latest_scan": line.latest_scan,
                "latest_at": iso_utc(line.latest_at),
                "flagged": line.flagged,
                "removed": line.removed,
                "not_seen_since": [
                    {"device": m.key, "last_seen": iso_utc(m.last_seen)} for m in line.not_seen
                ],
            }
            for line in lines
        ],
    }


def render(lines: list[SiteRollup], fmt: str) -> str:
    """The roll-up in one of FORMATS."""
    if fmt == "json":
        return json.dumps(as_dict(lines), indent=2, ensure_ascii=True) + "\n"
    if fmt == "csv":
        return write_rows(COLUMNS, [_row(line) for line in lines])
    if fmt == "html":
        from camaudit.reports.as_html import environment

        template = environment().get_template("rollup.html.j2")
        return template.render(version=__version__, columns=COLUMNS, lines=lines,
                               rows=[_row(line) for line in lines], iso_utc=iso_utc)  # fmt: skip
    widths = [max(len(c), *(len(_row(line)[i]) for line in lines)) for i, c in enumerate(COLUMNS)]
    text = [" | ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True))]
    text += [
        " | ".join(c.ljust(w) for c, w in zip(_row(line), widths, strict=True)) for line in lines
    ]
    return "\n".join(text) + "\n"

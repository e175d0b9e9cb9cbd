"""Helpers every report shares: spreadsheet-safe cells, dates, evidence lines, verdict text.

The device order, summary and time format belong to the scan document (camaudit/scanfile.py);
clean_text, for hostile device strings, lives in camaudit/untrusted.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network

from camaudit.models import Device, EvidenceItem, ProbeOutcome, ProbeStatus
from camaudit.untrusted import clean_text

# OWASP "CSV injection": spreadsheet apps treat cells starting with these as formulas.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(text: str) -> str:
    """Prefix a spreadsheet cell that would be read as a formula with an apostrophe."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unneutralise_cell(text: str) -> str:
    """Undo neutralise_cell, so reading back and writing again does not stack apostrophes."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def short_date(moment: datetime) -> str:
    """The UTC calendar date, for human-facing lists."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def subnet_of(ip: IPv4Address) -> str:
    """The /24 an address sits in, which is how sites usually number their camera VLANs."""
    return str(IPv4Network(f"{ip}/24", strict=False))


def strongest_evidence(device: Device, limit: int = 3) -> list[EvidenceItem]:
    """The evidence items that read most strongly: those a rule matched, by confidence."""
    ranked = sorted(
        enumerate(device.evidence),
        key=lambda pair: (pair[1].rule is None, -(pair[1].confidence or 0.0), pair[0]),
    )
    return [item for _, item in ranked[:limit]]


def evidence_line(item: EvidenceItem, max_chars: int = 120) -> str:
    """One readable line: "channel: value (rule)", value shortened and cleaned."""
    value = clean_text(item.value)
    if len(value) > max_chars:
        value = value[: max_chars - 1] + "…"
    rule = f" ({clean_text(item.rule)})" if item.rule else ""
    return f"{clean_text(item.channel)}: {value}{rule}"


def verdict_text(device: Device) -> str:
    """Verdict with confidence, e.g. "confirmed 0.95"."""
    return f"{device.verdict.value} {device.confidence:.2f}"


def probes_sentence(probes: Iterable[ProbeOutcome]) -> str:
    """One line saying which probes ran, were skipped or failed, and why."""
    ran = [clean_text(p.probe) for p in probes if p.status is ProbeStatus.OK]
    others = [
        f"{clean_text(p.probe)} {p.status.value} ({clean_text(p.detail) or 'no reason given'})"
        for p in probes
        if p.status is not ProbeStatus.OK
    ]
    parts = [f"ran: {', '.join(ran) if ran else 'none'}"]
    if others:
        parts.append("; ".join(others))
    return "; ".join(parts)

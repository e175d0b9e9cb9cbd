"""Helpers every report shares: ordering, summaries, and making hostile device strings safe."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network

from camaudit.models import Device, EvidenceItem, ProbeOutcome, ProbeStatus, ScanResult

# C0 and C1 control characters and DEL; tab/newline are replaced by a space rather than kept so
# one device string can never break a table row or forge a line of output.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Bidi overrides and isolates can make a string display in a different order than it reads.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")
# Lone surrogates: a device's JSON can carry "\ud800", and no UTF-8 output can encode one.
_SURROGATE = re.compile("[\ud800-\udfff]")
# OWASP "CSV injection": spreadsheet apps treat cells starting with these as formulas.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
UNKNOWN_MAKER = "unknown"


def clean_text(text: str | None) -> str:
    """The text without control or bidi-override characters (tabs/newlines become spaces).

    Lone surrogates become U+FFFD so the text can always be written as UTF-8.
    """
    if not text:
        return ""
    text = text.replace("\t", " ").replace("\n", " ").replace("\r", " ")
    return _SURROGATE.sub("\ufffd", _BIDI.sub("", _CONTROL.sub("", text)))


def neutralise_cell(text: str) -> str:
    """Prefix a spreadsheet cell that would be read as a formula with an apostrophe."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unneutralise_cell(text: str) -> str:
    """Undo neutralise_cell, so reading back and writing again does not stack apostrophes."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z suffix."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def short_date(moment: datetime) -> str:
    """The UTC calendar date, for human-facing lists."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def ordered_devices(devices: Iterable[Device]) -> list[Device]:
    """Flagged devices first, then by IP."""
    return sorted(devices, key=lambda d: (not d.flagged, d.ip))


def maker_label(device: Device) -> str:
    """The maker id, or "unknown"."""
    return clean_text(device.maker) or UNKNOWN_MAKER


def subnet_of(ip: IPv4Address) -> str:
    """The /24 an address sits in, which is how sites usually number their camera VLANs."""
    return str(IPv4Network(f"{ip}/24", strict=False))


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """Counts at the top of every report."""

    devices: int
    flagged: int
    by_maker: dict[str, int]


def summarise(result: ScanResult) -> Summary:
    """How many devices, how many flagged, and how many per maker (most first, then by name)."""
    counts = Counter(maker_label(d) for d in result.devices)
    by_maker = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    return Summary(
        devices=len(result.devices),
        flagged=sum(1 for d in result.devices if d.flagged),
        by_maker=by_maker,
    )


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

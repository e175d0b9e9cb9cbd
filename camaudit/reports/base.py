"""Helpers every report shares: spreadsheet-safe cells, dates, evidence lines, verdict text.

The device order, summary and time format belong to the scan document (camaudit/scanfile.py);
clean_text, for hostile device strings, lives in camaudit/untrusted.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network

from camaudit.identify.vocabulary import load_identifiers
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


# What each channel is, in words a technician reads; the value follows in quotes.
_CHANNEL_WORDS = {
    "http.server": "web server",
    "http.title": "web page title",
    "http.www_authenticate": "web login realm",
    "http.favicon_md5": "web page icon (MD5)",
    "http.favicon_mmh3": "web page icon (Shodan hash)",
    "http.location": "web redirect to",
    "http.path_status": "vendor web path",
    "tls.subject": "certificate subject",
    "tls.issuer": "certificate issuer",
    "rtsp.server": "video stream (RTSP) server",
    "rtsp.www_authenticate": "RTSP realm",
    "rtsp.public": "RTSP methods",
    "wsd.types": "ONVIF discovery types",
    "wsd.xaddrs": "ONVIF service address",
    "mdns.service": "mDNS service",
    "mdns.hostname": "mDNS host name",
    "mdns.txt": "mDNS record",
    "ssdp.server": "UPnP server",
    "ssdp.st": "UPnP search type",
    "tcp.open": "open TCP port",
    "mac": "MAC address",
    "nmap.service": "nmap service",
    "nmap.cpe": "nmap CPE",
    "snmp.sysdescr": "SNMP description",
    "dhcp.hostname": "DHCP host name",
    "dhcp.vendor_class": "DHCP vendor class",
}
# Structured replies (XML, JSON, binary): on paper only the facts read from them, never the reply.
_STRUCTURED = {
    "sadp": "SADP reply",
    "dhip": "DHIP reply",
    "upnp.description": "UPnP description",
    "onvif.device_information": "ONVIF device information",
    "wsd.scopes": "ONVIF discovery",
    "http.body": "web page",
    "http.headers": "web headers",
    "onvif.system_date_time": "ONVIF clock reply",
    "wsd.epr": "ONVIF endpoint",
}
_FACT_WORDS = (
    ("brand", "brand"), ("model", "model"), ("serial", "serial"),
    ("firmware", "firmware"), ("mac", "MAC"), ("device_type", "type"),
)  # fmt: skip


_REALM = re.compile(r'realm="([^"]*)"', re.IGNORECASE)


def maker_name(maker: str | None) -> str:
    """A maker id as people write it ("hikvision" → "Hikvision"); unknown ids as given."""
    if not maker:
        return ""
    return clean_text(load_identifiers().maker_display(maker))


def humane_evidence(
    item: EvidenceItem, max_chars: int = 110, printed: Mapping[str, str | None] | None = None
) -> str:
    """One line a person reads on paper: what was seen, in words, with the facts read from it.

    "SADP reply: model DS-2CD2385G1-I, serial DS-2CD…, firmware V5.6.2build 190701";
    "RTSP realm "IP Camera(C1214)"". A structured reply is never printed raw: only its facts.
    A fact whose value `printed` already shows elsewhere (the card's serial) is named, not
    repeated: "SADP reply: model, serial, firmware".
    """
    shown = clean_text(item.value)
    elsewhere = {key for key, value in (printed or {}).items() if value}
    facts = ", ".join(
        word
        if item.facts[key] == (printed or {}).get(key) and key in elsewhere
        else f"{word} {clean_text(item.facts[key])}"
        for key, word in _FACT_WORDS
        # A fact the quoted value already shows (the serial in a realm) is not said twice.
        if item.facts.get(key) and (item.channel in _STRUCTURED or item.facts[key] not in shown)
    )
    if item.channel in _STRUCTURED:
        text = f"{_STRUCTURED[item.channel]}: {facts or 'answered'}"
    else:
        words = _CHANNEL_WORDS.get(item.channel, clean_text(item.channel))
        value = clean_text(item.value)
        if item.channel.endswith("www_authenticate") and (realm := _REALM.search(value)):
            value = realm.group(1)  # the realm is what names a maker; nonces are noise
        if len(value) > 60:
            value = value[:59] + "…"
        text = f'{words} "{value}"'
        if facts and item.channel != "mac":
            text += f" ({facts})"
        elif item.channel == "mac" and item.facts.get("maker"):
            text += f" ({maker_name(item.facts['maker'])} prefix)"
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


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

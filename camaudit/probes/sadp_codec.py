"""Hikvision SADP (Search Active Devices Protocol) over UDP: build the inquiry, read a ProbeMatch.

Pure code: no sockets. The wire format is XML in one UDP datagram (docs/probes/vendor.md).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import AddressValueError, IPv4Address
from xml.etree.ElementTree import Element  # noqa: S405 - type only; xmlsafe parses
from xml.sax.saxutils import unescape

from camaudit import xmlsafe
from camaudit.errors import DecodeError
from camaudit.identity import normalise_mac
from camaudit.xmlsafe import local_name

# Real replies are 2-4 KiB; anything far larger is not a SADP reply and is not worth parsing.
MAX_REPLY_BYTES = 32 * 1024
MAX_FIELD_CHARS = 1024

# Port names as reported in DeviceInfo-style fields of a ProbeMatch, keyed by our short name.
_PORT_FIELDS = {
    "command": "CommandPort",  # Hikvision SDK (8000)
    "http": "HttpPort",
    "https": "HttpsPort",
    "sdk_tls": "SDKOverTLSPort",  # SDK over TLS (8443)
}
# NOTE: firmware really sends "flase" (protocols.md §3), so booleans are read leniently.
_TRUE = frozenset({"true", "ture", "yes", "1"})
_FALSE = frozenset({"false", "flase", "fasle", "no", "0"})
# Fallback for malformed XML: flat <Tag>text</Tag> pairs, as ethodump-ng's tolerant reader does.
_FLAT_ELEMENT = re.compile(rf"<([A-Za-z][\w.-]{{0,63}})>([^<]{{0,{MAX_FIELD_CHARS}}})</\1\s*>")


# The channel a DecodeError from this codec names.
CHANNEL = "sadp"


@dataclass(frozen=True, slots=True, kw_only=True)
class SadpReply:
    """The identifying fields of one SADP ProbeMatch (all optional: devices omit fields)."""

    text: str  # the whole reply, decoded as UTF-8 with replacement characters
    model: str | None = None  # DeviceDescription, e.g. "DS-2CD2385G1-I"
    serial: str | None = None  # DeviceSN: <model><yyyymmdd><4 letters><digits>
    mac: str | None = None  # lower-case colon form
    firmware: str | None = None  # SoftwareVersion, e.g. "V5.6.2build 190701"
    dsp: str | None = None  # DSPVersion
    activated: bool | None = None  # False: factory-new, no admin password set yet
    device_type: int | None = None  # numeric product class, not a model
    oem_code: int | None = None  # DetailOEMCode
    ipv4: IPv4Address | None = None  # what the device says its address is (may differ from sender)
    ports: Mapping[str, int] = field(default_factory=dict)
    malformed: bool = False  # True when the tolerant fallback had to read it


def build_inquiry(inquiry_id: uuid.UUID) -> bytes:
    """The SADP inquiry datagram (the form SADPTool and public scanners send)."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Probe><Uuid>{str(inquiry_id).upper()}</Uuid><Types>inquiry</Types></Probe>"
    ).encode()


def parse_probe_match(data: bytes) -> SadpReply:
    """Read a ProbeMatch; raises DecodeError for anything else (including our own inquiry)."""
    if len(data) > MAX_REPLY_BYTES:
        raise DecodeError(
            CHANNEL, f"{len(data)} bytes is larger than a SADP reply ({MAX_REPLY_BYTES})"
        )
    text = data.decode("utf-8", errors="replace")
    fields = _strict_fields(text)
    if fields is None:
        return _reply_from_fields(text, _tolerant_fields(text), malformed=True)
    return _reply_from_fields(text, fields, malformed=False)


def _strict_fields(text: str) -> dict[str, str] | None:
    """The leaf fields of a well-formed ProbeMatch; None when the XML is malformed."""
    try:
        # A bare DOCTYPE is accepted (entities never are); `text` came from a capped datagram.
        root = xmlsafe.parse(text, max_bytes=MAX_REPLY_BYTES, forbid_dtd=False)
    except xmlsafe.XmlRefused as exc:
        # Entities or DTDs in a discovery reply are an attack, not a firmware quirk.
        raise DecodeError(CHANNEL, str(exc)) from None
    except xmlsafe.XmlError:
        return None  # broken XML is a firmware quirk: the tolerant reader takes over
    if local_name(root.tag) != "ProbeMatch":
        raise DecodeError(CHANNEL, f"not a ProbeMatch (root element {local_name(root.tag)!r})")
    return _leaf_texts(root)


def _leaf_texts(root: Element) -> dict[str, str]:
    # Some firmware namespaces its elements; "{urn:x}MAC" and "MAC" mean the same field.
    fields: dict[str, str] = {}
    for element in root.iter():
        if len(element) == 0 and element.text is not None:
            fields.setdefault(local_name(element.tag), element.text.strip()[:MAX_FIELD_CHARS])
    return fields


def _tolerant_fields(text: str) -> dict[str, str]:
    if "<ProbeMatch" not in text:
        raise DecodeError(CHANNEL, "not XML and not a ProbeMatch")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise DecodeError(CHANNEL, "refused XML construct: DTD in a malformed reply")
    fields: dict[str, str] = {}
    for match in _FLAT_ELEMENT.finditer(text):
        fields.setdefault(match.group(1), unescape(match.group(2)).strip())
    if not fields:
        raise DecodeError(CHANNEL, "malformed ProbeMatch with no readable fields")
    return fields


def _reply_from_fields(text: str, fields: Mapping[str, str], *, malformed: bool) -> SadpReply:
    ports = {
        name: port
        for name, element in _PORT_FIELDS.items()
        if (port := _integer(fields.get(element))) is not None and 0 < port < 65536
    }
    return SadpReply(
        text=text,
        model=fields.get("DeviceDescription") or None,
        serial=fields.get("DeviceSN") or None,
        mac=normalise_mac(fields.get("MAC", "")),
        firmware=fields.get("SoftwareVersion") or None,
        dsp=fields.get("DSPVersion") or None,
        activated=_boolean(fields.get("Activated")),
        device_type=_integer(fields.get("DeviceType")),
        oem_code=_integer(fields.get("DetailOEMCode")),
        ipv4=_address(fields.get("IPv4Address")),
        ports=ports,
        malformed=malformed,
    )


def _boolean(text: str | None) -> bool | None:
    value = (text or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def _integer(text: str | None) -> int | None:
    value = (text or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        return None
    return int(value)


def _address(text: str | None) -> IPv4Address | None:
    try:
        return IPv4Address((text or "").strip())
    except AddressValueError:
        return None

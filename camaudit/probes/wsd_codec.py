"""WS-Discovery wire format: build ONVIF Probe messages and read ProbeMatches (pure, no I/O)."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET  # noqa: S405 - only for the Element type; xmlsafe parses
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address

from camaudit import xmlsafe
from camaudit.errors import DecodeError
from camaudit.models import Evidence
from camaudit.xmlsafe import local_name

# WS-Discovery as ONVIF uses it (ONVIF Core §7.3): the April 2005 draft with WS-Addressing 2004/08,
# carried in SOAP 1.2. The OASIS 1.1 namespaces are accepted on replies from newer stacks.
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
WSA_NS = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD_NS = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
WSD11_NS = "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01"
DN_NS = "http://www.onvif.org/ver10/network/wsdl"  # dn:NetworkVideoTransmitter
TDS_NS = "http://www.onvif.org/ver10/device/wsdl"  # tds:Device
PROBE_ACTION = f"{WSD_NS}/Probe"
DISCOVERY_TO = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
ANONYMOUS = f"{WSA_NS}/role/anonymous"

# The two Types ONVIF clients ask for: a Probe matches only devices implementing ALL listed
# types (WS-Discovery §5.1), so asking for both in one Probe would miss devices that list one.
PROBE_TYPES: tuple[str, ...] = ("dn:NetworkVideoTransmitter", "tds:Device")

# A real ProbeMatches is 1-3 KiB; anything far larger is refused before the XML parser sees it.
MAX_PAYLOAD_BYTES = 32 * 1024

_DISCOVERY_NAMESPACES = frozenset({WSD_NS, WSD11_NS})


# The channel a DecodeError from this codec names.
CHANNEL = "wsd"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeMatch:
    """One ProbeMatch element: fields kept as text, exactly as the device sent them."""

    endpoint: str = ""  # EndpointReference/Address, e.g. urn:uuid:...
    types: str = ""
    scopes: str = ""
    xaddrs: str = ""
    metadata_version: str = ""

    def to_evidence(self, *, host: IPv4Address, probe: str, port: int | None) -> list[Evidence]:
        """One Evidence per non-empty field: wsd.scopes, wsd.types, wsd.xaddrs, wsd.epr."""
        fields = (
            ("wsd.scopes", self.scopes),
            ("wsd.types", self.types),
            ("wsd.xaddrs", self.xaddrs),
            ("wsd.epr", self.endpoint),
        )
        return [
            Evidence(host=host, channel=channel, value=value, probe=probe, port=port)
            for channel, value in fields
            if value
        ]


def new_message_id() -> str:
    """A fresh WS-Addressing MessageID (WS-Discovery §4.1 wants it unique per message)."""
    return f"urn:uuid:{uuid.uuid4()}"


def build_probe(message_id: str, types: str) -> bytes:
    """A SOAP 1.2 Probe asking for one device type, e.g. "dn:NetworkVideoTransmitter", or with
    `types` empty for every target service (WS-Discovery 1.1 §5.1: no Types matches any)."""
    types_element = f"<d:Types>{types}</d:Types>" if types else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{SOAP12_NS}" xmlns:a="{WSA_NS}" xmlns:d="{WSD_NS}"'
        f' xmlns:dn="{DN_NS}" xmlns:tds="{TDS_NS}">'
        "<s:Header>"
        f'<a:Action s:mustUnderstand="1">{PROBE_ACTION}</a:Action>'
        f"<a:MessageID>{message_id}</a:MessageID>"
        f"<a:ReplyTo><a:Address>{ANONYMOUS}</a:Address></a:ReplyTo>"
        f'<a:To s:mustUnderstand="1">{DISCOVERY_TO}</a:To>'
        "</s:Header>"
        f"<s:Body><d:Probe>{types_element}</d:Probe></s:Body>"
        "</s:Envelope>"
    ).encode()


def parse_probe_matches(payload: bytes, *, relates_to: Collection[str]) -> list[ProbeMatch]:
    """The ProbeMatch entries of a ProbeMatches reply to one of `relates_to` (our MessageIDs).

    A reply without RelatesTo is accepted (some cameras omit it); one that relates to another
    message is refused, as is anything that is not a ProbeMatches envelope.
    """
    root = _parse_xml(payload)
    if local_name(root.tag) != "Envelope":
        raise DecodeError(CHANNEL, f"root element is {local_name(root.tag)!r}, not a SOAP Envelope")
    related = _find_text(root, "Header", "RelatesTo")
    if related is not None and related.strip() not in relates_to:
        raise DecodeError(CHANNEL, "RelatesTo names a message we did not send")
    matches_element = _find_probe_matches(root)
    if matches_element is None:
        raise DecodeError(CHANNEL, "no ProbeMatches in the SOAP Body")
    return [
        _read_probe_match(element)
        for element in matches_element
        if local_name(element.tag) == "ProbeMatch"
    ]


def _parse_xml(payload: bytes) -> ET.Element:
    try:
        return xmlsafe.parse(payload, max_bytes=MAX_PAYLOAD_BYTES)
    except xmlsafe.XmlError as exc:
        raise DecodeError(CHANNEL, str(exc)) from None


def _namespace(tag: object) -> str:
    text = tag if isinstance(tag, str) else ""
    return text[1:].partition("}")[0] if text.startswith("{") else ""


def _children(element: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in element if local_name(child.tag) == name)


def _find_text(root: ET.Element, *path: str) -> str | None:
    element: ET.Element | None = root
    for name in path:
        element = next(_children(element, name), None) if element is not None else None
    return None if element is None else (element.text or "")


def _find_probe_matches(root: ET.Element) -> ET.Element | None:
    for body in _children(root, "Body"):
        for element in _children(body, "ProbeMatches"):
            if _namespace(element.tag) in _DISCOVERY_NAMESPACES:
                return element
    return None


def _read_probe_match(element: ET.Element) -> ProbeMatch:
    return ProbeMatch(
        endpoint=_strip(_find_text(element, "EndpointReference", "Address")),
        types=_strip(_find_text(element, "Types")),
        scopes=_strip(_find_text(element, "Scopes")),
        xaddrs=_strip(_find_text(element, "XAddrs")),
        metadata_version=_strip(_find_text(element, "MetadataVersion")),
    )


def _strip(text: str | None) -> str:
    # Only the whitespace around a field goes; inner spacing and line breaks stay as sent.
    return (text or "").strip()

"""Discovery datagrams heard in a capture, read with the live probes' codecs (pure).

Replies to anyone's query and unsolicited announcements count alike: SADP and DHIP replies,
WS-Discovery ProbeMatch and Hello, SSDP search replies and NOTIFY, mDNS responses.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address

from camaudit import xmlsafe
from camaudit.errors import DecodeError
from camaudit.inputs.frames import Udp
from camaudit.models import Evidence
from camaudit.options import DEFAULT_PORTS
from camaudit.probes import dhip_codec, sadp_codec, ssdp_codec, wsd_codec
from camaudit.probes.mdns import HostRecords
from camaudit.xmlsafe import local_name

PROBE = "capture"
MAX_MDNS_HOSTS = 4096  # responders whose records are merged; more are a flood
_WSD_ANNOUNCEMENTS = frozenset({"ProbeMatch", "Hello", "ResolveMatch"})


def _item(datagram: Udp, channel: str, value: str) -> Evidence:
    return Evidence(
        host=datagram.src, channel=channel, value=value, probe=PROBE, port=datagram.sport
    )


def sadp(datagram: Udp) -> list[Evidence]:
    """A SADP ProbeMatch (a device describing itself), with the MAC it names."""
    if b"ProbeMatch" not in datagram.payload:
        return []  # an inquiry: not worth an XML parse
    try:
        reply = sadp_codec.parse_probe_match(datagram.payload)
    except DecodeError:
        return []  # an inquiry, or not SADP
    found = [_item(datagram, "sadp", reply.text)]
    return found + ([_item(datagram, "mac", reply.mac)] if reply.mac else [])


def dhip(datagram: Udp) -> list[Evidence]:
    """A DHIP client.notifyDevInfo (not a search), with the MAC it names."""
    try:
        reply = dhip_codec.parse_reply(datagram.payload)
    except DecodeError:
        return []
    if not reply.is_device_info:
        return []
    found = [_item(datagram, "dhip", reply.text)]
    return found + ([_item(datagram, "mac", reply.mac)] if reply.mac else [])


def wsdiscovery(datagram: Udp) -> list[Evidence]:
    """ProbeMatch, ResolveMatch or Hello entries, whoever asked (a capture has no MessageIDs)."""
    if b"Match" not in datagram.payload and b"Hello" not in datagram.payload:
        return []  # a Probe: not worth an XML parse
    try:
        root = xmlsafe.parse(datagram.payload, max_bytes=wsd_codec.MAX_PAYLOAD_BYTES)
    except xmlsafe.XmlError:
        return []
    found: list[Evidence] = []
    for element in root.iter():
        if local_name(element.tag) in _WSD_ANNOUNCEMENTS:
            match = wsd_codec.ProbeMatch(
                endpoint=_text(element, "EndpointReference", "Address"),
                types=_text(element, "Types"),
                scopes=_text(element, "Scopes"),
                xaddrs=_text(element, "XAddrs"),
            )
            found += match.to_evidence(host=datagram.src, probe=PROBE, port=datagram.sport)
    return found


def _text(element: object, *path: str) -> str:
    current = element
    for name in path:
        current = next(
            (child for child in current if local_name(child.tag) == name),  # type: ignore[attr-defined]
            None,
        )
        if current is None:
            return ""
    return (getattr(current, "text", None) or "").strip()


def ssdp(datagram: Udp) -> list[Evidence]:
    """SERVER and ST of a search reply; SERVER and NT (as ssdp.st) of a NOTIFY announcement."""
    payload = datagram.payload
    if payload.startswith(b"NOTIFY "):
        headers = _notify_headers(payload)
        pairs = (("ssdp.server", headers.get("server")), ("ssdp.st", headers.get("nt")))
    else:
        try:
            reply = ssdp_codec.parse_search_reply(payload)
        except DecodeError:
            return []
        pairs = (("ssdp.server", reply.header("SERVER")), ("ssdp.st", reply.header("ST")))
    return [_item(datagram, channel, value) for channel, value in pairs if value]


def _notify_headers(payload: bytes) -> dict[str, str]:
    if len(payload) > ssdp_codec.MAX_PAYLOAD_BYTES:
        return {}
    head = payload.decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n\n", 1)[0]
    headers: dict[str, str] = {}
    for line in head.split("\n")[1 : ssdp_codec.MAX_HEADERS]:
        name, colon, value = line[: ssdp_codec.MAX_LINE_CHARS].partition(":")
        if colon and name.strip():
            headers.setdefault(name.strip().lower(), value.strip())
    return headers


class MdnsRecords:
    """mDNS responses merged per responder, turned into evidence once the capture is read."""

    def __init__(self) -> None:
        self.by_host: dict[IPv4Address, HostRecords] = {}

    def absorb(self, datagram: Udp) -> None:
        """Merge one datagram if it is a DNS response (queries and junk are ignored)."""
        records = self.by_host.get(datagram.src)
        if records is None:
            if len(self.by_host) >= MAX_MDNS_HOSTS:
                return
            records = HostRecords()
        try:
            if records.absorb(datagram.payload):
                self.by_host[datagram.src] = records
        except Exception:  # noqa: BLE001 - zeroconf's parser on hostile bytes; a bad datagram is skipped
            return

    def evidence(self) -> list[Evidence]:
        """What the mdns probe records: each instance under its own A address when one was given."""
        port = DEFAULT_PORTS["mdns"]
        found: list[Evidence] = []
        for sender, records in self.by_host.items():

            def make(host: IPv4Address, channel: str, value: str) -> Evidence:
                return Evidence(host=host, channel=channel, value=value, probe=PROBE, port=port)

            found += [make(sender, "mdns.service", name) for name in records.service_types]
            for instance in dict.fromkeys([*records.instances, *records.targets, *records.texts]):
                target = records.targets.get(instance)
                addresses = records.addresses.get(target or "", [])
                host = addresses[0] if addresses else sender
                found.append(make(host, "mdns.service", instance))
                if target:
                    found.append(make(host, "mdns.hostname", target))
                found += [make(host, "mdns.txt", item) for item in records.texts.get(instance, [])]
        return found


# UDP port -> reader, for the discovery protocols whose datagrams stand alone.
READERS: dict[int, Callable[[Udp], list[Evidence]]] = {
    DEFAULT_PORTS["sadp"]: sadp,
    DEFAULT_PORTS["dhip"]: dhip,
    DEFAULT_PORTS["wsd"]: wsdiscovery,
    DEFAULT_PORTS["ssdp"]: ssdp,
}

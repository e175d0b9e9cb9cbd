"""UDP discovery answers for lab devices: WS-Discovery, SADP, DHIP, SSDP and mDNS.

Each `answer_*` takes one received datagram (with the address it was sent to, so multicast and
unicast queries can be told apart) and returns the datagrams to send back and where.
"""

from __future__ import annotations

import json
import logging
import struct
import uuid
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

import defusedxml.ElementTree as DefusedET

from camlab.device import DeviceContext

log = logging.getLogger(__name__)

Reply = tuple[bytes, tuple[str, int]]
Answer = Callable[[DeviceContext, bytes, tuple[str, int], str], list[Reply]]

WSD_GROUP, WSD_PORT = "239.255.255.250", 3702  # WS-Discovery 1.1 §2.4
SADP_GROUP, SADP_PORT = "239.255.255.250", 37020  # Hikvision SADP (protocols.md §3)
DHIP_GROUP, DHIP_PORT = "239.255.255.251", 37810  # Dahua DHIP discovery (protocols.md §4)
SSDP_GROUP, SSDP_PORT = "239.255.255.250", 1900  # UPnP Device Architecture 1.1 §1.1.2
MDNS_GROUP, MDNS_PORT = "224.0.0.251", 5353  # RFC 6762 §3
MAX_XML_BYTES = 16 * 1024  # discovery requests are well under 2 KiB

WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
NVT_TYPES = {"NetworkVideoTransmitter", "Device"}  # ONVIF Core §7.3.2: dn:NVT and tds:Device


def is_multicast(address: str) -> bool:
    """True for a group address (the query was sent to the whole segment)."""
    try:
        return IPv4Address(address).is_multicast
    except ValueError:
        return False


def _xml(data: bytes) -> Element | None:
    if len(data) > MAX_XML_BYTES:
        return None
    try:
        root: Element = DefusedET.fromstring(data)
        return root
    except Exception:  # defusedxml raises several types for hostile or broken XML
        return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find_local(root: Element, name: str) -> Element | None:
    for element in root.iter():
        if isinstance(element.tag, str) and _local(element.tag) == name:
            return element
    return None


def answer_wsdiscovery(
    device: DeviceContext, data: bytes, sender: tuple[str, int], _dst: str
) -> list[Reply]:
    """ProbeMatches for a Probe (multicast or unicast), to the prober (WS-Discovery 1.1 §5.3)."""
    spec = device.persona.get("wsdiscovery")
    root = _xml(data)
    if spec is None or root is None:
        return []
    probe = _find_local(root, "Probe")
    message_id = _find_local(root, "MessageID")
    if probe is None or message_id is None or not (message_id.text or "").strip():
        return []
    types_element = _find_local(probe, "Types")
    wanted = (
        {name.rsplit(":", 1)[-1] for name in (types_element.text or "").split()}
        if types_element is not None
        else set()
    )
    if spec.get("match_types", "any") == "nvt" and wanted and not wanted & NVT_TYPES:
        return []
    values = device.instance.values()
    render = device.instance.render
    scopes = " ".join(render(spec.get("scopes", []), values))
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
        f'xmlns:wsadis="{WSA}" xmlns:d="{WSD}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" '
        'xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
        f"<env:Header><wsadis:MessageID>urn:uuid:{uuid.uuid4()}</wsadis:MessageID>"
        f"<wsadis:RelatesTo>{escape(message_id.text.strip()[:256])}</wsadis:RelatesTo>"  # type: ignore[union-attr]
        "<wsadis:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsadis:To>"
        "<wsadis:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsadis:Action>"
        "</env:Header><env:Body><d:ProbeMatches><d:ProbeMatch>"
        "<wsadis:EndpointReference>"
        f"<wsadis:Address>{escape(render(spec['epr'], values))}</wsadis:Address>"
        "</wsadis:EndpointReference>"
        f"<d:Types>{escape(render(spec['types'], values))}</d:Types>"
        f"<d:Scopes>{escape(scopes)}</d:Scopes>"
        f"<d:XAddrs>{escape(device.own_urls(render(spec['xaddrs'], values)))}</d:XAddrs>"
        "<d:MetadataVersion>10</d:MetadataVersion>"
        "</d:ProbeMatch></d:ProbeMatches></env:Body></env:Envelope>\n"
    ).encode()
    return [(body, sender)]


def answer_sadp(
    device: DeviceContext, data: bytes, sender: tuple[str, int], dst: str
) -> list[Reply]:
    """A ProbeMatch for an inquiry: to the group if asked by multicast, else to the sender."""
    spec = device.persona.get("sadp")
    root = _xml(data)
    if spec is None or root is None or _local(root.tag) != "Probe":
        return []
    kind = (root.findtext("Types") or "").strip().lower()
    if kind not in (
        "inquiry",
        "inquiry_v32",
    ):  # never act on activate/reboot/update...: read-only lab
        return []
    request_uuid = (root.findtext("Uuid") or "").strip()[:64]
    values = device.instance.values()
    fields = "".join(
        f"<{name}>{escape(value)}</{name}>"
        for name, value in device.instance.render(spec["fields"], values)
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<ProbeMatch><Uuid>{escape(request_uuid)}</Uuid><Types>inquiry</Types>{fields}</ProbeMatch>"
    ).encode()
    target = (SADP_GROUP, device.real_port("udp", SADP_PORT)) if is_multicast(dst) else sender
    return [(body, target)]


def dhip_frame(body: bytes) -> bytes:
    """DHIP framing: 32-byte little-endian header ("DHIP", payload length twice), then the body."""
    return struct.pack("<I4s8sIIII", 32, b"DHIP", b"\0" * 8, len(body), 0, len(body), 0) + body


def dhip_unframe(data: bytes) -> bytes | None:
    """The JSON body of a framed DHIP datagram, or None; the header's lengths are not trusted."""
    if len(data) < 32 or data[4:8] != b"DHIP":
        return None
    (length,) = struct.unpack_from("<I", data, 16)
    return data[32 : 32 + min(length, len(data) - 32)]


def answer_dhip(
    device: DeviceContext, data: bytes, sender: tuple[str, int], dst: str
) -> list[Reply]:
    """client.notifyDevInfo for DHDiscover.search: to the group if multicast, else to the sender."""
    spec = device.persona.get("dhip")
    body = dhip_unframe(data)
    if spec is None or body is None:
        return []
    try:
        request = json.loads(body.rstrip(b"\0\n").decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return []
    if not isinstance(request, dict) or request.get("method") != "DHDiscover.search":
        return []
    values = device.instance.values()
    info = dict(device.instance.render(spec["device_info"], values))
    info.setdefault(
        "IPv4Address",
        {
            "DefaultGateway": str(device.router),
            "DhcpEnable": False,
            "IPAddress": str(device.instance.ip),
            "SubnetMask": str(device.network.netmask),
        },
    )
    reply = {
        "mac": device.instance.render(spec.get("mac", "{mac}"), values),
        "method": "client.notifyDevInfo",
        "params": {"deviceInfo": info},
    }
    # Real replies end with "\n\0" after the JSON (protocols.md §4: ethodump-ng slices [32:-2]).
    payload = dhip_frame(json.dumps(reply, indent=None).encode() + b"\n\0")
    target = (DHIP_GROUP, device.real_port("udp", DHIP_PORT)) if is_multicast(dst) else sender
    return [(payload, target)]


def answer_ssdp(
    device: DeviceContext, data: bytes, sender: tuple[str, int], _dst: str
) -> list[Reply]:
    """A unicast 200 OK with LOCATION for an M-SEARCH whose ST matches (UPnP DA 1.1 §1.3.3)."""
    spec = device.persona.get("ssdp")
    if spec is None or len(data) > MAX_XML_BYTES:
        return []
    lines = data.decode("latin-1").split("\r\n")
    if not lines or not lines[0].upper().startswith("M-SEARCH * HTTP/1.1"):
        return []
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    search = headers.get("st", "")
    values = device.instance.values()
    device_st = spec.get("st", "upnp:rootdevice")
    if search not in ("ssdp:all", device_st, "upnp:rootdevice", f"uuid:{values['uuid']}"):
        return []
    port = device.real_port("tcp", int(spec.get("location_port", 80)))
    location = f"http://{device.instance.ip}:{port}{spec['location_path']}"
    # SERVER is optional in a persona: where no source publishes it, the device sends none.
    server = (
        f"SERVER: {device.instance.render(spec['server'], values)}\r\n" if "server" in spec else ""
    )
    reply = (
        "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\n"
        f"LOCATION: {location}\r\n{server}"
        f"ST: {search if search != 'ssdp:all' else device_st}\r\n"
        f"USN: uuid:{values['uuid']}::{device_st}\r\n\r\n"
    ).encode()
    return [(reply, sender)]


def answer_mdns(
    device: DeviceContext, data: bytes, sender: tuple[str, int], dst: str
) -> list[Reply]:
    """mDNS answers: to the group, or unicast for legacy/QU queries (RFC 6762 §5.4, §6.7)."""
    from zeroconf import (  # type: ignore[attr-defined]
        DNSAddress,
        DNSIncoming,
        DNSOutgoing,
        DNSPointer,
        DNSService,
        DNSText,
        const,
    )

    spec = device.persona.get("mdns")
    if spec is None:
        return []
    try:
        query = DNSIncoming(data)
    except Exception:  # zeroconf's parser raises several types on garbage
        return []
    if not query.valid or not query.is_query() or not query.questions:
        return []
    values = device.instance.values()
    legacy = sender[1] != MDNS_PORT  # RFC 6762 §6.7: a one-shot resolver, answer it directly
    ttl = 10 if legacy else 120  # §6.7: legacy unicast answers carry TTL <= 10 s
    host = device.instance.render(spec.get("hostname", "{hostname}.local."), values)
    address = DNSAddress(
        host, const._TYPE_A, const._CLASS_IN | const._CLASS_UNIQUE, ttl, device.instance.ip.packed
    )
    records: dict[str, list[Any]] = {}
    records.setdefault(host.lower(), []).append(address)
    for service in spec.get("service", []):
        kind = service["type"]
        instance_name = f"{device.instance.render(service['instance'], values)}.{kind}"
        txt = (
            b"".join(
                bytes([len(item)]) + item
                for item in (
                    f"{k}={device.instance.render(v, values)}".encode()[:255]
                    for k, v in service.get("txt", {}).items()
                )
            )
            or b"\0"
        )
        port = device.real_port("tcp", int(service.get("port", 80)))
        records.setdefault(kind.lower(), []).append(
            DNSPointer(kind, const._TYPE_PTR, const._CLASS_IN, ttl, instance_name)
        )
        records.setdefault(instance_name.lower(), []).extend(
            [
                DNSService(
                    instance_name,
                    const._TYPE_SRV,
                    const._CLASS_IN | const._CLASS_UNIQUE,
                    ttl,
                    0,
                    0,
                    port,
                    host,
                ),
                DNSText(
                    instance_name, const._TYPE_TXT, const._CLASS_IN | const._CLASS_UNIQUE, ttl, txt
                ),
            ]
        )
        records.setdefault("_services._dns-sd._udp.local.", []).append(
            DNSPointer("_services._dns-sd._udp.local.", const._TYPE_PTR, const._CLASS_IN, ttl, kind)
        )
    answers: list[Any] = []
    unicast_asked = False
    for question in query.questions:
        unicast_asked = unicast_asked or bool(question.unicast)
        for record in records.get(question.name.lower(), []):
            # Once each: a query repeating one question must not multiply the reply (amplification).
            if question.type in (const._TYPE_ANY, record.type) and record not in answers:
                answers.append(record)
    if not answers:
        return []
    out = DNSOutgoing(
        const._FLAGS_QR_RESPONSE | const._FLAGS_AA, not legacy, query.id if legacy else 0
    )
    if legacy:
        for question in query.questions:
            out.add_question(question)
    for record in answers:
        out.add_answer_at_time(record, 0)
    for record in answers:  # SRV/TXT/A as additionals so one reply is enough (RFC 6763 §12)
        if record.type == const._TYPE_PTR:
            for extra in records.get(record.alias.lower(), []) + [address]:
                if extra not in answers:
                    out.add_additional_answer(extra)
    packets = out.packets()
    if legacy or unicast_asked or not is_multicast(dst):
        return [(packet, sender) for packet in packets]
    return [(packet, (MDNS_GROUP, device.real_port("udp", MDNS_PORT))) for packet in packets]


# channel -> (persona port, multicast group or None, answer function)
UDP_CHANNELS: dict[str, tuple[int, str | None, Answer]] = {
    "wsdiscovery": (WSD_PORT, WSD_GROUP, answer_wsdiscovery),
    "sadp": (SADP_PORT, SADP_GROUP, answer_sadp),
    "dhip": (DHIP_PORT, DHIP_GROUP, answer_dhip),
    "ssdp": (SSDP_PORT, SSDP_GROUP, answer_ssdp),
    "mdns": (MDNS_PORT, MDNS_GROUP, answer_mdns),
}

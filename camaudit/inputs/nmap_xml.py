"""nmap's XML output (`-oX`), read as a stream of <host> elements (defusedxml, bounded memory).

Per host: the IPv4 address, the MAC, each open port, each service's product/version/extrainfo
and CPE, the reply bytes of unrecognised services (servicefp), and NSE script output. Layout:
https://nmap.org/book/output-formats-xml-output.html and nmap's docs/nmap.dtd.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import AddressValueError, IPv4Address
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError  # noqa: S405 - types only; defusedxml parses

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from camaudit.errors import ConfigError, DecodeError
from camaudit.inputs import nmap_scripts, replies, servicefp
from camaudit.inputs.detect import DAMAGED_GZIP
from camaudit.models import Evidence
from camaudit.probes import rtsp_codec

PROBE = nmap_scripts.PROBE
MAX_PORTS_PER_HOST = 65_536 * 2  # tcp and udp
# Elements directly under <nmaprun> (nmap.dtd): dropped as soon as they end.
_TOP_LEVEL = frozenset(
    {"hosthint", "taskbegin", "taskprogress", "taskend", "output", "verbose", "debugging"}
)


@dataclass
class NmapReader:
    """Evidence from one nmap XML stream; `stopped` says where a cut or broken file ended."""

    stream: BinaryIO
    stopped: str | None = None

    def __iter__(self) -> Iterator[Evidence]:
        # NOTE: nmap writes a bare <!DOCTYPE nmaprun>, so DTDs are allowed; entity declarations
        # (billion laughs) and external references never are.
        events = iterparse(
            self.stream,
            events=("start", "end"),
            forbid_dtd=False,
            forbid_entities=True,
            forbid_external=True,
        )
        root: Element | None = None
        try:
            for event, element in events:
                if root is None and event == "start":
                    root = element
                if event != "end":
                    continue
                if element.tag == "host":
                    yield from host_evidence(element)
                elif element.tag in ("prescript", "postscript"):
                    yield from broadcast_evidence(element)
                elif element.tag not in _TOP_LEVEL:
                    continue
                if root is not None:
                    root.clear()  # bounded memory: each finished top-level element is dropped
        except DefusedXmlException as exc:
            raise ConfigError(f"refused XML construct in an nmap file: {exc}") from None
        except ParseError as exc:
            line, column = getattr(exc, "position", (0, 0))
            self.stopped = f"stopped at line {line}, column {column}: {_reason(exc)}"
        except DAMAGED_GZIP as exc:
            self.stopped = f"stopped where the compressed data is damaged ({exc})"
        if root is not None and root.tag != "nmaprun" and self.stopped is None:
            self.stopped = f"the root element is <{root.tag}>, not <nmaprun>"


def _reason(exc: ParseError) -> str:
    text = str(exc)
    return text.split(":", 1)[0] if ":" in text else text


def _address(host: Element) -> IPv4Address | None:
    for element in host.findall("address"):
        if element.get("addrtype") == "ipv4":
            try:
                return IPv4Address(element.get("addr", ""))
            except AddressValueError:
                return None
    return None


def host_evidence(host: Element) -> list[Evidence]:
    """Everything one <host> element says about one IPv4 host (nothing for IPv6-only hosts)."""
    ip = _address(host)
    if ip is None:
        return []

    def item(channel: str, value: str, port: int | None = None) -> Evidence:
        return Evidence(host=ip, channel=channel, value=value, probe=PROBE, port=port)

    found = [
        item("mac", element.get("addr", ""))
        for element in host.findall("address")
        if element.get("addrtype") == "mac" and element.get("addr")
    ]
    for port in host.findall("ports/port")[:MAX_PORTS_PER_HOST]:
        found += _port_evidence(ip, port)
    for script in host.findall("hostscript/script"):
        reader = nmap_scripts.PORT_SCRIPTS.get(script.get("id", ""))
        if reader is not None:
            found += reader(script, ip, None)
    return found


def _port_evidence(ip: IPv4Address, port: Element) -> list[Evidence]:
    try:
        number = int(port.get("portid", ""))
    except ValueError:
        return []
    state = port.find("state")
    if state is None or state.get("state") not in ("open", "open|filtered"):
        return []
    found: list[Evidence] = []
    if port.get("protocol") == "tcp" and state.get("state") == "open":
        found.append(Evidence(host=ip, channel="tcp.open", value=str(number), probe=PROBE))
    service = port.find("service")
    if service is not None:
        found += _service_evidence(ip, number, service)
    for script in port.findall("script"):
        reader = nmap_scripts.PORT_SCRIPTS.get(script.get("id", ""))
        if reader is not None:
            found += reader(script, ip, number)
    return found


def _service_evidence(ip: IPv4Address, port: int, service: Element) -> list[Evidence]:
    def item(channel: str, value: str) -> Evidence:
        return Evidence(host=ip, channel=channel, value=value, probe=PROBE, port=port)

    parts = [service.get("product"), service.get("version")]
    extra = service.get("extrainfo")
    text = " ".join(part for part in parts if part) + (f" ({extra})" if extra else "")
    found = [item("nmap.service", text.strip())] if text.strip() else []
    found += [item("nmap.cpe", (cpe.text or "").strip()) for cpe in service.findall("cpe")]
    fingerprint = service.get("servicefp")
    if fingerprint:
        found += fingerprint_evidence(ip, port, fingerprint)
    return [entry for entry in found if entry.value]


def fingerprint_evidence(ip: IPv4Address, port: int, fingerprint: str) -> list[Evidence]:
    """The HTTP and RTSP replies in a service fingerprint, read as a capture of them would be."""
    found: list[Evidence] = []
    for reply in servicefp.replies(fingerprint):
        method, path = servicefp.PROBE_REQUESTS.get(reply.probe, ("GET", ""))
        request = replies.Request(method, path)
        if reply.data.startswith(b"HTTP/"):
            for http_reply, _asked in replies.http_replies(reply.data, [request]):
                found += replies.http_evidence(ip, port, http_reply, request, PROBE)
                break  # one probe, one reply
        elif reply.data.startswith(b"RTSP/"):
            try:
                rtsp_reply = rtsp_codec.parse_reply(reply.data)
            except DecodeError:
                continue
            found += replies.rtsp_evidence(ip, port, rtsp_reply, request, PROBE)
    return found


def broadcast_evidence(section: Element) -> list[Evidence]:
    """Pre- and post-scan broadcast scripts, which name the responders in their own output."""
    found: list[Evidence] = []
    for script in section.findall("script"):
        reader = nmap_scripts.BROADCAST_SCRIPTS.get(script.get("id", ""))
        if reader is not None:
            found += reader(script, IPv4Address(0), None)
    return found

"""A packet capture judged passively: frames in, the evidence the live probes would record out.

Streams packet by packet: the only state is the MAC table, mDNS records per responder, DHCP
facts waiting for an address, and the TCP flows being followed (tcpflows caps them).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from camaudit.errors import DecodeError
from camaudit.inputs import dhcp, discovery, replies, tls
from camaudit.inputs.frames import Arp, Tcp, Udp, decode
from camaudit.inputs.pcap import CaptureReader
from camaudit.inputs.tcpflows import Endpoint, Flow, FlowTable
from camaudit.models import Evidence
from camaudit.options import DEFAULT_PORTS
from camaudit.probes import http_codec

log = logging.getLogger(__name__)

PROBE = discovery.PROBE
MAX_MACS = 65_536  # distinct (address, MAC) pairs remembered
MAX_PENDING_DHCP = 4096  # clients heard before their address was
UDP_PORTS = frozenset(
    {*discovery.READERS, DEFAULT_PORTS["mdns"], dhcp.SERVER_PORT, dhcp.CLIENT_PORT}
)
_SPEAKS_FIRST = re.compile(rb"^(?:[A-Z_]{3,20} [!-~]|HTTP/\d|RTSP/\d)")


def interesting(prefix: bytes) -> bool:
    """Whether a connection's first bytes are HTTP, RTSP or TLS, the ones this module reads."""
    return bool(_SPEAKS_FIRST.match(prefix)) or tls.looks_like_tls(prefix)


def _mac_text(raw: bytes) -> str:
    return ":".join(f"{byte:02x}" for byte in raw)


@dataclass
class CaptureJudge:
    """Collects evidence from one or more captures; `evidence()` once everything is read."""

    found: dict[Evidence, None] = field(default_factory=dict)
    macs: dict[IPv4Address, str] = field(default_factory=dict)
    pending_dhcp: dict[bytes, list[tuple[str, str]]] = field(default_factory=dict)
    mdns: discovery.MdnsRecords = field(default_factory=discovery.MdnsRecords)
    flows: FlowTable = field(default_factory=lambda: FlowTable(interesting))

    def read(self, reader: CaptureReader) -> None:
        """Take every frame of one capture."""
        for frame in reader:
            packet = decode(frame.linktype, frame.data, UDP_PORTS)
            if isinstance(packet, Tcp):
                for key, flow in self.flows.add(packet):
                    self._judge_flow(key, flow)
            elif isinstance(packet, Udp):
                self._udp(packet)
            elif isinstance(packet, Arp):
                self._mac(packet.sender_ip, packet.sender_mac)

    def evidence(self) -> list[Evidence]:
        """Everything heard, after the open flows and mDNS records are judged."""
        for key, flow in self.flows.drain():
            self._judge_flow(key, flow)
        for item in self.mdns.evidence():
            self._add(item)
        unresolved = sum(1 for mac in self.pending_dhcp if _mac_text(mac) not in self.macs.values())
        if unresolved:
            log.info("%d DHCP clients were never seen with an address; left out", unresolved)
        self._resolve_dhcp()
        return list(self.found)

    def _add(self, item: Evidence) -> None:
        self.found.setdefault(item, None)

    def _mac(self, address: IPv4Address, raw: bytes) -> None:
        mac = _mac_text(raw)
        if self.macs.get(address) == mac or len(self.macs) >= MAX_MACS:
            return
        self.macs[address] = mac
        self._add(Evidence(host=address, channel="mac", value=mac, probe=PROBE))

    def _udp(self, datagram: Udp) -> None:
        ports = (datagram.sport, datagram.dport)
        if DEFAULT_PORTS["mdns"] in ports:
            self.mdns.absorb(datagram)
            return
        if dhcp.SERVER_PORT in ports and dhcp.CLIENT_PORT in ports:
            self._dhcp(datagram)
            return
        for port in ports:
            reader = discovery.READERS.get(port)
            if reader is not None:
                for item in reader(datagram):
                    self._add(item)
                return

    def _dhcp(self, datagram: Udp) -> None:
        message = dhcp.parse(datagram.payload)
        if message is None:
            return
        facts = [
            (channel, value)
            for channel, value in (
                ("dhcp.hostname", message.host_name),
                ("dhcp.vendor_class", message.vendor_class),
            )
            if value
        ]
        if facts and len(self.pending_dhcp) < MAX_PENDING_DHCP:
            known = self.pending_dhcp.setdefault(message.client_mac, [])
            known += [fact for fact in facts if fact not in known]
        if message.address is not None:
            self._mac(message.address, message.client_mac)
            self._resolve_dhcp()

    def _resolve_dhcp(self) -> None:
        """File the DHCP facts of every client whose address is now known under that address."""
        by_mac = {mac: address for address, mac in self.macs.items()}
        for raw in [raw for raw in self.pending_dhcp if _mac_text(raw) in by_mac]:
            address = by_mac[_mac_text(raw)]
            for channel, value in self.pending_dhcp.pop(raw):
                self._add(Evidence(host=address, channel=channel, value=value, probe=PROBE))

    def _judge_flow(self, key: tuple[Endpoint, Endpoint], flow: Flow) -> None:
        if flow.ignored or len(flow.sides) != 2:
            return
        (first, one), (second, other) = flow.sides.items()
        for server, served, asked in ((first, one, other), (second, other, one)):
            data = bytes(served.data)
            if data.startswith(b"HTTP/"):
                self._http(server, data, bytes(asked.data))
            elif data.startswith(b"RTSP/"):
                self._rtsp(server, data, bytes(asked.data))
            elif tls.looks_like_tls(data) and data[5:6] == bytes([tls.HANDSHAKE_SERVER_HELLO]):
                self._tls(server, data)

    def _http(self, server: Endpoint, data: bytes, client: bytes) -> None:
        for reply, request in replies.http_replies(data, replies.requests(client)):
            for item in replies.http_evidence(*server, reply, request, PROBE):
                self._add(item)

    def _rtsp(self, server: Endpoint, data: bytes, client: bytes) -> None:
        asked = replies.requests(client)
        for number, reply in enumerate(replies.rtsp_replies(data)):
            request = asked[number] if number < len(asked) else None
            for item in replies.rtsp_evidence(*server, reply, request, PROBE):
                self._add(item)

    def _tls(self, server: Endpoint, data: bytes) -> None:
        der = tls.leaf_certificate(data)
        if der is None:
            return
        try:
            subject, issuer = http_codec.certificate_names(der)
        except DecodeError as exc:
            log.debug("capture: unreadable certificate from %s:%s: %s", *server, exc)
            return
        host, port = server
        self._add(Evidence(host=host, channel="tls.subject", value=subject, probe=PROBE, port=port))
        self._add(Evidence(host=host, channel="tls.issuer", value=issuer, probe=PROBE, port=port))

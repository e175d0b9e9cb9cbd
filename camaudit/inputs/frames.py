"""Decode captured frames down to ARP, UDP and TCP over IPv4 (pure; anything else is skipped)."""

from __future__ import annotations

import struct
from collections.abc import Container
from dataclasses import dataclass
from ipaddress import IPv4Address

# LINKTYPE_* numbers (https://www.tcpdump.org/linktypes.html).
LINKTYPE_NULL = 0  # BSD loopback: 4-byte address family in the capturing host's order
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101  # bare IP
LINKTYPE_LINUX_SLL = 113  # `tcpdump -i any`
LINKTYPE_IPV4 = 228
LINKTYPE_LINUX_SLL2 = 276

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806  # RFC 826
VLAN_TAGS = frozenset({0x8100, 0x88A8, 0x9100})  # IEEE 802.1Q and 802.1ad
PROTO_TCP, PROTO_UDP = 6, 17
TCP_FIN, TCP_SYN, TCP_RST, TCP_ACK = 0x01, 0x02, 0x04, 0x10


@dataclass(frozen=True, slots=True)
class Arp:
    """An ARP request or reply: the sender's own MAC and address are what it tells the segment."""

    sender_mac: bytes
    sender_ip: IPv4Address


@dataclass(frozen=True, slots=True)
class Udp:
    """One UDP datagram over IPv4."""

    src: IPv4Address
    dst: IPv4Address
    sport: int
    dport: int
    payload: bytes
    src_mac: bytes | None  # the link-layer sender, when the link has one


@dataclass(frozen=True, slots=True)
class Tcp:
    """One TCP segment over IPv4."""

    src: IPv4Address
    dst: IPv4Address
    sport: int
    dport: int
    seq: int
    flags: int
    payload: bytes


Packet = Arp | Udp | Tcp


def decode(linktype: int, frame: bytes, udp_ports: Container[int] | None = None) -> Packet | None:
    """The ARP, UDP or TCP packet a frame carries, or None (IPv6, fragments, other protocols,
    and UDP datagrams to and from none of `udp_ports`, when given: filler costs nothing)."""
    link = _network_layer(linktype, frame)
    if link is None:
        return None
    ethertype, body, src_mac = link
    if ethertype == ETHERTYPE_ARP:
        return _arp(body)
    if ethertype == ETHERTYPE_IPV4:
        return _ipv4(body, src_mac, udp_ports)
    return None


def _network_layer(linktype: int, frame: bytes) -> tuple[int, memoryview, bytes | None] | None:
    view = memoryview(frame)
    if linktype == LINKTYPE_ETHERNET:
        if len(frame) < 14:
            return None
        ethertype, offset = struct.unpack_from("!H", frame, 12)[0], 14
        while ethertype in VLAN_TAGS and len(frame) >= offset + 4:
            ethertype, offset = struct.unpack_from("!H", frame, offset + 2)[0], offset + 4
        return ethertype, view[offset:], bytes(frame[6:12])
    if linktype == LINKTYPE_LINUX_SLL and len(frame) >= 16:
        size = min(struct.unpack_from("!H", frame, 4)[0], 8)
        mac = bytes(frame[6 : 6 + size]) if size == 6 else None
        return struct.unpack_from("!H", frame, 14)[0], view[16:], mac
    if linktype == LINKTYPE_LINUX_SLL2 and len(frame) >= 20:
        size = frame[11]
        mac = bytes(frame[12:18]) if size == 6 else None
        return struct.unpack_from("!H", frame, 0)[0], view[20:], mac
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4) and frame[:1] and frame[0] >> 4 == 4:
        return ETHERTYPE_IPV4, view, None
    if linktype == LINKTYPE_NULL and len(frame) >= 4 and frame[0] | frame[3] == 2:
        return ETHERTYPE_IPV4, view[4:], None  # AF_INET is 2 in either byte order
    return None


def _arp(body: memoryview) -> Arp | None:
    # Ethernet/IPv4 ARP only: hardware type 1, protocol 0x0800, sizes 6 and 4 (RFC 826).
    if len(body) < 28 or bytes(body[:6]) != b"\x00\x01\x08\x00\x06\x04":
        return None
    sender_ip = IPv4Address(bytes(body[14:18]))
    if sender_ip.is_unspecified:
        return None  # an ARP probe (RFC 5227) claims no address yet
    return Arp(sender_mac=bytes(body[8:14]), sender_ip=sender_ip)


def _ipv4(
    body: memoryview, src_mac: bytes | None, udp_ports: Container[int] | None
) -> Packet | None:
    if len(body) < 20 or body[0] >> 4 != 4:
        return None
    header = (body[0] & 0x0F) * 4
    total = struct.unpack_from("!H", body, 2)[0]
    fragment = struct.unpack_from("!H", body, 6)[0]
    if fragment & 0x3FFF:  # more-fragments flag or an offset: not reassembled (see offline.md)
        return None
    if header < 20 or total < header:
        return None
    payload = body[header : min(total, len(body))]
    src, dst = IPv4Address(bytes(body[12:16])), IPv4Address(bytes(body[16:20]))
    protocol = body[9]
    if protocol == PROTO_UDP and len(payload) >= 8:
        sport, dport, length = struct.unpack_from("!HHH", payload, 0)
        if udp_ports is not None and sport not in udp_ports and dport not in udp_ports:
            return None
        end = min(max(length, 8), len(payload))
        return Udp(src, dst, sport, dport, bytes(payload[8:end]), src_mac)
    if protocol == PROTO_TCP and len(payload) >= 20:
        sport, dport, seq = struct.unpack_from("!HHI", payload, 0)
        offset = (payload[12] >> 4) * 4
        if offset < 20:
            return None
        return Tcp(src, dst, sport, dport, seq, payload[13], bytes(payload[offset:]))
    return None

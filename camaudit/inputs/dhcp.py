"""DHCP (BOOTP) messages in a capture: the client's MAC, host name and vendor class (pure).

RFC 2131 §2 (message layout), RFC 2132 §3.14 (option 12 host name), §9.6 (option 53 message
type), §9.13 (option 60 vendor class identifier), §9.1 (option 50 requested address).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

SERVER_PORT, CLIENT_PORT = 67, 68
MAGIC_COOKIE = b"\x63\x82\x53\x63"
OPTION_HOST_NAME, OPTION_REQUESTED_ADDRESS, OPTION_MESSAGE_TYPE = 12, 50, 53
OPTION_VENDOR_CLASS = 60
DHCPACK = 5
MAX_OPTION_CHARS = 255  # an option is at most 255 bytes (RFC 2132 §2)


@dataclass(frozen=True, slots=True)
class DhcpMessage:
    """What one DHCP message says about its client."""

    client_mac: bytes
    address: IPv4Address | None  # the client's address, when the message gives one
    host_name: str | None
    vendor_class: str | None
    from_client: bool


def parse(payload: bytes) -> DhcpMessage | None:
    """Read a BOOTP/DHCP message over Ethernet; None for anything else."""
    if len(payload) < 240 or payload[236:240] != MAGIC_COOKIE or payload[1:3] != b"\x01\x06":
        return None
    options = _options(payload[240:])
    from_client = payload[0] == 1
    message_type = options.get(OPTION_MESSAGE_TYPE, b"\x00")[:1]
    address = _address(payload[12:16])  # ciaddr: a client that already has its lease
    if from_client and address is None and len(options.get(OPTION_REQUESTED_ADDRESS, b"")) == 4:
        address = _address(options[OPTION_REQUESTED_ADDRESS])
    if not from_client:
        # Only an ACK binds the address (an OFFER may never be taken).
        address = _address(payload[16:20]) if message_type == bytes([DHCPACK]) else None
    return DhcpMessage(
        client_mac=payload[28:34],
        address=address,
        host_name=_text(options.get(OPTION_HOST_NAME)) if from_client else None,
        vendor_class=_text(options.get(OPTION_VENDOR_CLASS)) if from_client else None,
        from_client=from_client,
    )


def _options(data: bytes) -> dict[int, bytes]:
    options: dict[int, bytes] = {}
    offset = 0
    while offset < len(data):
        code = data[offset]
        if code == 255:
            break
        if code == 0:
            offset += 1
            continue
        if offset + 1 >= len(data):
            break
        size = data[offset + 1]
        options.setdefault(code, data[offset + 2 : offset + 2 + size])
        offset += 2 + size
    return options


def _address(raw: bytes) -> IPv4Address | None:
    address = IPv4Address(raw)
    return None if address.is_unspecified or address.is_multicast else address


def _text(raw: bytes | None) -> str | None:
    if not raw:
        return None
    text = raw.rstrip(b"\x00").decode("utf-8", errors="replace").strip()[:MAX_OPTION_CHARS]
    return text or None

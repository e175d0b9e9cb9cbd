"""Dahua DHIP discovery over UDP: build the DHDiscover.search request, read client.notifyDevInfo.

Pure code: no sockets. A datagram is a 32-byte little-endian header and a JSON body
(docs/probes/vendor.md).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import AddressValueError, IPv4Address

from camaudit.errors import DecodeError
from camaudit.identity import normalise_mac

MAGIC = b"DHIP"
HEADER = struct.Struct("<I4s8sIIII")  # header length, magic, session/id, len, 0, len, 0
HEADER_SIZE = HEADER.size  # 32
# Byte for byte the ConfigTool inquiry (protocols.md §4); "uni": 1 asks for unicast replies too.
SEARCH_BODY = b'{ "method" : "DHDiscover.search", "params" : { "mac" : "", "uni" : 1 } }\n'
SEARCH_METHOD = "DHDiscover.search"
NOTIFY_METHOD = "client.notifyDevInfo"
# Real replies are about 1 KiB of JSON; a cap keeps a hostile sender from costing us much.
MAX_REPLY_BYTES = 32 * 1024
MAX_FIELD_CHARS = 1024

_PORT_FIELDS = {"private": "Port", "http": "HttpPort", "https": "HttpsPort"}
_TRAILER = b"\r\n\x00 \t"  # NOTE: devices end the body with "\n" and often a NUL (0a 00)


# The channel a DecodeError from this codec names.
CHANNEL = "dhip"


@dataclass(frozen=True, slots=True, kw_only=True)
class DhipReply:
    """The identifying fields of one DHIP message (a device describing itself: notifyDevInfo)."""

    text: str  # the JSON body as received (header and trailing newline/NUL removed)
    method: str
    mac: str | None = None  # lower-case colon form
    vendor: str | None = None  # brand string: "Dahua", "Private", "General", "Lorex", ...
    manufacturer: str | None = None
    model: str | None = None  # DeviceType, e.g. "IPC-HDW5421S"
    device_class: str | None = None  # DeviceClass: IPC, NVR, HCVR, VTO...
    serial: str | None = None  # SerialNo, else MachineName
    version: str | None = None  # firmware, e.g. "2.800.0000000.13.R"
    ipv4: IPv4Address | None = None  # what the device says its address is
    ports: Mapping[str, int] = field(default_factory=dict)

    @property
    def is_device_info(self) -> bool:
        """True for a device describing itself (not, say, another tool's search request)."""
        return self.method == NOTIFY_METHOD


def frame(body: bytes) -> bytes:
    """A DHIP datagram: the 32-byte header followed by `body`."""
    return HEADER.pack(HEADER_SIZE, MAGIC, bytes(8), len(body), 0, len(body), 0) + body


def build_search() -> bytes:
    """The DHDiscover.search datagram (bare JSON without the header gets no reply)."""
    return frame(SEARCH_BODY)


def parse_reply(data: bytes) -> DhipReply:
    """Read a DHIP JSON message, framed or bare; raises DecodeError for anything else."""
    if len(data) > MAX_REPLY_BYTES:
        raise DecodeError(
            CHANNEL, f"{len(data)} bytes is larger than a DHIP reply ({MAX_REPLY_BYTES})"
        )
    text = _json_body(data).decode("utf-8", errors="replace")
    try:
        message = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise DecodeError(CHANNEL, f"body is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise DecodeError(CHANNEL, "body is JSON but not an object")
    method = message.get("method")
    if not isinstance(method, str):
        raise DecodeError(CHANNEL, "no method in the DHIP message")
    return _reply_from_message(text, method, message)


def _json_body(data: bytes) -> bytes:
    # NOTE: the header's length fields are not trusted; the datagram boundary ends the body.
    if data[4:8] == MAGIC:
        body = data[HEADER_SIZE:]
        if not body.lstrip().startswith(b"{"):
            # Tolerate a short or mangled header: the body starts at the first brace after it.
            start = data.find(b"{", 8)
            body = data[start:] if start >= 0 else b""
    else:
        body = data
    body = body.strip(_TRAILER)
    if not body.startswith(b"{"):
        raise DecodeError(CHANNEL, "neither a DHIP header nor a JSON object")
    return body


def _reply_from_message(text: str, method: str, message: Mapping[str, object]) -> DhipReply:
    params = _mapping(message.get("params"))
    info = _mapping(params.get("deviceInfo"))
    ports = {
        name: port
        for name, key in _PORT_FIELDS.items()
        if (port := _port(info.get(key))) is not None
    }
    address = _mapping(info.get("IPv4Address"))
    return DhipReply(
        text=text,
        method=method[:MAX_FIELD_CHARS],
        mac=normalise_mac(_string(message.get("mac")) or ""),
        vendor=_string(info.get("Vendor")),
        manufacturer=_string(info.get("Manufacturer")),
        model=_string(info.get("DeviceType")),
        device_class=_string(info.get("DeviceClass")),
        serial=_string(info.get("SerialNo")) or _string(info.get("MachineName")),
        version=_string(info.get("Version")),
        ipv4=_address(_string(address.get("IPAddress"))),
        ports=ports,
    )


def _port(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        return None
    return value


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, dict) else {}


def _string(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()[:MAX_FIELD_CHARS]
    return text or None


def _address(text: str | None) -> IPv4Address | None:
    try:
        return IPv4Address(text or "")
    except AddressValueError:
        return None

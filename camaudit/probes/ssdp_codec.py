"""SSDP wire format: build M-SEARCH requests, read their HTTP-over-UDP replies (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import AddressValueError, IPv4Address
from urllib.parse import urlsplit

from camaudit import xmlsafe
from camaudit.errors import DecodeError
from camaudit.xmlsafe import local_name

# Search targets: every device and service, and root devices for stacks that ignore ssdp:all
# (UPnP Device Architecture 1.1 §1.3.2).
SEARCH_TARGETS: tuple[str, ...] = ("ssdp:all", "upnp:rootdevice")
MX_S = 1  # UPnP DA 1.1 §1.3.2: devices answer within a random 0..MX s; 1 keeps the scan short

MAX_PAYLOAD_BYTES = 8 * 1024  # real replies are a few hundred bytes
MAX_HEADERS = 64
MAX_LINE_CHARS = 2048
MAX_DESCRIPTION_BYTES = 64 * 1024  # a device description is a few KiB; also Evidence's value cap


# The channel a DecodeError from this codec names.
CHANNEL = "ssdp"


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchReply:
    """An M-SEARCH reply: status line and headers in the order received."""

    status_line: str
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        """The first value of a header, case-insensitively (SSDP stacks vary in case)."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """Where a reply says its description lives, when that is a plain IPv4 http URL."""

    host: IPv4Address
    port: int
    path: str  # path and query, as sent

    @property
    def url(self) -> str:
        """The URL rebuilt from its checked parts."""
        return f"http://{self.host}:{self.port}{self.path}"


def build_msearch(search_target: str, *, host: str, port: int) -> bytes:
    """An M-SEARCH for one ST; `host` is the group (multicast) or the target (unicast)."""
    return (
        "M-SEARCH * HTTP/1.1\r\n"
        f"HOST: {host}:{port}\r\n"
        'MAN: "ssdp:discover"\r\n'
        f"MX: {MX_S}\r\n"
        f"ST: {search_target}\r\n"
        "USER-AGENT: camaudit UPnP/1.1 camaudit/1\r\n"
        "\r\n"
    ).encode()


def parse_search_reply(payload: bytes) -> SearchReply:
    """An `HTTP/1.1 200 OK` search reply; NOTIFYs, other M-SEARCHes and garbage are refused."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise DecodeError(
            CHANNEL, f"{len(payload)} bytes, more than the {MAX_PAYLOAD_BYTES} allowed"
        )
    text = payload.decode("utf-8", errors="replace")
    head = text.split("\r\n\r\n", 1)[0].split("\n\n", 1)[0]
    lines = [line.rstrip("\r") for line in head.split("\n")]
    status_line = lines[0].strip()
    if not _is_ok_status(status_line):
        raise DecodeError(CHANNEL, f"not a search reply: {status_line[:60]!r}")
    headers = _read_headers(lines[1:])
    return SearchReply(status_line=status_line, headers=headers)


def _is_ok_status(status_line: str) -> bool:
    parts = status_line.split(None, 2)
    return len(parts) >= 2 and parts[0].upper() in {"HTTP/1.1", "HTTP/1.0"} and parts[1] == "200"


def _read_headers(lines: list[str]) -> tuple[tuple[str, str], ...]:
    if len(lines) > MAX_HEADERS:
        raise DecodeError(CHANNEL, f"{len(lines)} header lines, more than {MAX_HEADERS}")
    headers: list[tuple[str, str]] = []
    for line in lines:
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            raise DecodeError(CHANNEL, f"a header line of {len(line)} characters")
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or any(c.isspace() for c in name.strip()):
            raise DecodeError(CHANNEL, f"not a header line: {line[:60]!r}")
        headers.append((name.strip(), value.strip()))
    return tuple(headers)


def parse_location(value: str) -> Location:
    """The LOCATION URL, only when it is http:// on an IPv4 literal (never a name to resolve)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port or 80
    except ValueError as exc:
        raise DecodeError(CHANNEL, f"LOCATION is not a URL: {exc}") from None
    if parts.scheme != "http":
        raise DecodeError(CHANNEL, f"LOCATION scheme {parts.scheme!r} is not http")
    try:
        host = IPv4Address(parts.hostname or "")
    except AddressValueError:
        raise DecodeError(CHANNEL, "LOCATION host is not an IPv4 address") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if any(c.isspace() or ord(c) < 0x20 for c in path):
        raise DecodeError(CHANNEL, "LOCATION path has whitespace or control characters")
    return Location(host=host, port=port, path=path)


def check_description(body: bytes) -> str:
    """A device description as received, once it has parsed as XML with a UPnP <root>."""
    try:
        root = xmlsafe.parse(body, max_bytes=MAX_DESCRIPTION_BYTES)
    except xmlsafe.XmlError as exc:
        raise DecodeError(CHANNEL, f"description: {exc}") from None
    if local_name(root.tag) != "root":
        raise DecodeError(CHANNEL, "description root element is not <root>")
    return body.decode("utf-8", errors="replace")

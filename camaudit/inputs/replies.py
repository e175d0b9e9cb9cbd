"""HTTP and RTSP replies read from recorded bytes (a reassembled TCP stream, an nmap service
fingerprint) and turned into the evidence the live web and RTSP probes record (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address

from camaudit.errors import DecodeError
from camaudit.htmltitle import extract_title
from camaudit.models import Evidence
from camaudit.probes import http_codec, rtsp_codec, ssdp_codec
from camaudit.probes.http_banner import BODY_EVIDENCE_BYTES, FAVICON_MAX_BYTES
from camaudit.probes.vendor_http import VENDOR_REQUESTS

MAX_REPLIES = 64  # per connection; a live probe asks a port a handful of questions
MAX_HEAD_BYTES = 64 * 1024
_STATUS = re.compile(rb"^(HTTP/\d\.\d)[ \t]+(\d{3})(?:[ \t]+([^\r\n]*))?$")
_REQUEST = re.compile(rb"^([A-Z_]{1,20}) (\S{1,4096}) (?:HTTP|RTSP)/\d\.\d\r?$")
_DIGITS = re.compile(rb"[0-9]{1,12}")
_VENDOR_PATHS = frozenset((request.method, request.path) for request in VENDOR_REQUESTS)
_HEADER_CHANNELS = (
    ("Server", "http.server"),
    ("WWW-Authenticate", "http.www_authenticate"),
    ("Location", "http.location"),
)
_RTSP_HEADER_CHANNELS = (
    ("Server", "rtsp.server"),
    ("Public", "rtsp.public"),
    ("WWW-Authenticate", "rtsp.www_authenticate"),
)


@dataclass(frozen=True, slots=True)
class Request:
    """The method and path of one request a client sent."""

    method: str
    path: str


@dataclass(frozen=True, slots=True)
class HttpReply:
    """One HTTP response as recorded: status line, raw headers, body (cut at the evidence cap)."""

    version: str
    status: int
    reason: str
    raw_headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    complete: bool  # the whole body was recorded

    @property
    def status_line(self) -> str:
        """The status line as the device sent it."""
        return f"{self.version} {self.status} {self.reason}".rstrip()


def requests(data: bytes) -> list[Request]:
    """The request lines of an HTTP or RTSP client stream, in order (bodies skipped roughly)."""
    found: list[Request] = []
    for line in data.split(b"\n"):
        match = _REQUEST.match(line)
        if match:
            found.append(Request(match[1].decode("ascii"), match[2].decode("latin-1")))
            if len(found) >= MAX_REPLIES:
                break
    return found


def http_replies(
    data: bytes, asked: list[Request] | None = None
) -> Iterator[tuple[HttpReply, Request | None]]:
    """Every HTTP response in a server stream with the request it answers (by order, as HTTP/1.1
    answers them), until something that is not a response."""
    asked = asked or []
    offset = 0
    for count in range(MAX_REPLIES):
        request = asked[count] if count < len(asked) else None
        end = rtsp_codec.head_end(data[offset : offset + MAX_HEAD_BYTES])
        if end is None:
            end = len(data) - offset  # a head cut short: read what there is
        head = data[offset : offset + end]
        lines = head.replace(b"\r\n", b"\n").split(b"\n")
        status = _STATUS.match(lines[0].rstrip(b"\r"))
        if status is None:
            return
        headers = tuple(_header_pairs(lines[1:]))
        body_start = offset + end
        length, chunked = _body_length(headers)
        if chunked:
            body, used, complete = _dechunk(data, body_start)
        elif length is not None:
            body, used = data[body_start : body_start + length], length
            complete = len(body) == length
        else:
            # No length: the body runs to the close (RFC 9112 §6.3), unless another reply starts.
            rest = data[body_start:]
            cut = rest.find(b"HTTP/1.")
            body = rest if cut < 0 else rest[:cut]
            used, complete = len(body), cut < 0
        code = int(status[2])
        if 100 <= code < 200 or code in (204, 304) or (request and request.method == "HEAD"):
            body, used, complete = b"", 0, True  # RFC 9112 §6.3: these never carry a body
        reply = HttpReply(
            version=status[1].decode("ascii"),
            status=code,
            reason=(status[3] or b"").decode("latin-1").strip(),
            raw_headers=headers,
            body=body[:BODY_EVIDENCE_BYTES],
            complete=complete and len(body) <= BODY_EVIDENCE_BYTES,
        )
        yield reply, request
        offset = body_start + used
        if offset >= len(data):
            return


def _header_pairs(lines: list[bytes]) -> Iterator[tuple[bytes, bytes]]:
    for line in lines[: http_codec.MAX_HEADERS]:
        name, colon, value = line.rstrip(b"\r").partition(b":")
        if colon and name.strip() and b" " not in name.strip():
            yield name.strip(), value.strip()


def _body_length(headers: tuple[tuple[bytes, bytes], ...]) -> tuple[int | None, bool]:
    length: int | None = None
    for name, value in headers:
        lower = name.lower()
        if lower == b"transfer-encoding" and b"chunked" in value.lower():
            return None, True
        if lower == b"content-length" and _DIGITS.fullmatch(value):
            length = int(value)
    return length, False


def _dechunk(data: bytes, start: int) -> tuple[bytes, int, bool]:
    """(body, bytes used, complete) of a chunked body (RFC 9112 §7.1), cut at the evidence cap."""
    body = bytearray()
    offset = start
    while len(body) <= BODY_EVIDENCE_BYTES:
        line_end = data.find(b"\n", offset, offset + 1024)
        if line_end < 0:
            return bytes(body), len(data) - start, False
        size_text = data[offset:line_end].split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return bytes(body), len(data) - start, False
        offset = line_end + 1
        if size == 0:
            trailer = data.find(b"\r\n\r\n", offset - 2)
            end = len(data) if trailer < 0 else trailer + 4
            return bytes(body), end - start, True
        body += data[offset : offset + size]
        offset += size + 2
    return bytes(body), len(data) - start, False


def http_evidence(
    host: IPv4Address, port: int, reply: HttpReply, request: Request | None, probe: str
) -> list[Evidence]:
    """What http_banner and vendor_http would record from this reply to this request."""

    def item(channel: str, value: str) -> Evidence:
        return Evidence(host=host, channel=channel, value=value, probe=probe, port=port)

    found = [
        item(channel, value)
        for header, channel in _HEADER_CHANNELS
        for value in http_codec.header_values(reply.raw_headers, header)
    ]
    found.append(
        item("http.headers", http_codec.header_block(reply.raw_headers, reply.status_line))
    )
    path = request.path if request else ""
    if request and (request.method, path) in _VENDOR_PATHS:
        found.append(item("http.path_status", f"{request.method} {path} {reply.status}"))
    ok = 200 <= reply.status < 300
    if path.endswith("/favicon.ico"):
        if ok and reply.complete and reply.body and len(reply.body) <= FAVICON_MAX_BYTES:
            found += [
                item(channel, value) for channel, value in http_codec.favicon_hashes(reply.body)
            ]
        return found
    # NOTE: bodies of error pages only for the front page, as the live probes do: many servers
    # echo the requested path in a 404, and a vendor path in a body is itself a marker.
    if reply.body and (ok or path == "/"):
        body = http_codec.decode_body(reply.body)
        title = extract_title(body)
        if title is not None:
            found.append(item("http.title", title))
        found.append(item("http.body", body))
        if ok:
            found += _description(host, port, reply.body, probe)
    return found


def _description(host: IPv4Address, port: int, body: bytes, probe: str) -> list[Evidence]:
    try:
        text = ssdp_codec.check_description(body)
    except DecodeError:
        return []
    return [Evidence(host=host, channel="upnp.description", value=text, probe=probe, port=port)]


def rtsp_replies(data: bytes) -> Iterator[rtsp_codec.RtspReply]:
    """Every RTSP reply in a server stream, in order (interleaved RTP data ends the reading)."""
    offset = 0
    for _count in range(MAX_REPLIES):
        chunk = data[offset:]
        if not chunk.startswith(b"RTSP/"):
            return
        end = rtsp_codec.head_end(chunk[:MAX_HEAD_BYTES])
        try:
            reply = rtsp_codec.parse_reply(chunk)
        except DecodeError:
            return
        yield reply
        if end is None:
            return
        offset += end + len(reply.body)


def rtsp_evidence(
    host: IPv4Address, port: int, reply: rtsp_codec.RtspReply, request: Request | None, probe: str
) -> list[Evidence]:
    """What the live RTSP probe records from one reply."""

    def item(channel: str, value: str) -> Evidence:
        return Evidence(host=host, channel=channel, value=value, probe=probe, port=port)

    method = request.method if request else "OPTIONS"
    found = [item("rtsp.status", f"{method} {reply.status_line}")]
    found += [
        item(channel, value)
        for header, channel in _RTSP_HEADER_CHANNELS
        for value in reply.values(header)
    ]
    return found

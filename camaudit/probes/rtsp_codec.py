"""Pure RTSP/1.0 codec (RFC 2326): build OPTIONS/DESCRIBE requests, parse replies tolerantly."""

from __future__ import annotations

import re
from dataclasses import dataclass

from camaudit.errors import DecodeError

MAX_HEADERS = 64  # RTSP replies carry a dozen headers; the rest of a flood is dropped
MAX_LINE_CHARS = 4096  # per header line, far above any real Server or challenge line
MAX_BODY_BYTES = 64 * 1024  # an SDP description is a few KiB

_DIGITS = re.compile(r"[0-9]{1,12}")
_STATUS = re.compile(r"^RTSP/(\d)\.(\d{1,2})[ \t]+(\d{3})(?:[ \t]+(.*))?$")


# The channel a DecodeError from this codec names.
CHANNEL = "rtsp"


@dataclass(frozen=True, slots=True, kw_only=True)
class RtspReply:
    """One parsed RTSP reply; headers keep the device's name case and order."""

    version: str  # "RTSP/1.0"
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def status_line(self) -> str:
        """The status line as the device would print it."""
        return f"{self.version} {self.status} {self.reason}".rstrip()

    def values(self, name: str) -> list[str]:
        """Every value of one header (case-insensitive), in order."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]


def build_request(
    method: str, url: str, cseq: int, *, extra: tuple[tuple[str, str], ...] = ()
) -> bytes:
    """An RTSP/1.0 request with CSeq (RFC 2326 §12.17) and our User-Agent."""
    lines = [f"{method} {url} RTSP/1.0", f"CSeq: {cseq}", "User-Agent: camaudit"]
    lines += [f"{name}: {value}" for name, value in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def head_end(data: bytes) -> int | None:
    """Offset just past the blank line that ends the head (CRLF CRLF or bare LF LF), or None."""
    ends = [(data.find(marker), len(marker)) for marker in (b"\r\n\r\n", b"\n\n")]
    found = [at + size for at, size in ends if at >= 0]
    return min(found) if found else None


def is_complete(data: bytes) -> bool:
    """True once the head and as much body as Content-Length promises (capped) are in `data`."""
    end = head_end(data)
    if end is None:
        return False
    try:
        reply = parse_reply(data[:end])
    except DecodeError:
        return True  # no point waiting for more of something that is not RTSP
    return len(data) - end >= _content_length(reply)


def parse_reply(data: bytes) -> RtspReply:
    """Parse one reply; tolerates LF line ends, odd spacing and junk header lines."""
    end = head_end(data)
    head, body = (data, b"") if end is None else (data[:end], data[end:])
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    found = _STATUS.match(lines[0].strip()[:MAX_LINE_CHARS])
    if found is None:
        raise DecodeError(CHANNEL, f"not an RTSP status line: {lines[0][:80]!r}")
    major, minor, code, reason = found.groups()
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if len(headers) >= MAX_HEADERS:
            break
        name, colon, value = line[:MAX_LINE_CHARS].partition(":")
        if colon and name.strip() and " " not in name.strip():
            headers.append((name.strip(), value.strip()))
    reply = RtspReply(
        version=f"RTSP/{major}.{minor}",
        status=int(code),
        reason=(reason or "").strip(),
        headers=tuple(headers),
        body=b"",
    )
    return RtspReply(
        version=reply.version,
        status=reply.status,
        reason=reply.reason,
        headers=reply.headers,
        body=body[: _content_length(reply)],
    )


def _content_length(reply: RtspReply) -> int:
    # NOTE: never trust a length from the wire beyond our own cap.
    for value in reply.values("Content-Length"):
        if _DIGITS.fullmatch(value):
            return min(int(value), MAX_BODY_BYTES)
    return 0

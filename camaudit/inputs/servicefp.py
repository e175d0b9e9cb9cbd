"""nmap's raw service fingerprint: the bytes an unrecognised service sent back (pure).

The `servicefp` attribute of nmap's XML holds `SF-Port80-TCP:V=...%r(GetRequest,73,"...")...`:
one `%r(probe,hex length,"escaped reply")` per probe that drew an answer. The reply is escaped C
style (`\\x20`, `\\r`, `\\n`, `\\"`, and a backslash before regex-special characters); long
fingerprints are wrapped across lines that start with `SF:`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

MAX_FINGERPRINT_CHARS = 256 * 1024  # nmap caps each reply at a few KiB; this is far above that
MAX_REPLIES = 64
_WRAP = re.compile(r"\r?\nSF:")
_REPLY_START = re.compile(r"%r\(([A-Za-z0-9_-]{1,64}),([0-9A-Fa-f]{1,8}),\"")
_SIMPLE_ESCAPES = {
    "r": "\r",
    "n": "\n",
    "t": "\t",
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
}
# The request each nmap probe sends, as (method, path) for pairing with the reply
# (https://svn.nmap.org/nmap/nmap-service-probes: GetRequest "GET / HTTP/1.0", HTTPOptions
# "OPTIONS / HTTP/1.0", RTSPRequest "OPTIONS / RTSP/1.0", FourOhFourRequest a nonsense path).
PROBE_REQUESTS: dict[str, tuple[str, str]] = {
    "GetRequest": ("GET", "/"),
    "HTTPOptions": ("OPTIONS", "/"),
    "RTSPRequest": ("OPTIONS", "/"),
    "FourOhFourRequest": ("GET", "/nice%20ports%2C/Tri%6Eity.txt%2ebak"),
}


@dataclass(frozen=True, slots=True)
class ProbeReply:
    """One probe's name and the reply bytes the service sent to it."""

    probe: str
    data: bytes


def replies(fingerprint: str) -> Iterator[ProbeReply]:
    """Every reply recorded in one service fingerprint, bytes unescaped."""
    text = _WRAP.sub("", fingerprint[:MAX_FINGERPRINT_CHARS])
    offset = 0
    for _count in range(MAX_REPLIES):
        start = _REPLY_START.search(text, offset)
        if start is None:
            return
        data, offset = _unescape(text, start.end())
        yield ProbeReply(start[1], data)


def _unescape(text: str, at: int) -> tuple[bytes, int]:
    """Bytes of the quoted reply starting at `at`, and the offset just past its closing quote."""
    out = bytearray()
    while at < len(text):
        char = text[at]
        if char == '"':
            return bytes(out), at + 1
        if char != "\\" or at + 1 >= len(text):
            out += char.encode("latin-1", errors="replace")
            at += 1
            continue
        escaped = text[at + 1]
        if escaped == "x" and re.fullmatch(r"[0-9A-Fa-f]{2}", text[at + 2 : at + 4]):
            out.append(int(text[at + 2 : at + 4], 16))
            at += 4
            continue
        out += _SIMPLE_ESCAPES.get(escaped, escaped).encode("latin-1", errors="replace")
        at += 2
    return bytes(out), at

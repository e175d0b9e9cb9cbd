"""Tell an input file's format from its first bytes (never its name), gzip-compressed or not."""

from __future__ import annotations

import gzip
import io
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from camaudit.errors import ConfigError

SNIFF_BYTES = 4096  # enough for an XML declaration, a DOCTYPE and the <nmaprun> start tag
GZIP_MAGIC = b"\x1f\x8b"  # RFC 1952 §2.3.1
# libpcap's file header magic in both byte orders, microsecond and nanosecond flavours
# (https://www.tcpdump.org/manpages/pcap-savefile.5.html).
PCAP_MAGICS = frozenset(
    {b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"}
)
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"  # Section Header Block type (draft-ietf-opsawg-pcapng §4.1)


class Format(StrEnum):
    """The input formats `camaudit identify` reads."""

    JSONL = "camaudit JSON lines"
    NMAP_XML = "nmap XML"
    PCAP = "pcap"
    PCAPNG = "pcapng"


class PrefixedReader(io.RawIOBase):
    """A binary stream that first replays bytes already read for sniffing, then the rest."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        """Always: this only ever reads."""
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        """Fill `buffer` from the replayed head first, then from the underlying stream."""
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass(frozen=True, slots=True)
class Opened:
    """An input, its format, and a binary stream positioned at its first byte (decompressed)."""

    name: str
    format: Format
    stream: BinaryIO
    compressed: bool


def sniff(head: bytes) -> Format | None:
    """The format these first bytes start, or None when they start none camaudit reads."""
    if head[:4] in PCAP_MAGICS:
        return Format.PCAP
    if head[:4] == PCAPNG_MAGIC:
        return Format.PCAPNG
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return Format.JSONL
    if text.startswith(b"<") and b"<nmaprun" in head:
        return Format.NMAP_XML
    if not head.strip():
        return Format.JSONL  # an empty file is an empty list of observations
    return None


DAMAGED_GZIP = (EOFError, zlib.error, gzip.BadGzipFile)  # what a cut or corrupt gzip raises


def _read_head(stream: BinaryIO, path: str) -> bytes:
    head = b""
    while len(head) < SNIFF_BYTES:
        try:
            chunk = stream.read(SNIFF_BYTES - len(head))
        except DAMAGED_GZIP as exc:
            if not head:
                raise ConfigError(f"{path}: gzip data that does not decompress ({exc})") from None
            break  # damaged early: sniff what there is; the reader meets the damage again
        if not chunk:
            break
        head += chunk
    return head


def _open_raw(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    return Path(path).open("rb")  # noqa: SIM115 - closed by open_input


def _sniffed(path: str, raw: BinaryIO) -> Opened:
    head = _read_head(raw, path)
    compressed = head.startswith(GZIP_MAGIC)
    stream: BinaryIO = io.BufferedReader(PrefixedReader(head, raw))
    if compressed:
        stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
        # A stream cut inside its first 4 KiB still sniffs; the reader then meets the cut.
        head = _read_head(stream, path)
        stream = io.BufferedReader(PrefixedReader(head, stream))
    found = sniff(head)
    if found is None:
        raise ConfigError(
            f"{path}: not camaudit JSON lines, nmap XML (-oX), pcap or pcapng"
            + (" (after gzip)" if compressed else "")
        )
    return Opened(name=path, format=found, stream=stream, compressed=compressed)


@contextmanager
def open_input(path: str) -> Iterator[Opened]:
    """Open `path` (or "-" for standard input), undo gzip, and name its format.

    Raises ConfigError (one line, exit 2) for a file that cannot be read or is no known format.
    """
    try:
        raw = _open_raw(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        try:
            opened = _sniffed(path, raw)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
        # NOTE: errors while the caller reads (a gzip stream cut short) are its to report.
        yield opened
    finally:
        if path != "-":
            raw.close()

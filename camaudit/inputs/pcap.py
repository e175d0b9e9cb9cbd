"""Read pcap and pcapng files one packet at a time, in bounded memory (pure: bytes in, frames out).

Our own block reader rather than scapy's: it reads any binary stream (gzip, standard input), knows
the byte offset where a cut or corrupt file stops, never holds more than one block, and costs no
scapy import (docs/offline.md). Formats: https://www.tcpdump.org/manpages/pcap-savefile.5.html
and draft-ietf-opsawg-pcapng (Section Header, Interface Description, Enhanced/Simple Packet).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from camaudit.inputs.detect import DAMAGED_GZIP

MAX_FRAME_BYTES = 256 * 1024  # tcpdump's default snap length is 262144
MAX_BLOCK_BYTES = (
    16 * 1024 * 1024
)  # a non-packet block (name resolution, comments) this big is junk
SKIP_CHUNK = 64 * 1024

_PCAP_ORDER = {
    b"\xd4\xc3\xb2\xa1": "<",
    b"\xa1\xb2\xc3\xd4": ">",
    b"\x4d\x3c\xb2\xa1": "<",  # nanosecond timestamps; we never read the time
    b"\xa1\xb2\x3c\x4d": ">",
}
_BYTE_ORDER_MAGIC = 0x1A2B3C4D
_SHB, _IDB, _OPB, _SPB, _EPB = 0x0A0D0D0A, 1, 2, 3, 6


class Stop(Exception):
    """Reading ends here: the file is cut or corrupt at `offset`."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured frame: its link type (LINKTYPE_* number) and the bytes captured."""

    linktype: int
    data: bytes


@dataclass
class _Source:
    stream: BinaryIO
    offset: int = 0

    def exactly(self, size: int, what: str) -> bytes:
        try:
            data = self.stream.read(size)
        except (OSError, *DAMAGED_GZIP) as exc:  # gzip cut or corrupt mid-stream
            raise Stop(self.offset, f"the compressed data is damaged ({exc})") from None
        self.offset += len(data)
        if len(data) < size:
            raise Stop(self.offset - len(data), f"the file ends inside {what}")
        return data

    def at_end(self) -> bool:
        try:
            peek = getattr(self.stream, "peek", None)
            return not (peek(1) if peek else b"x")
        except (OSError, *DAMAGED_GZIP):
            return False


@dataclass
class CaptureReader:
    """Frames of one pcap or pcapng stream; after iterating, `stopped` says where and why reading
    ended early (None when the file was read to its end)."""

    stream: BinaryIO
    pcapng: bool
    stopped: str | None = None
    frames: int = 0
    _source: _Source = field(init=False)

    def __post_init__(self) -> None:
        self._source = _Source(self.stream)

    def __iter__(self) -> Iterator[Frame]:
        reader = self._pcapng() if self.pcapng else self._pcap()
        try:
            for frame in reader:
                self.frames += 1
                yield frame
        except Stop as stop:
            self.stopped = (
                f"stopped at byte {stop.offset} after {self.frames} packets: {stop.reason}"
            )

    def _pcap(self) -> Iterator[Frame]:
        source = self._source
        header = source.exactly(24, "the file header")
        order = _PCAP_ORDER[header[:4]]
        # The link type's upper bits may carry FCS information (pcap-savefile(5)).
        linktype = struct.unpack(order + "I", header[20:24])[0] & 0x0FFFFFFF
        record = struct.Struct(order + "IIII")
        while not source.at_end():
            _sec, _frac, captured, _original = record.unpack(source.exactly(16, "a packet header"))
            if captured > MAX_FRAME_BYTES:
                raise Stop(source.offset - 16, f"a packet header claims {captured} bytes")
            yield Frame(linktype, source.exactly(captured, "a packet"))

    def _pcapng(self) -> Iterator[Frame]:
        source = self._source
        order = "<"
        linktypes: list[int] = []
        while not source.at_end():
            start = source.offset
            head = source.exactly(8, "a block header")
            if head[:4] == PCAPNG_SHB_BYTES:
                order = _section_order(source.exactly(4, "a section header"), start)
                linktypes = []  # interface numbers restart in every section
                length = struct.unpack(order + "I", head[4:8])[0]
                body_size = length - 16
                if length % 4 or not 28 <= length <= MAX_BLOCK_BYTES:
                    raise Stop(start, f"a section header block of {length} bytes")
                _skip(source, body_size, "a section header")
                source.exactly(4, "a block trailer")
                continue
            kind, length = struct.unpack(order + "II", head)
            if length % 4 or length < 12:
                raise Stop(start, f"a block of {length} bytes")
            body_size = length - 12
            if kind in (_EPB, _SPB, _OPB, _IDB):
                if body_size > MAX_FRAME_BYTES + 64 * 1024:
                    raise Stop(start, f"a packet block of {length} bytes")
                body = source.exactly(body_size, "a packet block")
                frame = _frame_of(kind, body, order, linktypes)
                if frame is not None:
                    yield frame
            elif body_size > MAX_BLOCK_BYTES:
                raise Stop(start, f"a block of {length} bytes")
            else:
                _skip(source, body_size, "a block")
            source.exactly(4, "a block trailer")


PCAPNG_SHB_BYTES = struct.pack("<I", _SHB)


def _section_order(magic: bytes, start: int) -> str:
    for order in "<>":
        if struct.unpack(order + "I", magic)[0] == _BYTE_ORDER_MAGIC:
            return order
    raise Stop(start, "a section header without the byte-order magic")


def _skip(source: _Source, size: int, what: str) -> None:
    while size > 0:
        size -= len(source.exactly(min(size, SKIP_CHUNK), what))


def _frame_of(kind: int, body: bytes, order: str, linktypes: list[int]) -> Frame | None:
    """A frame from an Enhanced, Simple or obsolete Packet Block; records an interface's type."""
    if kind == _IDB:
        if len(body) >= 2:
            linktypes.append(struct.unpack(order + "H", body[:2])[0])
        return None
    if kind == _EPB and len(body) >= 20:
        interface, _high, _low, captured, _original = struct.unpack(order + "IIIII", body[:20])
        data = body[20 : 20 + captured]
    elif kind == _OPB and len(body) >= 20:
        interface = struct.unpack(order + "H", body[:2])[0]
        captured = struct.unpack(order + "I", body[12:16])[0]
        data = body[20 : 20 + captured]
    elif kind == _SPB and len(body) >= 4:
        # A Simple Packet Block belongs to the first interface; its length is the block's.
        interface, data = 0, body[4:]
    else:
        return None
    if interface >= len(linktypes):
        return None  # a packet of an interface never described: its link layer is unknown
    return Frame(linktypes[interface], data)

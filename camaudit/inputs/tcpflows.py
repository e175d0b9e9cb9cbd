"""TCP reassembly for passive captures: in-order bytes per direction, capped, flows evicted oldest
first (pure). Only what a response parser needs: no retransmission timers, no window tracking."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from camaudit.inputs.frames import TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, Tcp
from camaudit.options import MAX_READ_BYTES

MAX_STREAM_BYTES = MAX_READ_BYTES  # per direction: the cap a live scan puts on one reply read
MAX_PENDING_SEGMENTS = 64  # out-of-order segments held per direction
MAX_FLOWS = 4096  # concurrent connections followed; the oldest is judged and dropped beyond this
MAX_BUFFERED_BYTES = 64 * 1024 * 1024  # all flows together
SNIFF_BYTES = 16  # after this many bytes each way, a flow that speaks nothing we read is dropped
_SEQ_MOD = 1 << 32

Endpoint = tuple[IPv4Address, int]


def _ahead(seq: int, than: int) -> int:
    """How far `seq` is after `than`, in TCP's wrapping sequence space (negative: before)."""
    distance = (seq - than) % _SEQ_MOD
    return distance - _SEQ_MOD if distance >= _SEQ_MOD // 2 else distance


@dataclass
class Direction:
    """The bytes one side sent, in sequence order, up to MAX_STREAM_BYTES."""

    data: bytearray = field(default_factory=bytearray)
    next_seq: int | None = None
    pending: dict[int, bytes] = field(default_factory=dict)
    closed: bool = False

    @property
    def full(self) -> bool:
        """True once the cap is reached: later bytes are dropped."""
        return len(self.data) >= MAX_STREAM_BYTES

    def add(self, segment: Tcp) -> int:
        """Take one segment; the number of bytes it added to this direction's buffer."""
        if segment.flags & TCP_SYN:
            self.next_seq = (segment.seq + 1) % _SEQ_MOD
        if segment.flags & (TCP_FIN | TCP_RST):
            self.closed = True
        if not segment.payload or self.full:
            return 0
        start = segment.seq + (1 if segment.flags & TCP_SYN else 0)
        if self.next_seq is None:
            self.next_seq = start % _SEQ_MOD  # joined mid-connection: start where we came in
        before = len(self.data)
        gap = _ahead(start, self.next_seq)
        if gap > 0:
            if len(self.pending) < MAX_PENDING_SEGMENTS:
                self.pending.setdefault(start % _SEQ_MOD, segment.payload)
            return 0
        self._append(segment.payload[-gap:] if gap < 0 else segment.payload)
        while self.next_seq in self.pending:
            self._append(self.pending.pop(self.next_seq))
        # Held segments now behind the stream are retransmissions or overlaps already read.
        for seq in [held for held in self.pending if _ahead(held, self.next_seq) < 0]:
            chunk = self.pending.pop(seq)
            tail = _ahead(seq, self.next_seq) + len(chunk)
            if tail > 0:
                self._append(chunk[-tail:])
        return len(self.data) - before

    def _append(self, chunk: bytes) -> None:
        if not chunk or self.next_seq is None:
            return
        room = MAX_STREAM_BYTES - len(self.data)
        self.data += chunk[:room]
        self.next_seq = (self.next_seq + len(chunk)) % _SEQ_MOD


@dataclass
class Flow:
    """One TCP connection: the two directions, by sending endpoint."""

    sides: dict[Endpoint, Direction] = field(default_factory=dict)
    ignored: bool = False
    kept: bool = False  # its first bytes were interesting: no need to look again

    def finished(self) -> bool:
        """Both sides said FIN or RST (or one side reset): nothing more will come."""
        return len(self.sides) == 2 and all(side.closed for side in self.sides.values())


@dataclass
class FlowTable:
    """Connections being followed, oldest first; `interesting` decides from the first bytes of
    each side whether a flow is worth keeping."""

    interesting: object  # Callable[[bytes], bool], typed loosely to keep the dataclass simple
    flows: OrderedDict[tuple[Endpoint, Endpoint], Flow] = field(default_factory=OrderedDict)
    buffered: int = 0

    def add(self, segment: Tcp) -> Iterator[tuple[tuple[Endpoint, Endpoint], Flow]]:
        """Take one segment; yields every flow that is complete or evicted, to be judged now."""
        sender: Endpoint = (segment.src, segment.sport)
        receiver: Endpoint = (segment.dst, segment.dport)
        key = (sender, receiver) if sender < receiver else (receiver, sender)
        flow = self.flows.get(key)
        if (
            flow is not None
            and segment.flags & TCP_SYN
            and not segment.flags & TCP_ACK
            and any(side.data or side.closed for side in flow.sides.values())
        ):
            # A new connection on the same ports: the old one is over. (A SYN that arrives
            # after its SYN-ACK, as a span port may deliver them, still belongs to this one.)
            yield key, self._pop(key)
            flow = None
        if flow is None:
            if not segment.payload and not segment.flags & TCP_SYN:
                return  # a bare ACK or FIN of a connection we never saw: nothing to follow
            flow = self.flows[key] = Flow()
        side = flow.sides.setdefault(sender, Direction())
        if flow.ignored:
            side.closed = side.closed or bool(segment.flags & (TCP_FIN | TCP_RST))
        else:
            self.buffered += side.add(segment)
            self._sniff(flow)
        if flow.finished():
            yield key, self._pop(key)
        while len(self.flows) > MAX_FLOWS or self.buffered > MAX_BUFFERED_BYTES:
            oldest = next(iter(self.flows))
            yield oldest, self._pop(oldest)

    def drain(self) -> Iterator[tuple[tuple[Endpoint, Endpoint], Flow]]:
        """Every flow still open at the end of the capture, oldest first."""
        while self.flows:
            oldest = next(iter(self.flows))
            yield oldest, self._pop(oldest)

    def _sniff(self, flow: Flow) -> None:
        if flow.kept:
            return
        sides = list(flow.sides.values())
        if any(self.interesting(bytes(side.data[:SNIFF_BYTES])) for side in sides):  # type: ignore[operator]
            flow.kept = any(len(side.data) >= SNIFF_BYTES for side in sides)
            return
        # HTTP, RTSP and TLS clients speak first, so the first side to say enough decides.
        if any(len(side.data) >= SNIFF_BYTES for side in sides):
            self._release(flow)
            flow.ignored = True

    def _release(self, flow: Flow) -> None:
        for side in flow.sides.values():
            self.buffered -= len(side.data)
            side.data = bytearray()
            side.pending.clear()

    def _pop(self, key: tuple[Endpoint, Endpoint]) -> Flow:
        flow = self.flows.pop(key)
        self.buffered -= sum(len(side.data) for side in flow.sides.values())
        return flow

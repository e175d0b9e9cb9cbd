"""Sockets for probes: one UDP endpoint helper for unicast, multicast and broadcast, and interfaces.

Every probe gets its sockets from here (through ProbeContext), so tests can point probes at
responders on loopback or inside the lab's namespaces without a special code path.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

from camaudit.identity import normalise_mac

log = logging.getLogger(__name__)

# Discovery must never leave the local segment (RFC 6762 §11, WS-Discovery 1.1 §3.1.1).
MULTICAST_TTL = 1
# NOTE: a datagram to a silent on-link address waits in the kernel for ARP (about 3 s) and counts
# against the socket's send buffer meanwhile; a /24 of directed discovery overflows the default
# 208 KiB, and the rest would wait in asyncio's buffer. Ask for room for a few thousand.
SEND_BUFFER_BYTES = 4 * 1024 * 1024
# Linux only: root may exceed wmem_max. NOTE: no numeric fallback; 32 is SO_BROADCAST on Windows.
SO_SNDBUFFORCE: int | None = getattr(socket, "SO_SNDBUFFORCE", None)
DRAIN_LIMIT_S = 10.0  # longest wait for queued datagrams to reach the kernel before listening


@dataclass(frozen=True, slots=True)
class Interface:
    """An IPv4 interface of this machine (in this network namespace)."""

    name: str
    address: IPv4Interface
    multicast: bool
    mac: str | None = None  # lower-case colon form; None where the system reports none

    @property
    def network(self) -> IPv4Network:
        """The directly connected network."""
        return self.address.network


@dataclass(frozen=True, slots=True)
class Datagram:
    """One UDP datagram received by an endpoint."""

    sender: IPv4Address
    port: int
    payload: bytes


def list_interfaces() -> list[Interface]:
    """Every IPv4 address of every interface that is up, with its netmask and the interface's
    MAC (psutil reads them on Linux, macOS and Windows alike)."""
    import psutil  # noqa: PLC0415 - only scans and dry runs need interfaces

    stats = psutil.net_if_stats()
    interfaces: list[Interface] = []
    for name, addresses in psutil.net_if_addrs().items():
        stat = stats.get(name)
        if stat is None or not stat.isup:
            continue
        mac = next(
            (normalise_mac(a.address) for a in addresses if a.family == psutil.AF_LINK), None
        )
        for entry in addresses:
            address = _ipv4_interface(entry.family, entry.address, entry.netmask)
            if address is None:
                continue
            multicast = _multicast_capable(stat.flags, address)
            interfaces.append(Interface(name=name, address=address, multicast=multicast, mac=mac))
    return interfaces


def _ipv4_interface(family: int, address: str, netmask: str | None) -> IPv4Interface | None:
    if family != socket.AF_INET or not netmask:
        return None
    try:
        return IPv4Interface(f"{address}/{netmask}")
    except ValueError:
        return None


def _multicast_capable(flags: str, address: IPv4Interface) -> bool:
    """IFF_MULTICAST and not loopback; Windows reports no flags, so there every non-loopback
    interface counts (its adapters all take multicast)."""
    if address.is_loopback:
        return False
    names = set(flags.split(",")) if flags else set()
    return "multicast" in names if names else True


class ListenWindow:
    """How long a discovery probe keeps listening after its last send.

    At most `listen_s` past the last send (the user's --listen). It ends sooner once `settle_s`
    (the longest a device of that protocol may wait before answering) has passed since the last
    send and nothing has been heard for `quiet_s`: answers that keep arriving keep it open, and a
    segment that went quiet is not waited on for the full window.
    """

    def __init__(self, listen_s: float, *, settle_s: float | None = None, quiet_s: float) -> None:
        self.listen_s = listen_s
        self.settle_s = listen_s if settle_s is None else min(settle_s, listen_s)
        self.quiet_s = quiet_s
        self.last_send = time.monotonic()
        self.last_heard: float | None = None
        self._heard = asyncio.Event()

    @classmethod
    def fixed(cls, listen_s: float) -> ListenWindow:
        """A window that never ends early."""
        return cls(listen_s, quiet_s=0.0)

    def sent(self) -> None:
        self.last_send = time.monotonic()

    def heard(self, at: float | None = None) -> None:
        """An answer arrived (at monotonic time `at`; now if not given)."""
        when = time.monotonic() if at is None else at
        self.last_heard = when if self.last_heard is None else max(self.last_heard, when)
        self._heard.set()

    def ends_at(self) -> float:
        """The monotonic time listening ends, as things stand."""
        settled = self.last_send + self.settle_s
        if self.last_heard is not None:
            settled = max(settled, self.last_heard + self.quiet_s)
        return min(self.last_send + self.listen_s, settled)

    def remaining_s(self) -> float:
        return max(0.0, self.ends_at() - time.monotonic())

    async def wait(self) -> None:
        """Sleep until the window ends (an answer may move its end later)."""
        while (remaining := self.remaining_s()) > 0:
            self._heard.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._heard.wait(), remaining)


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, max_datagrams: int, max_bytes: int) -> None:
        self.queue: asyncio.Queue[Datagram] = asyncio.Queue()
        self.max_datagrams = max_datagrams
        self.max_bytes = max_bytes
        self.received = 0
        self.last_received: float | None = None  # monotonic time of the latest datagram

    def datagram_received(self, data: bytes, addr: tuple[str | Any, ...]) -> None:
        if self.received >= self.max_datagrams:
            return
        self.received += 1
        self.last_received = time.monotonic()
        host, port = str(addr[0]), int(addr[1])
        with contextlib.suppress(ValueError):
            self.queue.put_nowait(Datagram(IPv4Address(host), port, data[: self.max_bytes]))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a silent host lands here; a silent host is not an error.
        log.debug("udp error: %s", exc)


class UdpEndpoint:
    """A bound UDP socket that sends and collects datagrams for a fixed time."""

    def __init__(self, transport: asyncio.DatagramTransport, protocol: _Collector) -> None:
        self._transport = transport
        self._protocol = protocol

    def send(self, payload: bytes, address: tuple[str, int]) -> None:
        """Send one datagram (errors such as unreachable networks are logged, not raised)."""
        try:
            self._transport.sendto(payload, address)
        except OSError as exc:
            log.debug("udp send to %s failed: %s", address, exc)

    async def wait_sent(self, limit_s: float = DRAIN_LIMIT_S) -> None:
        """Wait until every datagram queued by send() has been handed to the kernel (bounded)."""
        deadline = time.monotonic() + limit_s
        # asyncio offers no "buffer empty" event for datagram transports, so poll it.
        # NOTE: selector datagram transports have get_write_buffer_size(); typeshed omits it.
        pending = getattr(self._transport, "get_write_buffer_size", lambda: 0)
        while pending() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    async def collect(
        self, for_s: float | None = None, *, window: ListenWindow | None = None
    ) -> list[Datagram]:
        """Every datagram that arrives after our sends have left, until `window` ends (or for a
        fixed `for_s` seconds), capped in count and size; replies that came during the sends
        are kept too. Each arrival is reported to the window, which several endpoints may share.
        """
        if window is None:
            window = ListenWindow.fixed(for_s or 0.0)
        await self.wait_sent()
        # What arrived already counts even when the window has run out (for_s may be 0).
        replies = self.drain()
        if replies:  # when they came, not now: a quiet gap may already have passed
            window.heard(at=self._protocol.last_received)
        while (remaining := window.remaining_s()) > 0:
            try:
                replies.append(await asyncio.wait_for(self._protocol.queue.get(), remaining))
            except TimeoutError:
                continue  # another endpoint's answer may have moved the window's end
            window.heard()
        return replies

    def drain(self) -> list[Datagram]:
        """Datagrams already received, without waiting."""
        replies = []
        while not self._protocol.queue.empty():
            replies.append(self._protocol.queue.get_nowait())
        return replies


class Sockets:
    """Factory for probe sockets; the one place that sets socket options."""

    def __init__(self, *, max_datagrams: int = 4096, max_bytes: int = 65535) -> None:
        self.max_datagrams = max_datagrams
        self.max_bytes = max_bytes

    @contextlib.asynccontextmanager
    async def udp(
        self,
        *,
        bind: tuple[str, int] = ("0.0.0.0", 0),  # noqa: S104 - replies come back to any address
        groups: tuple[tuple[str, Interface], ...] = (),
        broadcast: bool = False,
        multicast_interface: Interface | None = None,
        bind_device: bool = False,
    ) -> AsyncIterator[UdpEndpoint]:
        """A UDP endpoint; `groups` joins multicast groups on given interfaces (for replies sent
        to a group, as SADP and DHIP devices do); `multicast_interface` picks where sends to a
        group go out; `bind_device` also pins the socket to that interface where the system can
        (Linux SO_BINDTODEVICE), for sockets that only ever talk to that link."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            with contextlib.suppress(AttributeError, OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            _enlarge_send_buffer(sock)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, MULTICAST_TTL)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
            if broadcast:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            if multicast_interface is not None:
                _send_multicast_on(sock, multicast_interface, bind_device=bind_device)
            sock.bind(bind)
            for group, interface in groups:
                _join(sock, group, interface)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _Collector(self.max_datagrams, self.max_bytes), sock=sock
        )
        try:
            yield UdpEndpoint(transport, protocol)
        finally:
            transport.close()


def _send_multicast_on(sock: socket.socket, interface: Interface, *, bind_device: bool) -> None:
    """Make group sends leave on `interface`, the way every OS takes it.

    IP_MULTICAST_IF with the interface's address (a struct in_addr) is what Linux, macOS and
    Windows all accept (docs/platforms.md). SO_BINDTODEVICE exists only on Linux: there it also
    keeps the socket on that link when policy routing or a VRF would pick another; unprivileged
    kernels before 5.7 refuse it, which is fine because IP_MULTICAST_IF already chose the link.
    """
    sock.setsockopt(
        socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(str(interface.address.ip))
    )
    option = getattr(socket, "SO_BINDTODEVICE", None)
    if bind_device and option is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, interface.name.encode())
        except OSError as exc:
            log.debug(
                "SO_BINDTODEVICE %s refused (%s); IP_MULTICAST_IF still applies",
                interface.name,
                exc,
            )


def _join(sock: socket.socket, group: str, interface: Interface) -> None:
    """Join a group on one interface, named by its address (struct ip_mreq: group, then
    interface). Windows and macOS have no by-name join; an address works on all three."""
    membership = socket.inet_aton(group) + socket.inet_aton(str(interface.address.ip))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)


def _enlarge_send_buffer(sock: socket.socket) -> None:
    """As large a send buffer as we may have: forced as root, else up to the system maximum."""
    for option in (SO_SNDBUFFORCE, socket.SO_SNDBUF):
        if option is None:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, SEND_BUFFER_BYTES)
        except OSError:
            continue
        return


class Lane(enum.Enum):
    """Which queue a send waits in (RateLimiter)."""

    # Directed discovery datagrams: a few per live host, and the listening windows that the end
    # of the scan waits for are counted from the last of them, so they go first.
    DISCOVERY = "discovery"
    HOST = "host"  # requests to hosts known to be alive
    BACKGROUND = "background"  # the reachability pass over every address


class RateLimiter:
    """A token bucket shared by the whole scan: at most `rate` new packets/connections a second.

    Background sends (the reachability pass over every address) give way to the others: a
    request to a host already known to be alive never queues behind a /16 of knocks on silent
    addresses, so host probes keep their timeouts while the pass is still running. Giving way
    is taking turns, not starving: while both kinds wait, every other token is a background one,
    so the pass (whose end the directed discovery waits for) still ends soon on a busy /24.
    Discovery datagrams, bounded by the number of live hosts, go before either.

    One task hands out the tokens, to first-come-first-served queues, so a thousand waiting
    knocks cost one wake-up per token rather than a thousand.
    """

    def __init__(self, rate: float, burst: int | None = None) -> None:
        self.rate = max(rate, 1.0)
        self.capacity = float(burst if burst is not None else max(int(self.rate // 10), 1))
        self._tokens = self.capacity
        self._last = time.monotonic()
        self._queues: dict[Lane, collections.deque[asyncio.Future[None]]] = {
            lane: collections.deque() for lane in Lane
        }
        self._background_next = False  # whose turn it is while hosts and background both wait
        self._dealer: asyncio.Task[None] | None = None

    async def acquire(self, lane: Lane = Lane.HOST) -> None:
        """Wait until one more packet or connection may be sent."""
        waiter = asyncio.get_running_loop().create_future()
        self._queues[lane].append(waiter)
        if self._dealer is None or self._dealer.done():
            self._dealer = asyncio.create_task(self._deal())
        await waiter  # a cancelled waiter is skipped: its token goes to the next one

    async def _deal(self) -> None:
        while (waiter := self._next_waiter()) is not None:
            await self._take_token()
            if waiter.done():  # cancelled while we waited for the token: keep it for another
                self._tokens = min(self.capacity, self._tokens + 1)
                continue
            waiter.set_result(None)

    def _next_waiter(self) -> asyncio.Future[None] | None:
        for queue in self._queues.values():
            while queue and queue[0].done():
                queue.popleft()
        discovery, host, background = (self._queues[lane] for lane in Lane)
        if discovery:
            queue = discovery
        elif host and background:
            queue = background if self._background_next else host
            self._background_next = not self._background_next
        else:
            queue = host or background
        return queue.popleft() if queue else None

    async def _take_token(self) -> None:
        while True:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) / self.rate)


async def open_tcp(
    host: IPv4Address | str,
    port: int,
    *,
    timeout_s: float,
    ssl_context: object | None = None,
    server_hostname: str | None = None,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect with a deadline; raises OSError or TimeoutError (a closed port is not an error
    for the caller to report, just an answer)."""
    kwargs: dict[str, object] = {"limit": 64 * 1024}
    if ssl_context is not None:
        kwargs["ssl"] = ssl_context
        kwargs["server_hostname"] = server_hostname or ""
    async with asyncio.timeout(timeout_s):
        return await asyncio.open_connection(str(host), port, **kwargs)  # type: ignore[arg-type]


async def read_capped(reader: asyncio.StreamReader, *, max_bytes: int, timeout_s: float) -> bytes:
    """Read until EOF, `max_bytes` or the deadline, whichever comes first; never raises on a
    timeout."""
    chunks: list[bytes] = []
    total = 0
    try:
        async with asyncio.timeout(timeout_s):
            while total < max_bytes:
                chunk = await reader.read(min(65536, max_bytes - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
    except TimeoutError:
        pass
    return b"".join(chunks)


async def close_quietly(writer: asyncio.StreamWriter) -> None:
    """Close a stream without letting a rude peer's reset escape."""
    writer.close()
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            await writer.wait_closed()

"""Sockets for probes: one UDP endpoint helper for unicast, multicast and broadcast, and interfaces.

Every probe gets its sockets from here (through ProbeContext), so tests can point probes at
responders on loopback or inside the lab's namespaces without a special code path.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import socket
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

log = logging.getLogger(__name__)

# Discovery must never leave the local segment (RFC 6762 §11, WS-Discovery 1.1 §3.1.1).
MULTICAST_TTL = 1
# NOTE: a datagram to a silent on-link address waits in the kernel for ARP (about 3 s) and counts
# against the socket's send buffer meanwhile; a /24 of directed discovery overflows the default
# 208 KiB, and the rest would wait in asyncio's buffer. Ask for room for a few thousand.
SEND_BUFFER_BYTES = 4 * 1024 * 1024
SO_SNDBUFFORCE = getattr(socket, "SO_SNDBUFFORCE", 32)  # Linux: root may exceed wmem_max
DRAIN_LIMIT_S = 10.0  # longest wait for queued datagrams to reach the kernel before listening


@dataclass(frozen=True, slots=True)
class Interface:
    """An IPv4 interface of this machine (in this network namespace)."""

    name: str
    address: IPv4Interface
    multicast: bool

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
    """The IPv4 interfaces that are up, with their addresses (Linux, via SIOCGIFCONF)."""
    interfaces: list[Interface] = []
    for _index, name in socket.if_nameindex():
        flags = _interface_flags(name)
        if flags is None or not flags & 0x1:  # IFF_UP
            continue
        multicast = bool(flags & 0x1000) and not flags & 0x8  # IFF_MULTICAST, not IFF_LOOPBACK
        interfaces += [
            Interface(name=name, address=address, multicast=multicast)
            for address in _interface_addresses(name)
        ]
    return interfaces


SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFNETMASK = 0x8913, 0x8915, 0x891B  # linux/sockios.h


def _ifreq(name: str) -> bytes:
    """A struct ifreq naming an interface (IFNAMSIZ 16, so at most 15 bytes of name)."""
    return struct.pack("256s", name.encode()[:15])


def _interface_flags(name: str) -> int | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            raw = fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, _ifreq(name))
        except OSError:
            return None
    return int(struct.unpack("H", raw[16:18])[0])


def _interface_addresses(name: str) -> list[IPv4Interface]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, _ifreq(name))
            mask = fcntl.ioctl(sock.fileno(), SIOCGIFNETMASK, _ifreq(name))
        except OSError:
            return []
    address = socket.inet_ntoa(packed[20:24])
    netmask = socket.inet_ntoa(mask[20:24])
    return [IPv4Interface(f"{address}/{netmask}")]


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, max_datagrams: int, max_bytes: int) -> None:
        self.queue: asyncio.Queue[Datagram] = asyncio.Queue()
        self.max_datagrams = max_datagrams
        self.max_bytes = max_bytes
        self.received = 0

    def datagram_received(self, data: bytes, addr: tuple[str | Any, ...]) -> None:
        if self.received >= self.max_datagrams:
            return
        self.received += 1
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

    async def collect(self, for_s: float) -> list[Datagram]:
        """Every datagram that arrives in the `for_s` seconds after our sends have left
        (capped in count and size); replies that came during the sends are kept too."""
        await self.wait_sent()
        replies: list[Datagram] = []
        deadline = time.monotonic() + for_s
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                replies.append(await asyncio.wait_for(self._protocol.queue.get(), remaining))
            except TimeoutError:
                break
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
    ) -> AsyncIterator[UdpEndpoint]:
        """A UDP endpoint; `groups` joins multicast groups on given interfaces (for replies sent
        to a group, as SADP and DHIP devices do); `multicast_interface` picks where sends to a
        group go out."""
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
                sock.setsockopt(
                    socket.IPPROTO_IP,
                    socket.IP_MULTICAST_IF,
                    socket.inet_aton(str(multicast_interface.address.ip)),
                )
            sock.bind(bind)
            for group, interface in groups:
                membership = socket.inet_aton(group) + socket.inet_aton(str(interface.address.ip))
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
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


def _enlarge_send_buffer(sock: socket.socket) -> None:
    """As large a send buffer as we may have: forced as root, else up to the system maximum."""
    for option in (SO_SNDBUFFORCE, socket.SO_SNDBUF):
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, SEND_BUFFER_BYTES)
        except OSError:
            continue
        return


class RateLimiter:
    """A token bucket shared by the whole scan: at most `rate` new packets/connections a second."""

    def __init__(self, rate: float, burst: int | None = None) -> None:
        self.rate = max(rate, 1.0)
        self.capacity = float(burst if burst is not None else max(int(self.rate // 10), 1))
        self._tokens = self.capacity
        self._last = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one more packet or connection may be sent."""
        async with self._lock:
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

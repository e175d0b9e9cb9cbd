"""The two kinds of probe and what they are given: a scope, sockets, a rate limit, options."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import ClassVar

from camaudit.liveness import LiveFeed
from camaudit.models import Evidence
from camaudit.net import Interface, RateLimiter, Sockets
from camaudit.options import ScanOptions
from camaudit.targets import Scope

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class ProbeContext:
    """What every probe is handed by the scanner."""

    options: ScanOptions
    scope: Scope
    sockets: Sockets = field(default_factory=Sockets)
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(1000.0))
    # Interfaces on which multicast/broadcast discovery may be sent; empty means unicast only.
    interfaces: tuple[Interface, ...] = ()
    # Per-scan shared resources (e.g. one HTTP session for all hosts), closed by the scanner.
    resources: dict[str, object] = field(default_factory=dict)
    # Set by the scanner when it runs the reachability pass: the live in-scope addresses as they
    # are found. Directed discovery reads it so that silent addresses get no datagrams at all.
    live: LiveFeed | None = None
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    _warned: set[str] = field(default_factory=set)

    def add_closer(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Register a coroutine function the scanner awaits when the scan ends."""
        self._closers.append(closer)

    async def aclose(self) -> None:
        """Close every shared resource a probe registered (errors logged, never raised)."""
        while self._closers:
            closer = self._closers.pop()
            try:
                await closer()
            except Exception as exc:  # noqa: BLE001 - closing must not hide the scan's result
                log.debug("closing a probe resource failed: %s", exc)

    async def unicast_targets(self) -> AsyncIterator[IPv4Address]:
        """Where directed discovery goes (it reaches routed subnets multicast cannot): each live
        address as the reachability pass finds it, else every address in scope."""
        if self.live is None:
            for address in self.scope.addresses():
                yield address
        else:
            async for address in self.live.addresses():
                yield address

    def log_once(self, message: str, *args: object) -> None:
        """Warn once per distinct message, then only at DEBUG (hosts repeat themselves)."""
        key = message % args if args else message
        if key in self._warned:
            log.debug(message, *args)
        else:
            self._warned.add(key)
            log.warning(message, *args)


@dataclass(frozen=True, slots=True, kw_only=True)
class HostTarget:
    """A host worth asking directly: in scope, and alive on some port or heard in discovery."""

    ip: IPv4Address
    open_ports: frozenset[int] = frozenset()
    known: tuple[Evidence, ...] = ()  # what discovery already heard about this host

    def known_values(self, channel: str) -> list[str]:
        """Values already observed on one channel (e.g. "wsd.xaddrs")."""
        return [item.value for item in self.known if item.channel == channel]


class DiscoveryProbe(ABC):
    """Asks the whole segment (multicast/broadcast) and every target directly (unicast)."""

    name: ClassVar[str]
    description: ClassVar[str] = ""

    @abstractmethod
    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        """Evidence about every host that answered (out-of-scope hosts are never probed further)."""


class HostProbe(ABC):
    """Asks one known host over TCP (HTTP, RTSP, ONVIF SOAP...)."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    # True for a probe that reads HostTarget.known (what discovery heard): it starts only once
    # discovery has ended. The others start as soon as the host's ports are known.
    reads_discovery: ClassVar[bool] = False

    @abstractmethod
    async def probe(self, host: HostTarget, ctx: ProbeContext) -> list[Evidence]:
        """Evidence about this host; a host that does not answer gives an empty list."""

    def evidence(self, host: HostTarget, port: int, channel: str, value: str) -> Evidence:
        """One observation of this host on `port`, credited to this probe."""
        return Evidence(host=host.ip, channel=channel, value=value, probe=self.name, port=port)

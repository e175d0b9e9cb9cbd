"""Which targets are alive, asked as cheaply as possible before anything costly is sent to them.

A /20 is 4,096 addresses and most of them are silent. Sweeping seven ports on each and sending
every discovery datagram to each costs the silent ones far more than the live ones, so the scan
first asks every address one question: a TCP connect to the likeliest camera port. A live host
answers it either way, with SYN-ACK (open) or RST (closed); a silent address times out. On a
directly connected network the connect also makes the kernel resolve the address by ARP, so the
neighbour table read afterwards adds the live hosts that drop TCP silently (a firewall on port 80)
without one packet more and without root. Only the live hosts then get the rest of the port
sweep and the directed discovery datagrams.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import TypeVar

from camaudit.neighbour_table import Neighbour
from camaudit.net import Lane, RateLimiter, close_quietly, open_tcp
from camaudit.targets import Scope

log = logging.getLogger(__name__)

T = TypeVar("T")

# Pending connects cost one descriptor each, and unanswered ones wait out the connect timeout.
SWEEP_CONCURRENCY = 1024


class Answer:
    """What one connect attempt said about a host."""

    OPEN = "open"  # SYN-ACK: the port listens
    CLOSED = "closed"  # RST: nothing listens there, but the host is alive
    SILENT = "silent"  # no answer, or no route: nothing to learn


@dataclass(slots=True)
class Reachability:
    """The outcome of the reachability pass: who is alive, and which of them had the port open."""

    port: int
    alive: set[IPv4Address] = field(default_factory=set)
    open: set[IPv4Address] = field(default_factory=set)
    asked: int = 0

    def live_addresses(self) -> list[IPv4Address]:
        return sorted(self.alive)


class LiveFeed:
    """The live addresses as the reachability pass finds them, for any number of readers: each
    reader gets every address once, in the order found, without waiting for the pass to end."""

    def __init__(self) -> None:
        self._found: list[IPv4Address] = []
        self._seen: set[IPv4Address] = set()
        self._closed = False
        self._changed = asyncio.Event()

    def add(self, address: IPv4Address) -> None:
        if address not in self._seen:
            self._seen.add(address)
            self._found.append(address)
            self._wake()

    def close(self) -> None:
        """No more addresses: readers end once they have read what was found."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        # A fresh event per change: a reader holding the old one is woken, none is missed.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def addresses(self) -> AsyncIterator[IPv4Address]:
        index = 0
        while True:
            changed = self._changed  # taken before reading, so no change slips between
            while index < len(self._found):
                yield self._found[index]
                index += 1
            if self._closed:
                return
            await changed.wait()


async def knock(address: IPv4Address, port: int, *, timeout_s: float) -> str:
    """One connect to `address:port`: OPEN, CLOSED or SILENT (see Answer)."""
    try:
        _reader, writer = await open_tcp(address, port, timeout_s=timeout_s)
    except ConnectionRefusedError:
        return Answer.CLOSED
    except (OSError, TimeoutError):
        return Answer.SILENT  # timed out, host or network unreachable (no ARP reply)
    await close_quietly(writer)
    return Answer.OPEN


async def find_live_hosts(
    scope: Scope,
    port: int,
    *,
    limiter: RateLimiter,
    timeout_s: float,
    neighbours: Callable[[], Awaitable[list[Neighbour]]] | None = None,
    on_progress: Callable[[int, int], None] = lambda done, total: None,
    feed: LiveFeed | None = None,
    into: Reachability | None = None,
) -> Reachability:
    """Knock once on `port` of every address in scope, then add in-scope neighbours the kernel
    resolved meanwhile (hosts that answered ARP but dropped the connect). Each live address also
    goes to `feed` the moment it is known, and the outcome so far can be read in `into` while the
    pass runs; closing the feed is the caller's."""
    found = into if into is not None else Reachability(port=port)
    total = scope.size()

    async def ask(address: IPv4Address) -> None:
        # Background: the knocks give way to traffic for hosts already found alive.
        await limiter.acquire(Lane.BACKGROUND)
        answer = await knock(address, port, timeout_s=timeout_s)
        found.asked += 1
        if answer == Answer.OPEN:  # recorded first: a feed reader may look at it at once
            found.open.add(address)
        if answer != Answer.SILENT:
            found.alive.add(address)
            if feed is not None:
                feed.add(address)
        on_progress(found.asked, total)

    await run_pooled(scope.addresses(), ask)
    if neighbours is not None:
        resolved = [n.ip for n in await neighbours() if n.ip in scope and n.ip not in found.alive]
        if resolved:
            log.debug("liveness: %d more live host(s) from the neighbour table", len(resolved))
        found.alive.update(resolved)
        for address in resolved:
            if feed is not None:
                feed.add(address)
    return found


async def sweep_open_ports(
    hosts: Iterable[IPv4Address],
    ports: Iterable[int],
    *,
    limiter: RateLimiter,
    timeout_s: float,
) -> dict[IPv4Address, set[int]]:
    """Connect to each of `ports` on each host; the open ones, per host (only hosts with any)."""
    wanted = tuple(ports)
    pairs = ((host, port) for host in hosts for port in wanted)
    open_ports: dict[IPv4Address, set[int]] = {}

    async def ask(pair: tuple[IPv4Address, int]) -> None:
        host, port = pair
        await limiter.acquire()
        if await knock(host, port, timeout_s=timeout_s) == Answer.OPEN:
            open_ports.setdefault(host, set()).add(port)

    await run_pooled(pairs, ask)
    return open_ports


async def sweep_each_host(
    hosts: AsyncIterable[IPv4Address],
    ports: Sequence[int],
    *,
    limiter: RateLimiter,
    timeout_s: float,
    on_host: Callable[[IPv4Address, set[int]], None],
) -> None:
    """Like sweep_open_ports, but for hosts that arrive while it runs (the reachability pass's
    feed): each host's ports are asked as soon as it arrives, and the host is handed to
    `on_host` with its open ports the moment its last port has answered, so its own probes
    wait neither for the whole sweep nor for the pass's silent addresses to time out."""
    slots = asyncio.Semaphore(SWEEP_CONCURRENCY)  # connects in flight, as in run_pooled

    async def ask_all(host: IPv4Address) -> None:
        found: set[int] = set()

        async def ask(port: int) -> None:
            try:
                await limiter.acquire()
                if await knock(host, port, timeout_s=timeout_s) == Answer.OPEN:
                    found.add(port)
            finally:
                slots.release()

        async with asyncio.TaskGroup() as group:
            for port in ports:
                await slots.acquire()
                group.create_task(ask(port))
        on_host(host, found)

    async with asyncio.TaskGroup() as group:
        async for host in hosts:
            group.create_task(ask_all(host))


async def run_pooled(
    items: Iterator[T], work: Callable[[T], Awaitable[None]], workers: int = SWEEP_CONCURRENCY
) -> None:
    """Run `work` on every item with a fixed pool of tasks drawing from one lazy iterator, so a
    /16 (65,536 addresses) costs `workers` tasks, not one task per address."""
    shared = iter(items)

    async def worker() -> None:
        for item in shared:
            await work(item)

    async with asyncio.TaskGroup() as group:
        for _ in range(workers):
            group.create_task(worker())

"""Ask the segment and every target over UDP: multicast on each interface, unicast to each target,
then collect what comes back. Shared by WS-Discovery, SSDP, SADP and DHIP.

Two socket strategies, chosen by `UdpAsk.answers_to_group`:

* standard discovery (WS-Discovery, SSDP) answers the asking socket by unicast, so each interface
  gets an ephemeral sending socket and one more ephemeral socket sends to the targets;
* vendor discovery (SADP, DHIP) may answer to the group on the protocol's own port, so each
  interface gets a socket bound to that port that joins the group (and may broadcast).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address

from camaudit.errors import ProbeError
from camaudit.net import Datagram, Interface, Lane, ListenWindow, UdpEndpoint
from camaudit.options import QUIET_S
from camaudit.probes.base import ProbeContext

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class UdpAsk:
    """One discovery request: what to send to each destination, where, and how long to listen."""

    probe: str  # names the probe in errors and logs
    group: str
    port: int
    listen_s: float  # the most it listens after the last send (--listen)
    settle_s: float  # the longest a device may wait to answer; after it, silence ends the window
    # The datagrams for one destination (the group, a broadcast address or a target), in order;
    # SSDP names the destination in its HOST header, the others send the same bytes everywhere.
    payloads: Callable[[str], Sequence[bytes]]
    # Bind the protocol's own port and join the group on each interface (SADP, DHIP).
    answers_to_group: bool = False
    broadcast: bool = False  # also send to each interface's subnet broadcast address


def same_payloads(*payloads: bytes) -> Callable[[str], Sequence[bytes]]:
    """`UdpAsk.payloads` for protocols that send the same datagrams to every destination."""
    return lambda _destination: payloads


async def ask(ctx: ProbeContext, request: UdpAsk) -> list[Datagram]:
    """Every datagram heard while sending `request` and after it, until the answers stop (at most
    `request.listen_s`; see net.ListenWindow)."""
    if request.answers_to_group:
        return await _ask_on_protocol_port(ctx, request)
    return await _ask_from_ephemeral_ports(ctx, request)


async def _ask_from_ephemeral_ports(ctx: ProbeContext, request: UdpAsk) -> list[Datagram]:
    async with contextlib.AsyncExitStack() as stack:
        endpoints = await _open_multicast_senders(ctx, request, stack)
        for endpoint in endpoints:
            for payload in request.payloads(request.group):
                endpoint.send(payload, (request.group, request.port))
        try:
            unicast = await stack.enter_async_context(ctx.sockets.udp())
        except OSError as exc:
            raise ProbeError(f"{request.probe}: cannot open a UDP socket: {exc}") from exc
        endpoints.append(unicast)
        window = _window(request)
        await _send_to_targets(ctx, request, unicast, window)
        return await _collect(endpoints, window)


async def _open_multicast_senders(
    ctx: ProbeContext, request: UdpAsk, stack: contextlib.AsyncExitStack
) -> list[UdpEndpoint]:
    """One sending socket per interface: IP_MULTICAST_IF picks the link the datagram leaves on;
    these sockets only talk to that link, so they may be pinned to it too (bind_device)."""
    if not ctx.options.multicast:
        return []
    endpoints: list[UdpEndpoint] = []
    for interface in ctx.interfaces:
        if not interface.multicast:
            log.debug("%s: %s cannot multicast, skipped", request.probe, interface.name)
            continue
        try:
            udp = ctx.sockets.udp(multicast_interface=interface, bind_device=True)
            endpoints.append(await stack.enter_async_context(udp))
        except OSError as exc:
            ctx.log_once("%s: cannot multicast on %s: %s", request.probe, interface.name, exc)
    return endpoints


async def _ask_on_protocol_port(ctx: ProbeContext, request: UdpAsk) -> list[Datagram]:
    """With no interfaces (or multicast off), unicast only from an ephemeral port; with
    interfaces, bind the protocol's own port, because devices may answer to the group."""
    interfaces = ctx.interfaces if ctx.options.multicast else ()
    try:
        async with contextlib.AsyncExitStack() as stack:
            endpoints = [
                await stack.enter_async_context(_open_listener(ctx, request, interface))
                for interface in interfaces
            ] or [await stack.enter_async_context(ctx.sockets.udp())]
            window = _window(request)
            for endpoint, interface in zip(endpoints, interfaces, strict=False):
                await _send_to_segment(ctx, request, endpoint, interface)
            await _send_to_targets(ctx, request, endpoints[0], window)
            datagrams = await _collect(endpoints, window)
    except OSError as exc:
        raise ProbeError(f"{request.probe}: cannot use UDP port {request.port}: {exc}") from exc
    return _distinct(datagrams)


def _open_listener(
    ctx: ProbeContext, request: UdpAsk, interface: Interface
) -> contextlib.AbstractAsyncContextManager[UdpEndpoint]:
    groups = ((request.group, interface),) if interface.multicast else ()
    return ctx.sockets.udp(
        bind=("0.0.0.0", request.port),  # noqa: S104 - replies to the group arrive on this port
        groups=groups,
        broadcast=request.broadcast,
        multicast_interface=interface,
    )


async def _send_to_segment(
    ctx: ProbeContext, request: UdpAsk, endpoint: UdpEndpoint, interface: Interface
) -> None:
    destinations: list[str] = []
    if interface.multicast:
        destinations.append(request.group)
    # A /31 or /32 has no broadcast address worth sending to (RFC 3021).
    if request.broadcast and interface.network.prefixlen < 31:
        destinations.append(str(interface.network.broadcast_address))
    for destination in destinations:
        for payload in request.payloads(destination):
            await ctx.limiter.acquire(Lane.DISCOVERY)
            endpoint.send(payload, (destination, request.port))


def _window(request: UdpAsk) -> ListenWindow:
    """Counted from the last send, not the first: a target found late by the reachability pass
    still gets its full window, and an early one does not wait for the silent addresses'
    timeouts."""
    return ListenWindow(request.listen_s, settle_s=request.settle_s, quiet_s=QUIET_S)


async def _send_to_targets(
    ctx: ProbeContext, request: UdpAsk, endpoint: UdpEndpoint, window: ListenWindow
) -> None:
    # Directed unicast reaches routed subnets (multicast has TTL 1) and hosts that ignore it.
    async for address in ctx.unicast_targets():
        for payload in request.payloads(str(address)):
            await ctx.limiter.acquire(Lane.DISCOVERY)
            endpoint.send(payload, (str(address), request.port))
        window.sent()


async def _collect(endpoints: Iterable[UdpEndpoint], window: ListenWindow) -> list[Datagram]:
    batches = await asyncio.gather(*(endpoint.collect(window=window) for endpoint in endpoints))
    return [datagram for batch in batches for datagram in batch]


def _distinct(datagrams: Iterable[Datagram]) -> list[Datagram]:
    # A device may answer both to the group and to us; with several sockets on one port the
    # same datagram can also arrive twice.
    seen: set[tuple[IPv4Address, bytes]] = set()
    unique: list[Datagram] = []
    for datagram in datagrams:
        key = (datagram.sender, datagram.payload)
        if key not in seen:
            seen.add(key)
            unique.append(datagram)
    return unique

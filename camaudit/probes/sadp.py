"""Hikvision SADP discovery: one XML inquiry per interface (multicast) and per target (unicast).

Also home of `ask_vendor_discovery`, the send-and-listen routine SADP and DHIP share.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import ClassVar

from camaudit.errors import ProbeError
from camaudit.models import Evidence
from camaudit.net import Datagram, Interface, UdpEndpoint
from camaudit.probes import sadp_codec
from camaudit.probes.base import DiscoveryProbe, ProbeContext

log = logging.getLogger(__name__)

# Hikvision SADP uses the SSDP/WS-Discovery group with its own port (protocols.md §3,
# UniversalScanner Hikvision.cs); devices answer to the group or to the sender, same port.
SADP_GROUP = "239.255.255.250"


@dataclass(frozen=True, slots=True, kw_only=True)
class VendorAsk:
    """One vendor discovery request: what to send, to which group and port, how long to listen."""

    probe: str
    payload: bytes
    group: str
    port: int
    listen_s: float
    broadcast: bool = False  # also send to each interface's subnet broadcast address


async def ask_vendor_discovery(ctx: ProbeContext, ask: VendorAsk) -> list[Datagram]:
    """Send `ask` to the group (and broadcast) on each interface and to every target; return the
    distinct datagrams heard while sending and for `ask.listen_s` after.

    With no interfaces (or multicast off) it sends unicast only, from an ephemeral port; with
    interfaces it binds the protocol's own port, because devices may answer to the group.
    """
    interfaces = ctx.interfaces if ctx.options.multicast else ()
    try:
        async with contextlib.AsyncExitStack() as stack:
            endpoints = [
                await stack.enter_async_context(_open_endpoint(ctx, ask, interface))
                for interface in interfaces
            ] or [await stack.enter_async_context(ctx.sockets.udp())]
            for endpoint, interface in zip(endpoints, interfaces, strict=False):
                await _send_to_segment(ctx, ask, endpoint, interface)
            await _send_to_targets(ctx, ask, endpoints[0])
            batches = await asyncio.gather(*(e.collect(for_s=ask.listen_s) for e in endpoints))
    except OSError as exc:
        raise ProbeError(f"{ask.probe}: cannot use UDP port {ask.port}: {exc}") from exc
    return _distinct(datagram for batch in batches for datagram in batch)


def _open_endpoint(
    ctx: ProbeContext, ask: VendorAsk, interface: Interface
) -> contextlib.AbstractAsyncContextManager[UdpEndpoint]:
    groups = ((ask.group, interface),) if interface.multicast else ()
    return ctx.sockets.udp(
        bind=("0.0.0.0", ask.port),  # noqa: S104 - replies to the group arrive on this port
        groups=groups,
        broadcast=ask.broadcast,
        multicast_interface=interface,
    )


async def _send_to_segment(
    ctx: ProbeContext, ask: VendorAsk, endpoint: UdpEndpoint, interface: Interface
) -> None:
    if interface.multicast:
        await ctx.limiter.acquire()
        endpoint.send(ask.payload, (ask.group, ask.port))
    # A /31 or /32 has no broadcast address worth sending to (RFC 3021).
    if ask.broadcast and interface.network.prefixlen < 31:
        await ctx.limiter.acquire()
        endpoint.send(ask.payload, (str(interface.network.broadcast_address), ask.port))


async def _send_to_targets(ctx: ProbeContext, ask: VendorAsk, endpoint: UdpEndpoint) -> None:
    # Directed unicast reaches routed subnets and hosts that ignore multicast.
    for address in ctx.unicast_targets():
        await ctx.limiter.acquire()
        endpoint.send(ask.payload, (str(address), ask.port))


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


class SadpProbe(DiscoveryProbe):
    """Ask Hikvision devices (and Hikvision OEMs) to describe themselves over SADP."""

    name: ClassVar[str] = "sadp"
    description: ClassVar[str] = "Hikvision SADP inquiry, UDP 37020 (multicast + unicast)"

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        """Evidence ("sadp" reply XML, "mac") from every host that sent a ProbeMatch."""
        inquiry = sadp_codec.build_inquiry(uuid.uuid4())
        ask = VendorAsk(
            probe=self.name,
            payload=inquiry,
            group=SADP_GROUP,
            port=ctx.options.port("sadp"),
            listen_s=ctx.options.sadp_listen_s,
        )
        evidence: list[Evidence] = []
        for datagram in await ask_vendor_discovery(ctx, ask):
            if datagram.payload != inquiry:  # our own inquiry, if we are in scope
                evidence += self._read(ctx, datagram)
        return evidence

    def _read(self, ctx: ProbeContext, datagram: Datagram) -> list[Evidence]:
        try:
            reply = sadp_codec.parse_probe_match(datagram.payload)
        except sadp_codec.DecodeError as exc:
            ctx.log_once("sadp: ignoring a datagram from %s: %s", datagram.sender, exc)
            return []
        if reply.ipv4 is not None and reply.ipv4 != datagram.sender:
            # NOTE: the sender is where the device can be reached; the XML says what it thinks.
            log.debug("sadp: %s says its address is %s", datagram.sender, reply.ipv4)
        found = [self._evidence(datagram, "sadp", reply.text)]
        if reply.mac is not None:
            found.append(self._evidence(datagram, "mac", reply.mac))
        return found

    def _evidence(self, datagram: Datagram, channel: str, value: str) -> Evidence:
        return Evidence(
            host=datagram.sender, channel=channel, value=value, probe=self.name, port=datagram.port
        )

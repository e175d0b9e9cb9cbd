"""WS-Discovery probe: ask for ONVIF video transmitters by multicast and directed unicast."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import ClassVar

from camaudit.errors import ProbeError
from camaudit.models import Evidence
from camaudit.net import Datagram, Interface, UdpEndpoint
from camaudit.probes import wsd_codec
from camaudit.probes.base import DiscoveryProbe, ProbeContext

log = logging.getLogger(__name__)

WSD_GROUP = "239.255.255.250"  # WS-Discovery 1.1 §2.4 IPv4 multicast group (port is ctx "wsd")


class WsDiscoveryProbe(DiscoveryProbe):
    """Send ONVIF Probes to the group on each interface and to every target; read ProbeMatches."""

    name: ClassVar[str] = "wsdiscovery"
    description: ClassVar[str] = "WS-Discovery Probe (UDP 3702, multicast and unicast)"

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        """Evidence from every ProbeMatch that answers one of our two Probes."""
        port = ctx.options.port("wsd")
        probes = {wsd_codec.new_message_id(): types for types in wsd_codec.PROBE_TYPES}
        payloads = [
            wsd_codec.build_probe(message_id, types) for message_id, types in probes.items()
        ]
        async with contextlib.AsyncExitStack() as stack:
            endpoints = await _open_multicast_endpoints(ctx, stack)
            for endpoint in endpoints:
                for payload in payloads:
                    endpoint.send(payload, (WSD_GROUP, port))
            unicast = await _open_unicast_endpoint(ctx, stack)
            endpoints.append(unicast)
            await _send_unicast(ctx, unicast, payloads, port)
            listen_s = ctx.options.wsd_listen_s
            batches = await asyncio.gather(*(endpoint.collect(listen_s) for endpoint in endpoints))
        datagrams = [datagram for batch in batches for datagram in batch]
        log.debug("wsdiscovery: %d datagrams received", len(datagrams))
        return _dedupe(self._read(ctx, datagrams, relates_to=probes.keys()))

    def _read(
        self, ctx: ProbeContext, datagrams: Iterable[Datagram], *, relates_to: Iterable[str]
    ) -> list[Evidence]:
        wanted = frozenset(relates_to)
        evidence: list[Evidence] = []
        for datagram in datagrams:
            try:
                matches = wsd_codec.parse_probe_matches(datagram.payload, relates_to=wanted)
            except wsd_codec.DecodeError as exc:
                ctx.log_once(
                    "wsdiscovery: ignoring replies from %s that are not ProbeMatches",
                    datagram.sender,
                )
                log.debug(
                    "wsdiscovery: %s sent %d bytes: %s", datagram.sender, len(datagram.payload), exc
                )
                continue
            for match in matches:
                evidence += match.to_evidence(
                    host=datagram.sender, probe=self.name, port=datagram.port
                )
        return evidence


async def _open_multicast_endpoints(
    ctx: ProbeContext, stack: contextlib.AsyncExitStack
) -> list[UdpEndpoint]:
    """One sending socket per interface: IP_MULTICAST_IF picks the link the Probe leaves on."""
    if not ctx.options.multicast:
        return []
    endpoints: list[UdpEndpoint] = []
    for interface in ctx.interfaces:
        if not interface.multicast:
            log.debug("wsdiscovery: %s cannot multicast, skipped", interface.name)
            continue
        endpoint = await _try_open(ctx, stack, interface)
        if endpoint is not None:
            endpoints.append(endpoint)
    return endpoints


async def _try_open(
    ctx: ProbeContext, stack: contextlib.AsyncExitStack, interface: Interface
) -> UdpEndpoint | None:
    try:
        return await stack.enter_async_context(ctx.sockets.udp(multicast_interface=interface))
    except OSError as exc:
        ctx.log_once("wsdiscovery: cannot multicast on %s: %s", interface.name, exc)
        return None


async def _open_unicast_endpoint(
    ctx: ProbeContext, stack: contextlib.AsyncExitStack
) -> UdpEndpoint:
    try:
        return await stack.enter_async_context(ctx.sockets.udp())
    except OSError as exc:
        raise ProbeError(f"wsdiscovery: cannot open a UDP socket: {exc}") from exc


async def _send_unicast(
    ctx: ProbeContext, endpoint: UdpEndpoint, payloads: list[bytes], port: int
) -> None:
    """Directed Probes reach targets behind routers, where multicast (TTL 1) never goes."""
    for address in ctx.unicast_targets():
        for payload in payloads:
            await ctx.limiter.acquire()
            endpoint.send(payload, (str(address), port))


def _dedupe(evidence: list[Evidence]) -> list[Evidence]:
    # Devices answer both Probes and once per interface; keep the first of each observation.
    return list(dict.fromkeys(evidence))

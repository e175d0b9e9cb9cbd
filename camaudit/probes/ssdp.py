"""SSDP probe: M-SEARCH by multicast and unicast, then fetch each replying device's description."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterable
from typing import ClassVar

import aiohttp

from camaudit.errors import DecodeError
from camaudit.models import Evidence
from camaudit.net import Datagram
from camaudit.options import SSDP_SETTLE_S
from camaudit.probes import ssdp_codec, udp_discovery
from camaudit.probes.base import DiscoveryProbe, ProbeContext
from camaudit.probes.http_session import IDENTITY_ENCODING, fetch, shared_session

log = logging.getLogger(__name__)

SSDP_GROUP = "239.255.255.250"  # UPnP Device Architecture 1.1 §1.1.2 (port is ctx "ssdp")
MAX_LOCATIONS_PER_HOST = 4  # root device and a few embedded ones; more is a misbehaving stack
MAX_PARALLEL_FETCHES = 32


class SsdpProbe(DiscoveryProbe):
    """Search for UPnP devices; record SERVER/ST and the description XML each serves itself."""

    name: ClassVar[str] = "ssdp"
    description: ClassVar[str] = "SSDP M-SEARCH (UDP 1900) and UPnP description fetch (HTTP)"

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        """Evidence from search replies, plus each in-scope device's own description."""
        port = ctx.options.port("ssdp")
        # Directed M-SEARCH (UPnP DA 1.1 §1.3.2 allows unicast) reaches routed subnets; replies
        # come back unicast to the asking socket.
        request = udp_discovery.UdpAsk(
            probe=self.name,
            group=SSDP_GROUP,
            port=port,
            listen_s=ctx.options.ssdp_listen_s,
            settle_s=SSDP_SETTLE_S,
            payloads=functools.partial(_msearches, port=port),
        )
        datagrams = await udp_discovery.ask(ctx, request)
        log.debug("ssdp: %d datagrams received", len(datagrams))
        evidence, locations = self._read(ctx, datagrams)
        evidence += await self._fetch_descriptions(ctx, locations)
        return list(dict.fromkeys(evidence))

    def _read(
        self, ctx: ProbeContext, datagrams: Iterable[Datagram]
    ) -> tuple[list[Evidence], list[tuple[Datagram, ssdp_codec.Location]]]:
        evidence: list[Evidence] = []
        locations: list[tuple[Datagram, ssdp_codec.Location]] = []
        for datagram in datagrams:
            try:
                reply = ssdp_codec.parse_search_reply(datagram.payload)
            except DecodeError as exc:
                ctx.log_once("ssdp: ignoring replies from %s that are not SSDP", datagram.sender)
                log.debug("ssdp: %s sent %d bytes: %s", datagram.sender, len(datagram.payload), exc)
                continue
            for channel, header in (("ssdp.server", "SERVER"), ("ssdp.st", "ST")):
                value = reply.header(header)
                if value:
                    evidence.append(
                        Evidence(
                            host=datagram.sender,
                            channel=channel,
                            value=value,
                            probe=self.name,
                            port=datagram.port,
                        )
                    )
            location = _own_location(ctx, datagram, reply.header("LOCATION"))
            if location is not None:
                locations.append((datagram, location))
        return evidence, locations

    async def _fetch_descriptions(
        self, ctx: ProbeContext, locations: list[tuple[Datagram, ssdp_codec.Location]]
    ) -> list[Evidence]:
        wanted = _distinct_locations(locations)
        if not wanted:
            return []
        gate = asyncio.Semaphore(MAX_PARALLEL_FETCHES)
        session = shared_session(ctx)

        async def fetch_gated(location: ssdp_codec.Location) -> Evidence | None:
            async with gate:
                return await self._fetch_one(ctx, session, location)

        found = await asyncio.gather(*(fetch_gated(location) for location in wanted))
        return [item for item in found if item is not None]

    async def _fetch_one(
        self, ctx: ProbeContext, session: aiohttp.ClientSession, location: ssdp_codec.Location
    ) -> Evidence | None:
        reply = await fetch(session, ctx, location.url, headers=IDENTITY_ENCODING, whole_body=True)
        if reply is None or reply.status != 200:
            return None
        try:
            description = ssdp_codec.check_description(reply.body)
        except DecodeError as exc:
            ctx.log_once("ssdp: %s served an unusable description: %s", location.host, exc)
            return None
        return Evidence(
            host=location.host,
            channel="upnp.description",
            value=description,
            probe=self.name,
            port=location.port,
        )


def _own_location(
    ctx: ProbeContext, datagram: Datagram, value: str | None
) -> ssdp_codec.Location | None:
    """The LOCATION, only if it points at the replying host itself and that host is in scope."""
    if not value:
        return None
    try:
        location = ssdp_codec.parse_location(value)
    except DecodeError as exc:
        log.debug("ssdp: %s: LOCATION not fetched: %s", datagram.sender, exc)
        return None
    # NOTE: a reply may name any host; fetching it would let one device aim camaudit elsewhere.
    if location.host != datagram.sender:
        ctx.log_once("ssdp: %s gave a LOCATION on another host; not fetched", datagram.sender)
        return None
    if location.host not in ctx.scope:
        log.debug("ssdp: %s is outside the scope; description not fetched", location.host)
        return None
    return location


def _distinct_locations(
    locations: list[tuple[Datagram, ssdp_codec.Location]],
) -> list[ssdp_codec.Location]:
    per_host: dict[object, list[ssdp_codec.Location]] = {}
    for _datagram, location in locations:
        seen = per_host.setdefault(location.host, [])
        if location not in seen and len(seen) < MAX_LOCATIONS_PER_HOST:
            seen.append(location)
    return [location for seen in per_host.values() for location in seen]


def _msearches(destination: str, port: int) -> list[bytes]:
    """One M-SEARCH per search target to the group; one `ssdp:all` to a target asked directly,
    which draws every search target it has, the root device among them (UPnP DA 1.1 §1.3.2).
    HOST names the group or the target."""
    targets = ssdp_codec.SEARCH_TARGETS if destination == SSDP_GROUP else ("ssdp:all",)
    return [ssdp_codec.build_msearch(target, host=destination, port=port) for target in targets]

"""WS-Discovery probe: ask for ONVIF video transmitters by multicast and directed unicast."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import ClassVar

from camaudit.errors import DecodeError
from camaudit.models import Evidence
from camaudit.net import Datagram
from camaudit.options import WSD_SETTLE_S
from camaudit.probes import udp_discovery, wsd_codec
from camaudit.probes.base import DiscoveryProbe, ProbeContext

log = logging.getLogger(__name__)

WSD_GROUP = "239.255.255.250"  # WS-Discovery 1.1 §2.4 IPv4 multicast group (port is ctx "wsd")


class WsDiscoveryProbe(DiscoveryProbe):
    """Send ONVIF Probes to the group on each interface and to every target; read ProbeMatches."""

    name: ClassVar[str] = "wsdiscovery"
    description: ClassVar[str] = "WS-Discovery Probe (UDP 3702, multicast and unicast)"

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        """Evidence from every ProbeMatch that answers one of our Probes."""
        probes = {wsd_codec.new_message_id(): types for types in wsd_codec.PROBE_TYPES}
        to_group = [
            wsd_codec.build_probe(message_id, types) for message_id, types in probes.items()
        ]
        # NOTE: the group hears only camera-typed Probes, so printers and PCs on the segment stay
        # quiet; a target asked directly gets one untyped Probe, which any device type answers,
        # instead of one per type: half the datagrams against the scan's rate budget.
        untyped_id = wsd_codec.new_message_id()
        to_target = [wsd_codec.build_probe(untyped_id, "")]
        # Directed Probes reach targets behind routers, where multicast (TTL 1) never goes;
        # replies come back unicast to the asking socket.
        request = udp_discovery.UdpAsk(
            probe=self.name,
            group=WSD_GROUP,
            port=ctx.options.port("wsd"),
            listen_s=ctx.options.wsd_listen_s,
            settle_s=WSD_SETTLE_S,
            payloads=lambda destination: to_group if destination == WSD_GROUP else to_target,
        )
        datagrams = await udp_discovery.ask(ctx, request)
        log.debug("wsdiscovery: %d datagrams received", len(datagrams))
        return _dedupe(self._read(ctx, datagrams, relates_to=[*probes, untyped_id]))

    def _read(
        self, ctx: ProbeContext, datagrams: Iterable[Datagram], *, relates_to: Iterable[str]
    ) -> list[Evidence]:
        wanted = frozenset(relates_to)
        evidence: list[Evidence] = []
        for datagram in datagrams:
            try:
                matches = wsd_codec.parse_probe_matches(datagram.payload, relates_to=wanted)
            except DecodeError as exc:
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


def _dedupe(evidence: list[Evidence]) -> list[Evidence]:
    # Devices answer both Probes and once per interface; keep the first of each observation.
    return list(dict.fromkeys(evidence))

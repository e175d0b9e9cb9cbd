"""Hikvision SADP discovery: one XML inquiry per interface (multicast) and per target (unicast)."""

from __future__ import annotations

import logging
import uuid
from typing import ClassVar

from camaudit.errors import DecodeError
from camaudit.models import Evidence
from camaudit.net import Datagram
from camaudit.options import SADP_SETTLE_S
from camaudit.probes import sadp_codec, udp_discovery
from camaudit.probes.base import DiscoveryProbe, ProbeContext

log = logging.getLogger(__name__)

# Hikvision SADP uses the SSDP/WS-Discovery group with its own port (protocols.md §3,
# UniversalScanner Hikvision.cs); devices answer to the group or to the sender, same port.
SADP_GROUP = "239.255.255.250"


class SadpProbe(DiscoveryProbe):
    """Ask Hikvision devices (and Hikvision OEMs) to describe themselves over SADP."""

    name: ClassVar[str] = "sadp"
    description: ClassVar[str] = "Hikvision SADP inquiry, UDP 37020 (multicast + unicast)"

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        """Evidence ("sadp" reply XML, "mac") from every host that sent a ProbeMatch."""
        inquiry = sadp_codec.build_inquiry(uuid.uuid4())
        request = udp_discovery.UdpAsk(
            probe=self.name,
            group=SADP_GROUP,
            port=ctx.options.port("sadp"),
            listen_s=ctx.options.sadp_listen_s,
            settle_s=SADP_SETTLE_S,
            payloads=udp_discovery.same_payloads(inquiry),
            answers_to_group=True,
        )
        evidence: list[Evidence] = []
        for datagram in await udp_discovery.ask(ctx, request):
            if datagram.payload != inquiry:  # our own inquiry, if we are in scope
                evidence += self._read(ctx, datagram)
        return evidence

    def _read(self, ctx: ProbeContext, datagram: Datagram) -> list[Evidence]:
        try:
            reply = sadp_codec.parse_probe_match(datagram.payload)
        except DecodeError as exc:
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

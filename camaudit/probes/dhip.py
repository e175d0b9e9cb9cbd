"""Dahua DHIP discovery: DHDiscover.search to the group, the subnet broadcast and every target."""

from __future__ import annotations

import logging
from typing import ClassVar

from camaudit.errors import DecodeError
from camaudit.models import Evidence
from camaudit.net import Datagram
from camaudit.options import DHIP_SETTLE_S
from camaudit.probes import dhip_codec, udp_discovery
from camaudit.probes.base import DiscoveryProbe, ProbeContext

log = logging.getLogger(__name__)

# Dahua's discovery group; ConfigTool also broadcasts the same datagram (protocols.md §4,
# UniversalScanner Dahua2.cs). Devices answer to the group or to the sender.
DHIP_GROUP = "239.255.255.251"


class DhipProbe(DiscoveryProbe):
    """Ask Dahua devices (and the many Dahua OEM brands) to describe themselves over DHIP."""

    name: ClassVar[str] = "dhip"
    description: ClassVar[str] = "Dahua DHIP search, UDP 37810 (multicast, broadcast, unicast)"

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        """Evidence ("dhip" JSON body, "mac") from every host that sent client.notifyDevInfo."""
        request = udp_discovery.UdpAsk(
            probe=self.name,
            group=DHIP_GROUP,
            port=ctx.options.port("dhip"),
            listen_s=ctx.options.dhip_listen_s,
            settle_s=DHIP_SETTLE_S,
            payloads=udp_discovery.same_payloads(dhip_codec.build_search()),
            answers_to_group=True,
            broadcast=True,
        )
        evidence: list[Evidence] = []
        for datagram in await udp_discovery.ask(ctx, request):
            evidence += self._read(ctx, datagram)
        return evidence

    def _read(self, ctx: ProbeContext, datagram: Datagram) -> list[Evidence]:
        try:
            reply = dhip_codec.parse_reply(datagram.payload)
        except DecodeError as exc:
            ctx.log_once("dhip: ignoring a datagram from %s: %s", datagram.sender, exc)
            return []
        if not reply.is_device_info:
            # Our own search (if we are in scope) or another tool's: not a device speaking.
            log.debug("dhip: ignoring method %r from %s", reply.method, datagram.sender)
            return []
        found = [self._evidence(datagram, "dhip", reply.text)]
        if reply.mac is not None:
            found.append(self._evidence(datagram, "mac", reply.mac))
        return found

    def _evidence(self, datagram: Datagram, channel: str, value: str) -> Evidence:
        return Evidence(
            host=datagram.sender, channel=channel, value=value, probe=self.name, port=datagram.port
        )

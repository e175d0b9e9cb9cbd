"""mDNS / DNS-SD probe: multicast browsing on local interfaces, legacy-unicast queries to targets.

Two ways to ask, both only ever reading names a device advertises:

* multicast (RFC 6762): zeroconf browses camera service types and the service enumeration on the
  interfaces the scan was given, then resolves each instance (SRV, TXT, A);
* legacy unicast (RFC 6762 §5.5, §6.7): a DNS-SD query from an ephemeral port straight to each
  target's UDP 5353 reaches routed subnets multicast cannot; the responder answers unicast to the
  source port. Follow-up SRV/TXT/A questions go only to hosts that answered and are in scope.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import ClassVar

# NOTE: DNSIncoming, DNSOutgoing and the record classes are zeroconf's documented public names,
# but its __all__ leaves them out, hence the ignore.
from zeroconf import (  # type: ignore[attr-defined]
    DNSAddress,
    DNSIncoming,
    DNSOutgoing,
    DNSPointer,
    DNSQuestion,
    DNSService,
    DNSText,
    IPVersion,
    ServiceStateChange,
    const,
)
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from camaudit.models import Evidence
from camaudit.net import Datagram, Lane, ListenWindow, UdpEndpoint
from camaudit.options import MDNS_SETTLE_S, QUIET_S
from camaudit.probes.base import DiscoveryProbe, ProbeContext

log = logging.getLogger(__name__)

SERVICE_ENUMERATION = "_services._dns-sd._udp.local."  # RFC 6763 §9
# Service types cameras and recorders advertise (protocols.md §8): Hikvision _CGI, Axis and
# DoorBird _axis-video, Axis recorders _axis-nvr, Arecont _arec; the generic ones catch the rest.
CAMERA_SERVICE_TYPES: tuple[str, ...] = (
    "_CGI._tcp.local.",
    "_axis-video._tcp.local.",
    "_axis-nvr._tcp.local.",
    "_rtsp._tcp.local.",
    "_http._tcp.local.",
    "_onvif._tcp.local.",
    "_arec._tcp.local.",
    "_hap._tcp.local.",
)
FOLLOW_UP_ROUNDS = 3  # PTR of enumerated types -> SRV/TXT of instances -> A of host names
MAX_NAMES_PER_HOST = 64  # bound on follow-up questions one device can make us ask
MAX_TXT_ITEMS = 64
MAX_TXT_ITEM_CHARS = 1024
MAX_INSTANCES_RESOLVED = 256  # multicast: instances resolved per scan
RESOLVE_TIMEOUT_MS = 1000  # zeroconf's own default for a service info request is 3 s; LANs are fast


@dataclass
class HostRecords:
    """Every DNS-SD record one responder has told us, merged across datagrams."""

    service_types: list[str] = field(default_factory=list)  # from the enumeration PTRs
    instances: dict[str, str] = field(default_factory=dict)  # instance name -> service type
    targets: dict[str, str] = field(default_factory=dict)  # instance name -> SRV target host
    texts: dict[str, list[str]] = field(default_factory=dict)  # instance name -> "k=v" items
    addresses: dict[str, list[IPv4Address]] = field(default_factory=dict)  # host name -> A

    def absorb(self, payload: bytes) -> bool:
        """Merge one datagram; False when it is not a DNS response."""
        incoming = DNSIncoming(payload)
        if not incoming.valid or not incoming.is_response():
            return False
        for record in incoming.answers():
            self._absorb_record(record)
        return True

    def _absorb_record(self, record: object) -> None:
        if isinstance(record, DNSPointer):
            if record.name.lower() == SERVICE_ENUMERATION:
                if len(self.service_types) < MAX_NAMES_PER_HOST:
                    _append_unique(self.service_types, record.alias)
            elif len(self.instances) < MAX_NAMES_PER_HOST:
                self.instances.setdefault(record.alias, record.name)
        elif len(self.targets) + len(self.texts) >= 2 * MAX_NAMES_PER_HOST:
            return  # a flood of records from one device: we have plenty already
        elif isinstance(record, DNSService) and record.server:
            self.targets[record.name] = record.server
        elif isinstance(record, DNSText):
            self.texts[record.name] = txt_items(record.text)
        elif isinstance(record, DNSAddress) and len(record.address) == 4:
            _append_unique(self.addresses.setdefault(record.name, []), IPv4Address(record.address))

    def follow_up_questions(self, asked: set[tuple[str, int]]) -> list[tuple[str, int]]:
        """Questions still worth asking this host (never one asked before), capped."""
        wanted: list[tuple[str, int]] = [(name, const._TYPE_PTR) for name in self.service_types]
        for instance in [*self.instances, *self.targets]:
            if instance not in self.targets:
                wanted.append((instance, const._TYPE_SRV))
            if instance not in self.texts:
                wanted.append((instance, const._TYPE_TXT))
        wanted += [
            (host, const._TYPE_A) for host in self.targets.values() if host not in self.addresses
        ]
        fresh = [question for question in dict.fromkeys(wanted) if question not in asked]
        return fresh[:MAX_NAMES_PER_HOST]


def txt_items(raw: bytes) -> list[str]:
    """TXT rdata (length-prefixed strings, RFC 6763 §6) as "key=value" texts, empty ones dropped."""
    items: list[str] = []
    offset = 0
    while offset < len(raw) and len(items) < MAX_TXT_ITEMS:
        size = raw[offset]
        chunk = raw[offset + 1 : offset + 1 + size]
        offset += 1 + size
        if chunk:
            items.append(chunk.decode("utf-8", errors="replace")[:MAX_TXT_ITEM_CHARS])
    return items


def build_query(questions: Iterable[tuple[str, int]], query_id: int) -> list[bytes]:
    """A legacy-unicast DNS query (QU semantics do not apply: RFC 6762 §6.7 answers to our port)."""
    outgoing = DNSOutgoing(const._FLAGS_QR_QUERY, multicast=False, id_=query_id)
    for name, record_type in questions:
        outgoing.add_question(DNSQuestion(name, record_type, const._CLASS_IN))
    return list(outgoing.packets())


def records_to_evidence(
    records: HostRecords, *, sender: IPv4Address, ctx: ProbeContext, probe: str
) -> list[Evidence]:
    """Evidence for one responder; an instance is filed under its A address when in scope."""
    port = ctx.options.port("mdns")

    def make(host: IPv4Address, channel: str, value: str) -> Evidence:
        return Evidence(host=host, channel=channel, value=value, probe=probe, port=port)

    evidence = [make(sender, "mdns.service", name) for name in records.service_types]
    for instance in dict.fromkeys([*records.instances, *records.targets, *records.texts]):
        target = records.targets.get(instance)
        host = _address_in_scope(records.addresses.get(target or "", []), ctx) or sender
        evidence.append(make(host, "mdns.service", instance))
        if target:
            evidence.append(make(host, "mdns.hostname", target))
        evidence += [make(host, "mdns.txt", item) for item in records.texts.get(instance, [])]
    return evidence


class MdnsProbe(DiscoveryProbe):
    """Finds DNS-SD camera services by multicast browsing and by unicast queries to each target."""

    name: ClassVar[str] = "mdns"
    description: ClassVar[str] = (
        "mDNS/DNS-SD: browse camera service types on local interfaces (224.0.0.251:5353) and "
        "send legacy-unicast queries to each target's UDP 5353"
    )

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        """Evidence from every responder, multicast and unicast together."""
        async with asyncio.TaskGroup() as group:
            unicast = group.create_task(self._unicast(ctx))
            multicast = group.create_task(self._multicast(ctx))
        return list(dict.fromkeys([*unicast.result(), *multicast.result()]))

    async def _unicast(self, ctx: ProbeContext) -> list[Evidence]:
        port = ctx.options.port("mdns")
        first_questions = [(SERVICE_ENUMERATION, const._TYPE_PTR)] + [
            (service, const._TYPE_PTR) for service in CAMERA_SERVICE_TYPES
        ]
        by_host: dict[IPv4Address, HostRecords] = {}
        asked: dict[IPv4Address, set[tuple[str, int]]] = {}
        async with ctx.sockets.udp() as endpoint:
            packets = build_query(first_questions, secrets.randbelow(0x10000))
            window = _window(ctx)
            async for address in ctx.unicast_targets():
                await _send_paced(ctx, endpoint, packets, (str(address), port))
                asked[address] = set(first_questions)
                # The window runs from the last query, not from when the last target was known.
                window.sent()
            if not asked:
                return []
            self._absorb(await endpoint.collect(window=window), by_host, ctx)
            for _round in range(FOLLOW_UP_ROUNDS):
                pending = await self._follow_up(endpoint, by_host, asked, ctx)
                if not pending:
                    break
                await self._collect_from(endpoint, pending, by_host, ctx)
        evidence: list[Evidence] = []
        for sender, records in by_host.items():
            evidence += records_to_evidence(records, sender=sender, ctx=ctx, probe=self.name)
        return evidence

    async def _follow_up(
        self,
        endpoint: UdpEndpoint,
        by_host: dict[IPv4Address, HostRecords],
        asked: dict[IPv4Address, set[tuple[str, int]]],
        ctx: ProbeContext,
    ) -> set[IPv4Address]:
        """Send each in-scope responder the questions its answers raised; who was asked."""
        pending: set[IPv4Address] = set()
        for sender, records in by_host.items():
            if sender not in ctx.scope:
                continue  # NOTE: never send to an address the user did not give us
            questions = records.follow_up_questions(asked.setdefault(sender, set()))
            if not questions:
                continue
            asked[sender].update(questions)
            packets = build_query(questions, secrets.randbelow(0x10000))
            await _send_paced(ctx, endpoint, packets, (str(sender), ctx.options.port("mdns")))
            pending.add(sender)
        return pending

    async def _collect_from(
        self,
        endpoint: UdpEndpoint,
        pending: set[IPv4Address],
        by_host: dict[IPv4Address, HostRecords],
        ctx: ProbeContext,
    ) -> None:
        """Collect until every asked host has answered once, or the listening window ends."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ctx.options.mdns_listen_s
        waiting = set(pending)
        while waiting and (remaining := deadline - loop.time()) > 0:
            replies = await endpoint.collect(for_s=min(remaining, 0.05))
            waiting -= {reply.sender for reply in replies}
            self._absorb(replies, by_host, ctx)
        # Replies split across datagrams may still be in flight; take what is already here.
        self._absorb(endpoint.drain(), by_host, ctx)

    def _absorb(
        self, replies: list[Datagram], by_host: dict[IPv4Address, HostRecords], ctx: ProbeContext
    ) -> None:
        for reply in replies:
            records = by_host.get(reply.sender) or HostRecords()
            if records.absorb(reply.payload):
                by_host[reply.sender] = records
            else:
                ctx.log_once(
                    "mdns: ignoring a datagram that is not a DNS response from %s", reply.sender
                )

    async def _multicast(self, ctx: ProbeContext) -> list[Evidence]:
        addresses = [str(item.address.ip) for item in ctx.interfaces if item.multicast]
        if not addresses or not ctx.options.multicast:
            return []  # NOTE: no interfaces given means unicast only, never "all interfaces"
        try:
            zeroconf = AsyncZeroconf(interfaces=addresses, ip_version=IPVersion.V4Only)
        except OSError as exc:
            ctx.log_once("mdns: cannot listen on UDP 5353 (%s); multicast browsing skipped", exc)
            return []
        try:
            return await self._browse(zeroconf, ctx)
        finally:
            await zeroconf.async_close()

    async def _browse(self, zeroconf: AsyncZeroconf, ctx: ProbeContext) -> list[Evidence]:
        found: dict[str, str] = {}  # instance name -> service type

        window = _window(ctx)

        def on_change(
            zeroconf: object, service_type: str, name: str, state_change: ServiceStateChange
        ) -> None:
            if (
                state_change is not ServiceStateChange.Removed
                and len(found) < MAX_INSTANCES_RESOLVED
            ):
                found.setdefault(name, service_type)
                window.heard()

        browser = AsyncServiceBrowser(
            zeroconf.zeroconf, [SERVICE_ENUMERATION, *CAMERA_SERVICE_TYPES], handlers=[on_change]
        )
        try:
            await window.wait()
        finally:
            await browser.async_cancel()
        infos = [
            AsyncServiceInfo(service_type, name)
            for name, service_type in found.items()
            if service_type != SERVICE_ENUMERATION
        ]
        await asyncio.gather(
            *(info.async_request(zeroconf.zeroconf, RESOLVE_TIMEOUT_MS) for info in infos)
        )
        evidence: list[Evidence] = []
        for info in infos:
            evidence += self._info_evidence(info, ctx)
        return evidence

    def _info_evidence(self, info: AsyncServiceInfo, ctx: ProbeContext) -> list[Evidence]:
        addresses = [IPv4Address(text) for text in info.parsed_addresses(IPVersion.V4Only)]
        if not addresses:
            return []  # nothing says which host it is
        host = _address_in_scope(addresses, ctx) or addresses[0]
        port = ctx.options.port("mdns")
        values = [("mdns.service", info.name)]
        if info.server:
            values.append(("mdns.hostname", info.server))
        values += [("mdns.txt", item) for item in txt_items(info.text or b"")]
        return [
            Evidence(host=host, channel=channel, value=value, probe=self.name, port=port)
            for channel, value in values
        ]


def _window(ctx: ProbeContext) -> ListenWindow:
    return ListenWindow(ctx.options.mdns_listen_s, settle_s=MDNS_SETTLE_S, quiet_s=QUIET_S)


async def _send_paced(
    ctx: ProbeContext, endpoint: UdpEndpoint, packets: Iterable[bytes], address: tuple[str, int]
) -> None:
    # A long question list spans several datagrams; the scan's rate limit counts each one.
    for packet in packets:
        await ctx.limiter.acquire(Lane.DISCOVERY)
        endpoint.send(packet, address)


def _address_in_scope(addresses: Iterable[IPv4Address], ctx: ProbeContext) -> IPv4Address | None:
    return next((address for address in addresses if address in ctx.scope), None)


def _append_unique(items: list[IPv4Address] | list[str], item: object) -> None:
    if item not in items:
        items.append(item)  # type: ignore[arg-type]

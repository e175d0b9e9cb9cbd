"""MdnsProbe: TXT decoding, fuzzing, legacy-unicast round trips on loopback, multicast in netns."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from zeroconf import DNSAddress, DNSPointer, DNSService, DNSText, const

from camaudit.models import Evidence
from camaudit.net import Lane, RateLimiter
from camaudit.probes.mdns import (
    CAMERA_SERVICE_TYPES,
    SERVICE_ENUMERATION,
    HostRecords,
    MdnsProbe,
    build_query,
    txt_items,
)
from camlab.control import UpResult
from camlab.replay import MdnsUnicastResponder
from camlab.topology import ns_scanner
from tests.conftest import Namespaces
from tests.probes.kit import DATA, loopback_context

HIK = json.loads((DATA / "mdns" / "hikvision_cgi.json").read_text())
TTL = 120


def values(evidence: list[Evidence], channel: str) -> list[str]:
    """Values of one channel, in order."""
    return [item.value for item in evidence if item.channel == channel]


def hikvision_records(address: str) -> dict[tuple[str, int], list]:  # type: ignore[type-arg]
    """The records a Hikvision camera answers with, one question at a time."""
    instance, target = HIK["instance"], HIK["srv_target"]
    txt = b"".join(bytes([len(item)]) + item.encode() for item in HIK["txt"])
    return {
        (SERVICE_ENUMERATION, const._TYPE_PTR): [
            DNSPointer(
                SERVICE_ENUMERATION, const._TYPE_PTR, const._CLASS_IN, TTL, HIK["service_type"]
            )
        ],
        (HIK["service_type"], const._TYPE_PTR): [
            DNSPointer(HIK["service_type"], const._TYPE_PTR, const._CLASS_IN, TTL, instance)
        ],
        (instance, const._TYPE_SRV): [
            DNSService(
                instance, const._TYPE_SRV, const._CLASS_IN, TTL, 0, 0, HIK["srv_port"], target
            )
        ],
        (instance, const._TYPE_TXT): [
            DNSText(instance, const._TYPE_TXT, const._CLASS_IN, TTL, txt)
        ],
        (target, const._TYPE_A): [
            DNSAddress(target, const._TYPE_A, const._CLASS_IN, TTL, socket.inet_aton(address))
        ],
    }


class CountingLimiter(RateLimiter):
    """A generous rate limiter that counts the tokens taken."""

    def __init__(self) -> None:
        super().__init__(100_000.0)
        self.acquired = 0

    async def acquire(self, lane: Lane = Lane.HOST) -> None:
        self.acquired += 1
        await super().acquire(lane)


class TestCodec:
    def test_txt_items(self) -> None:
        """Length-prefixed strings become texts; empty strings are dropped."""
        assert txt_items(b"\x06path=/\x00\x0bmacaddress=") == ["path=/", "macaddress="]

    def test_query_round_trips_through_zeroconf(self) -> None:
        """The built query carries our id and every question, as a query."""
        from zeroconf import DNSIncoming

        packets = build_query([(SERVICE_ENUMERATION, const._TYPE_PTR)], 4242)
        incoming = DNSIncoming(packets[0])
        assert incoming.is_query()
        assert incoming.id == 4242
        assert [(q.name, q.type) for q in incoming.questions] == [
            (SERVICE_ENUMERATION, const._TYPE_PTR)
        ]

    @given(st.binary(max_size=512))
    def test_fuzz_txt(self, raw: bytes) -> None:
        """Any TXT rdata decodes without error, within the caps."""
        items = txt_items(raw)
        assert all(item for item in items)

    @given(st.binary(max_size=1500))
    def test_fuzz_datagram(self, payload: bytes) -> None:
        """Random datagrams are absorbed or refused, never raise."""
        records = HostRecords()
        records.absorb(payload)
        assert len(records.instances) <= 64


class TestUnicast:
    async def test_hikvision_is_resolved_through_follow_ups(self) -> None:
        """Enumeration → PTR → SRV/TXT → A, each asked unicast, gives the documented values."""
        responder = MdnsUnicastResponder(records=hikvision_records("127.0.0.1"))
        async with responder:
            ctx = loopback_context(ports={"mdns": responder.port})
            evidence = await MdnsProbe().discover(ctx)
        assert values(evidence, "mdns.service") == [HIK["service_type"], HIK["instance"]]
        assert values(evidence, "mdns.hostname") == [HIK["srv_target"]]
        assert values(evidence, "mdns.txt") == ["path=/"]
        assert {item.host for item in evidence} == {IPv4Address("127.0.0.1")}
        assert {item.port for item in evidence} == {responder.port}
        # The first datagram asked the enumeration and every camera type at once.
        first = responder.questions[: 1 + len(CAMERA_SERVICE_TYPES)]
        assert first[0] == (SERVICE_ENUMERATION, const._TYPE_PTR)
        assert (HIK["srv_target"], const._TYPE_A) in responder.questions
        # Legacy unicast: asked from an ephemeral port, never 5353.
        assert all(port != 5353 for _host, port in responder.senders)

    async def test_every_query_datagram_waits_for_the_rate_limiter(self) -> None:
        """Follow-ups too long for one datagram take one rate-limit token per datagram."""
        service = HIK["service_type"]
        instances = [f"{'c' * 60}{n:03d}.{'d' * 60}.{service}" for n in range(64)]
        records = {
            (service, const._TYPE_PTR): [
                DNSPointer(service, const._TYPE_PTR, const._CLASS_IN, TTL, name)
                for name in instances
            ]
        }
        responder = MdnsUnicastResponder(records=records)
        async with responder:
            ctx = loopback_context(ports={"mdns": responder.port})
            limiter = CountingLimiter()
            ctx.limiter = limiter
            await MdnsProbe().discover(ctx)
        assert len(responder.senders) > 2  # the follow-up needed more than one datagram
        assert limiter.acquired >= len(responder.senders)

    async def test_answers_in_additional_section_need_no_follow_up(self) -> None:
        """A responder that sends SRV/TXT/A with the PTR answer is not asked again for them."""
        records = hikvision_records("127.0.0.1")
        ptr_key = (HIK["service_type"], const._TYPE_PTR)
        extra = [
            record
            for key, found in records.items()
            if key[1] in (const._TYPE_SRV, const._TYPE_TXT, const._TYPE_A)
            for record in found
        ]
        responder = MdnsUnicastResponder(
            records={ptr_key: records[ptr_key]}, additionals={ptr_key: extra}
        )
        async with responder:
            ctx = loopback_context(ports={"mdns": responder.port})
            evidence = await MdnsProbe().discover(ctx)
        assert values(evidence, "mdns.hostname") == [HIK["srv_target"]]
        assert not any(kind == const._TYPE_SRV for _name, kind in responder.questions)

    async def test_a_record_out_of_scope_files_under_sender(self) -> None:
        """An A address outside the scope is not used as the host; the sender is."""
        responder = MdnsUnicastResponder(records=hikvision_records("198.51.100.20"))
        async with responder:
            ctx = loopback_context(ports={"mdns": responder.port})
            evidence = await MdnsProbe().discover(ctx)
        assert {item.host for item in evidence} == {IPv4Address("127.0.0.1")}
        assert HIK["instance"] in values(evidence, "mdns.service")

    async def test_silent_target_gives_nothing(self) -> None:
        """No responder: the probe listens for the window and returns nothing."""
        responder = MdnsUnicastResponder()
        async with responder:
            ctx = loopback_context(ports={"mdns": responder.port})
            async with asyncio.timeout(10):  # hang guard, not a benchmark
                assert await MdnsProbe().discover(ctx) == []
        assert responder.senders  # it was asked

    async def test_garbage_reply_gives_nothing(self) -> None:
        """A datagram that is not DNS is ignored."""
        responder = MdnsUnicastResponder(raw_reply=b"\xff" * 40)
        async with responder:
            ctx = loopback_context(ports={"mdns": responder.port})
            assert await MdnsProbe().discover(ctx) == []

    async def test_no_multicast_without_interfaces(self) -> None:
        """With ctx.interfaces empty only the unicast path runs (zeroconf is never started)."""
        ctx = loopback_context(ports={"mdns": 9}, address="127.0.0.1")
        probe = MdnsProbe()
        assert await probe._multicast(ctx) == []


# --- multicast browsing, only inside the namespaces of a camlab site (the suite's one fixture) ---

# The camera is camlab's: its persona of this model (the capture's names) on a one-device site.
MDNS_SITE = """
name = "mdns"

[[subnet]]
name = "lan"
cidr = "198.51.100.0/24"

[[device]]
persona = "hikvision-ds-2cd2722fwd-izs"
subnet = "lan"
host = 10
channels = ["mdns"]
"""

SCANNER_SCRIPT = """
import asyncio, json
from ipaddress import IPv4Interface, IPv4Network
from camaudit.net import Interface
from camaudit.options import ScanOptions
from camaudit.probes.base import ProbeContext
from camaudit.probes.mdns import MdnsProbe
from camaudit.targets import Scope

async def main():
    ctx = ProbeContext(
        options=ScanOptions(mdns_listen_s=1.0),
        scope=Scope(networks=(IPv4Network("198.51.100.10/32"),)),
        interfaces=(Interface("{iface}", IPv4Interface("{address}/24"), True),),
    )
    async def nowhere():
        return
        yield
    ctx.unicast_targets = nowhere  # multicast path only
    evidence = await MdnsProbe().discover(ctx)
    print(json.dumps([[str(e.host), e.channel, e.value] for e in evidence]))

asyncio.run(main())
"""


@pytest.fixture
def mdns_site(namespaces: Namespaces, tmp_path: Path) -> Iterator[UpResult]:
    """camlab's namespaces: the scanner and one camera answering mDNS, no link to the host."""
    site_file = tmp_path / "mdns.toml"
    site_file.write_text(MDNS_SITE, encoding="utf-8")
    with namespaces.site(site_file) as lab:
        yield lab


@pytest.mark.netns
def test_multicast_browse_finds_hikvision_in_namespace(mdns_site: UpResult) -> None:
    """zeroconf browsing on the given interface finds and resolves a _CGI._tcp camera."""
    script = SCANNER_SCRIPT.replace("{iface}", "eth0").replace(
        "{address}", str(mdns_site.site.scanner_ip)
    )
    result = subprocess.run(
        ["ip", "netns", "exec", ns_scanner(mdns_site.labid), sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert ["198.51.100.10", "mdns.service", HIK["instance"]] in found
    assert ["198.51.100.10", "mdns.hostname", HIK["srv_target"]] in found
    assert ["198.51.100.10", "mdns.txt", "path=/"] in found

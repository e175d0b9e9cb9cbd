"""The scanner on loopback: real responders, real sockets, one broken probe never ends a scan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from ipaddress import IPv4Address
from typing import ClassVar

from blockbuster import blockbuster_ctx

from camaudit.errors import ProbeError, ProbeUnavailable
from camaudit.identify.loader import load_database
from camaudit.identify.policy import load_policy
from camaudit.models import Evidence, ProbeStatus
from camaudit.options import ScanOptions
from camaudit.probes import ALL_PROBES
from camaudit.probes.base import DiscoveryProbe, HostProbe, HostTarget, ProbeContext
from camaudit.probes.http_banner import HttpBannerProbe
from camaudit.scanner import Scanner
from camaudit.targets import build_scope
from camlab.loopback import device, serving

CAMERA = "127.0.0.61"
CAMERA_PERSONA = "hikvision-ds-2cd2722fwd-izs"
OUTSIDER = IPv4Address("127.0.0.99")


@contextlib.asynccontextmanager
async def camera_web() -> AsyncIterator[int]:
    """An embedded camera web server on CAMERA (camlab's older Hikvision firmware persona:
    a 302 with Server DNVRS-Webs), HTTP only; yields its port."""
    async with serving([device(CAMERA_PERSONA, CAMERA, channels={"http"})]) as site:
        yield site.devices[0].bound[("tcp", 80)]


def scanner_for(
    port: int, probes: list[DiscoveryProbe | HostProbe], **overrides: object
) -> Scanner:
    settings: dict[str, object] = {"probe_timeout_s": 2.0, **overrides}
    options = ScanOptions(tcp_ports=(port,), http_ports=(port,), https_ports=(), **settings)  # type: ignore[arg-type]
    return Scanner(
        build_scope([CAMERA]),
        options,
        database=load_database(),
        policy=load_policy("uk-2022"),
        interfaces=(),
        probes=probes,
    )


class Explodes(HostProbe):
    name: ClassVar[str] = "explodes"

    async def probe(self, host: HostTarget, ctx: ProbeContext) -> list[Evidence]:
        raise ProbeError("explodes: the device hung up")


class Hangs(HostProbe):
    name: ClassVar[str] = "hangs"

    async def probe(self, host: HostTarget, ctx: ProbeContext) -> list[Evidence]:
        await asyncio.sleep(60)
        return []


class NeedsRoot(DiscoveryProbe):
    name: ClassVar[str] = "needs_root"

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        raise ProbeUnavailable("needs_root: run as root")


class HearsAnOutsider(DiscoveryProbe):
    """Reports a reply from an address outside the scope, as multicast answers can be."""

    name: ClassVar[str] = "outsider"

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        return [Evidence(host=OUTSIDER, channel="http.server", value="DNVRS-Webs", probe=self.name)]


class RecordsHosts(HostProbe):
    name: ClassVar[str] = "records"
    seen: ClassVar[list[IPv4Address]] = []

    async def probe(self, host: HostTarget, ctx: ProbeContext) -> list[Evidence]:
        self.seen.append(host.ip)
        return []


async def test_a_hikvision_web_server_on_loopback_is_found_and_flagged() -> None:
    """Sweep finds the open port, the banner probe reads the Server header, policy flags it."""
    async with camera_web() as port:
        result = await scanner_for(port, [HttpBannerProbe()]).run()
    (device,) = result.devices
    assert (str(device.ip), device.maker, device.flagged) == (CAMERA, "hikvision", True)
    assert {item.channel for item in device.evidence} >= {"tcp.open", "http.server"}
    outcomes = {outcome.probe: outcome.status for outcome in result.probes}
    assert outcomes == {"tcp": ProbeStatus.OK, "http_banner": ProbeStatus.OK}
    assert not result.interrupted


async def test_failing_hanging_and_unavailable_probes_are_reported_not_fatal() -> None:
    """Each broken probe becomes a failed/skipped outcome; the working probe's device is there."""
    async with camera_web() as port:
        result = await scanner_for(
            port,
            [NeedsRoot(), HttpBannerProbe(), Explodes(), Hangs()],
        ).run()
    outcomes = {outcome.probe: outcome for outcome in result.probes}
    assert outcomes["needs_root"].status is ProbeStatus.SKIPPED
    assert "run as root" in outcomes["needs_root"].detail
    assert outcomes["explodes"].status is ProbeStatus.FAILED
    assert "hung up" in outcomes["explodes"].detail
    assert outcomes["hangs"].status is ProbeStatus.FAILED
    assert outcomes["http_banner"].status is ProbeStatus.OK
    assert [device.maker for device in result.devices] == ["hikvision"]


async def test_hosts_heard_from_outside_the_scope_are_recorded_but_never_probed() -> None:
    """An out-of-scope reply shows up as a device with in_scope false, and no host probe asks it."""
    RecordsHosts.seen.clear()
    async with camera_web() as port:
        result = await scanner_for(port, [HearsAnOutsider(), RecordsHosts()]).run()
    outsider = next(device for device in result.devices if device.ip == OUTSIDER)
    assert outsider.in_scope is False
    assert RecordsHosts.seen == [IPv4Address(CAMERA)]


async def test_a_cancelled_scan_returns_what_it_found_marked_interrupted() -> None:
    """Ctrl-C (cancellation) during host probes still yields the sweep's evidence."""
    async with camera_web() as port:
        scanner = scanner_for(port, [Hangs()], probe_timeout_s=30.0)
        task = asyncio.ensure_future(scanner.run())
        await asyncio.sleep(0.5)
        task.cancel()
        result = await task
    assert result.interrupted
    assert [str(device.ip) for device in result.devices] == [CAMERA]


class HearsAMac(DiscoveryProbe):
    """A MAC for the camera, so identification has to read the IEEE registry during the scan."""

    name: ClassVar[str] = "hears_mac"

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        return [
            Evidence(
                host=IPv4Address(CAMERA), channel="mac", value="58:50:ed:00:00:01", probe=self.name
            )
        ]


async def test_a_scan_with_every_probe_never_blocks_the_event_loop() -> None:
    """blockbuster raises on any blocking call (file, socket, sleep) made on the loop's thread."""
    short = {f"{name}_listen_s": 0.3 for name in ("wsd", "ssdp", "sadp", "dhip", "mdns", "arp")}
    async with camera_web() as port:
        scanner = scanner_for(port, [probe() for probe in ALL_PROBES] + [HearsAMac()], **short)
        with blockbuster_ctx():
            result = await scanner.run()
    assert {outcome.probe for outcome in result.probes} >= {"http_banner", "sadp", "arp"}
    assert all(outcome.status is not ProbeStatus.FAILED for outcome in result.probes)
    assert [(str(d.ip), d.maker) for d in result.devices] == [(CAMERA, "hikvision")]


class HasABug(HostProbe):
    """A probe with a programming error: it must cost only itself, not the scan."""

    name: ClassVar[str] = "has_a_bug"

    async def probe(self, host: HostTarget, ctx: ProbeContext) -> list[Evidence]:
        raise ValueError("filedescriptor out of range in select()")


async def test_a_bug_in_one_probe_is_reported_and_the_scan_goes_on() -> None:
    """An unexpected exception becomes a failed outcome naming it; other probes' results stay."""
    async with camera_web() as port:
        result = await scanner_for(port, [HasABug(), HttpBannerProbe()]).run()
    outcomes = {outcome.probe: outcome for outcome in result.probes}
    assert outcomes["has_a_bug"].status is ProbeStatus.FAILED
    assert "internal error (ValueError" in outcomes["has_a_bug"].detail
    assert [device.maker for device in result.devices] == ["hikvision"]

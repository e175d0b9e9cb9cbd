"""The scanner's one path for a partial result: a deadline or a cancel ends probing, and what
was heard so far is judged and handed back marked interrupted.

The scope is empty and no interface is given, so nothing is sent anywhere: the evidence comes
from in-process probes, which is all this path needs.
"""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address
from typing import ClassVar

from camaudit.identify.loader import load_database
from camaudit.identify.policy import load_policy
from camaudit.models import Evidence, ProbeStatus
from camaudit.options import ScanOptions
from camaudit.probes.base import DiscoveryProbe, HostProbe, ProbeContext
from camaudit.scanner import Scanner
from camaudit.targets import Scope

HEARD = IPv4Address("198.51.100.7")  # documentation range (RFC 5737): never contacted


class HearsAHikvisionBanner(DiscoveryProbe):
    """Hands in one piece of evidence at once, as a fast multicast reply would."""

    name: ClassVar[str] = "hears"

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        return [Evidence(host=HEARD, channel="http.server", value="DNVRS-Webs", probe=self.name)]


class NeverAnswers(DiscoveryProbe):
    """Waits far past any deadline the test sets."""

    name: ClassVar[str] = "never"

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        await asyncio.sleep(60)
        return []


def silent_scanner() -> Scanner:
    probes: list[DiscoveryProbe | HostProbe] = [HearsAHikvisionBanner(), NeverAnswers()]
    return Scanner(
        Scope(networks=()),
        ScanOptions(probe_timeout_s=30.0, multicast=False),
        database=load_database(),
        policy=load_policy("uk-2022"),
        interfaces=(),
        probes=probes,
    )


async def test_a_scan_past_its_deadline_returns_what_it_heard_marked_interrupted() -> None:
    """The deadline stops the hanging probe; the evidence already in is judged and flagged."""
    result = await silent_scanner().run(deadline_s=0.5)
    assert result.interrupted
    (device,) = result.devices
    assert (device.ip, device.maker, device.flagged) == (HEARD, "hikvision", True)
    assert device.in_scope is False  # heard, never probed: the scope is empty
    outcomes = {outcome.probe: outcome for outcome in result.probes}
    assert outcomes["hears"].status is ProbeStatus.OK
    assert outcomes["hears"].evidence_count == 1


async def test_a_cancelled_scan_returns_through_the_same_path() -> None:
    """Cancelling (what Ctrl-C does) gives the same partial, judged result as the deadline."""
    task = asyncio.ensure_future(silent_scanner().run())
    await asyncio.sleep(0.5)
    task.cancel()
    result = await task
    assert result.interrupted
    assert [(d.ip, d.maker, d.flagged) for d in result.devices] == [(HEARD, "hikvision", True)]


async def test_a_scan_that_finishes_in_time_is_not_interrupted() -> None:
    """A deadline the scan does not reach changes nothing."""
    scanner = silent_scanner()
    scanner.probes = [HearsAHikvisionBanner()]
    result = await scanner.run(deadline_s=30.0)
    assert not result.interrupted
    assert [d.ip for d in result.devices] == [HEARD]


async def test_ctrl_c_pressed_again_and_again_never_loses_the_result() -> None:
    """Cancels that keep arriving while the scan closes and judges still end in the result."""
    task = asyncio.ensure_future(silent_scanner().run())
    await asyncio.sleep(0.5)
    while not task.done():
        task.cancel()
        await asyncio.sleep(0.001)
    result = task.result()
    assert result.interrupted
    assert [(d.ip, d.maker, d.flagged) for d in result.devices] == [(HEARD, "hikvision", True)]

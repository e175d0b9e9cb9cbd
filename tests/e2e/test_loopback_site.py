"""End to end without root: `camaudit scan` against the self-test site served on loopback.

camlab serves the site's devices on 127.0.0.10 upwards, every channel on a kernel-picked port
(so parallel runs never clash); the scan is unicast only (--no-multicast, no ARP) and its
targets are those loopback addresses alone, so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from camaudit.targets import build_scope
from camlab.loopback import LoopbackSite, serving, site_instances
from tests.e2e.conftest import static_site

SITE = static_site()
INSTANCES = site_instances(SITE)
OUTSIDER = INSTANCES[-1]  # the site's out-of-scope device (host 200) is its last
IN_SCOPE = INSTANCES[:-1]
FAST = ("--listen", "0.3", "--timeout", "2", "--rate", "5000")
# Persona channel -> probes whose evidence shows the scanner heard it. Not here: ARP (link
# layer, root) and the bare open ports of [tcp] (the sweep asks the usual port numbers only).
CHANNEL_PROBES: dict[str, set[str]] = {
    "http": {"http_banner", "vendor_http"},
    "https": {"http_banner", "vendor_http"},
    "rtsp": {"rtsp"},
    "wsdiscovery": {"wsdiscovery"},
    "onvif": {"onvif"},
    "sadp": {"sadp"},
    "dhip": {"dhip"},
    "ssdp": {"ssdp"},
    "mdns": {"mdns"},
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scanned(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Scanned]:
    """One scan of the loopback site (all but its last device), as a separate process."""
    output = tmp_path_factory.mktemp("loopback") / "scan.json"
    async with serving(INSTANCES) as site:
        command = [
            sys.executable, "-m", "camaudit", "scan", *site.targets()[:-1],
            "--no-multicast", "--skip-probe", "arp", *site.scan_options(), *FAST,
            "--format", "json", "-o", str(output),
        ]  # fmt: skip
        process = await asyncio.create_subprocess_exec(*command, stderr=asyncio.subprocess.PIPE)
        try:
            async with asyncio.timeout(120):
                _, stderr = await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        assert process.returncode == 0, stderr.decode(errors="replace")[-3000:]
        yield Scanned(site=site, report=json.loads(output.read_text(encoding="utf-8")))


class Scanned:
    """The served site and the scan's JSON report."""

    def __init__(self, site: LoopbackSite, report: dict[str, Any]) -> None:
        self.site = site
        self.report = report

    def device(self, ip: object) -> dict[str, Any] | None:
        return next((d for d in self.report["devices"] if d["ip"] == str(ip)), None)


CASES = [
    (instance, channel)
    for instance in IN_SCOPE
    for channel in sorted(instance.channels & instance.persona.speaks())
    if channel in CHANNEL_PROBES
]


@pytest.mark.parametrize(
    ("instance", "channel"), CASES, ids=[f"{i.ip}-{i.persona.id}-{c}" for i, c in CASES]
)
def test_each_unicast_channel_of_each_device_yields_evidence(
    scanned: Scanned, instance: Any, channel: str
) -> None:
    """Every channel a device speaks is heard by the probe that asks it, by unicast alone."""
    found = scanned.device(instance.ip)
    assert found is not None, f"{instance.ip} ({instance.persona.id}) not found at all"
    probes = {item["probe"] for item in found["evidence"]}
    assert probes & CHANNEL_PROBES[channel], f"no {channel} evidence: {sorted(probes)}"


WHOLE = [i for i in IN_SCOPE if i.channels >= i.persona.speaks()]


@pytest.mark.parametrize("instance", WHOLE, ids=[f"{i.ip}-{i.persona.id}" for i in WHOLE])
def test_each_full_device_is_judged_as_its_persona_says(scanned: Scanned, instance: Any) -> None:
    """Maker, brand and flag match the persona's ground truth (the Lorex-labelled Dahua too)."""
    found = scanned.device(instance.ip)
    assert found is not None
    expect = instance.persona.expect
    # The brand's case is the device's own (Axis writes AXIS in its UPnP description).
    assert (found["maker"], (found["brand"] or "").lower(), found["flagged"]) == (
        expect.maker,
        expect.brand.lower(),
        expect.flagged,
    )


def test_the_out_of_scope_device_is_never_asked_anything(scanned: Scanned) -> None:
    """The device left out of the targets received no connection and no datagram."""
    assert scanned.site.asked(OUTSIDER.ip) == []
    assert scanned.device(OUTSIDER.ip) is None
    assert all(scanned.site.asked(i.ip) for i in IN_SCOPE)


def test_every_probe_but_arp_ran_and_none_failed(scanned: Scanned) -> None:
    """The unicast scan ran each probe to the end."""
    outcomes = {p["name"]: p["status"] for p in scanned.report["probes"]}
    assert "arp" not in outcomes
    assert set(outcomes) >= set(CHANNEL_PROBES["http"]) | {"rtsp", "onvif", "sadp", "dhip"}
    assert set(outcomes.values()) == {"ok"}, outcomes


def test_the_report_names_only_loopback_addresses(scanned: Scanned) -> None:
    """Nothing outside the served loopback range appears in the report."""
    assert {d["ip"] for d in scanned.report["devices"]} <= {str(i.ip) for i in IN_SCOPE}


def test_a_range_target_covers_every_address_in_it() -> None:
    """127.0.0.10-16 is seven addresses; the scan of a range must ask each of them."""
    addresses = [str(a) for a in build_scope(["127.0.0.10-127.0.0.16"]).addresses()]
    assert addresses == [f"127.0.0.{n}" for n in range(10, 17)]

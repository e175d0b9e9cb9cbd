"""An unprivileged unicast scan of the simulated site with resource, fcntl, termios and
socket.AF_PACKET unavailable (as on Windows): it runs, and finds what a normal run finds.

Collected only inside the private namespace (tests/test_private_netns.py): the site is served
on 127.0.0.x by the lab's loopback mode, every device on the same kernel-chosen ports.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest

from camlab.loopback import LoopbackSite, serving, site_instances
from camlab.serve_discovery import UDP_CHANNELS
from camlab.site import load_site, site_path
from tests.platforms.without_linux import run_camaudit_async

pytestmark = pytest.mark.slow

FIRST = IPv4Address("127.0.0.150")
FAST = ("--listen", "1", "--timeout", "2", "--rate", "5000")


@pytest.fixture
async def site() -> AsyncIterator[LoopbackSite]:
    """The default site's devices on 127.0.0.150 onwards (unicast replies to loopback only)."""
    async with serving(site_instances(load_site(site_path("default")), FIRST)) as served:
        yield served


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder the scans write their reports into (root without capabilities owns it)."""
    path = Path(tempfile.mkdtemp(prefix="camaudit-laptop-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def real(site: LoopbackSite, proto: str, port: int) -> int:
    """Where the site serves a persona port (every device on the same number)."""
    number = site.ports.real(proto, port)
    assert number is not None, f"no device of the site serves {proto} {port}"
    return number


def scan_args(site: LoopbackSite, output: Path, *extra: str) -> list[str]:
    udp = [f"{name}={real(site, proto, port)}" for name, proto, port in
           (("wsd", "udp", 3702), ("ssdp", "udp", 1900), ("mdns", "udp", 5353),
            ("sadp", "udp", 37020), ("dhip", "udp", 37810), ("rtsp", "tcp", 554))]  # fmt: skip
    args = ["scan", f"{site.first}-{site.last}", "--no-multicast", *FAST, "-f", "json"]
    args += ["-o", str(output)]
    for item in udp:
        args += ["--port", item]
    args += ["--http-port", str(real(site, "tcp", 80)), "--https-port", str(real(site, "tcp", 443))]
    return [*args, *extra]


def verdicts(scan: dict[str, Any]) -> dict[str, tuple[str | None, bool]]:
    return {d["ip"]: (d["maker"], d["flagged"]) for d in scan["devices"]}


async def test_a_unicast_scan_without_linux_modules_finds_what_a_normal_one_finds(
    site: LoopbackSite, shared_dir: Path
) -> None:
    """Same devices, makers and flags with and without the Linux-only modules; no device is
    flagged that its persona says is not; every probe is accounted for in the outcomes."""
    blocked_out, normal_out = shared_dir / "blocked.json", shared_dir / "normal.json"
    blocked = await run_camaudit_async(*scan_args(site, blocked_out))
    assert blocked.returncode == 0, blocked.stderr[-3000:]
    normal = await run_camaudit_async(*scan_args(site, normal_out), blocked=False)
    assert normal.returncode == 0, normal.stderr[-3000:]
    without, with_ = (json.loads(p.read_text()) for p in (blocked_out, normal_out))
    assert verdicts(without) == verdicts(with_)
    truth = {str(d.instance.ip): d.instance.persona.expect for d in site.devices}
    flagged = [ip for ip, (_maker, flag) in verdicts(without).items() if flag]
    assert flagged, "a unicast scan of the default site flags its Hikvision and Dahua units"
    assert all(truth[ip].flagged for ip in flagged), "nothing is flagged that should not be"
    outcomes = {o["name"]: o["status"] for o in without["probes"]}
    assert set(outcomes) == {
        "wsdiscovery", "mdns", "ssdp", "sadp", "dhip", "arp", "tcp",
        "http_banner", "vendor_http", "rtsp", "onvif", "recorder_channels",
    }  # fmt: skip


async def test_the_scans_run_without_any_capability() -> None:
    """The scans here run with no effective capability (as root, all are dropped): nothing in
    a unicast scan needs one."""
    probe = await run_camaudit_async(
        "--python",
        "print(next(l for l in open('/proc/self/status') if l.startswith('CapEff')).split()[1])",
    )
    assert probe.returncode == 0, probe.stderr
    assert int(probe.stdout.strip(), 16) == 0


async def test_skip_probe_tcp_sends_no_connection(site: LoopbackSite, shared_dir: Path) -> None:
    """--skip-probe tcp: no sweep, so a device that no UDP discovery heard from gets no TCP
    connection at all, and there is no tcp outcome; without it, those of them listening on a
    swept port are connected to (the control that shows the check can fail)."""
    silent = {
        device.number
        for device in site.devices
        if not UDP_CHANNELS.keys() & (device.instance.channels & set(device.persona))
    }
    swept = {
        device.number
        for device in site.devices
        if device.number in silent and {("tcp", 80), ("tcp", 443), ("tcp", 554)} & set(device.bound)
    }
    assert swept, "the default site has web devices that answer no UDP discovery"

    def contacted() -> set[int]:
        return {r["device"] for r in site.requests.records if r["channel"] not in UDP_CHANNELS}

    output = shared_dir / "no-tcp.json"
    done = await run_camaudit_async(*scan_args(site, output, "--skip-probe", "tcp"))
    assert done.returncode == 0, done.stderr[-3000:]
    scan = json.loads(output.read_text())
    assert "tcp" not in {o["name"] for o in scan["probes"]}
    assert contacted() & silent == set()
    control = await run_camaudit_async(*scan_args(site, shared_dir / "with-tcp.json"))
    assert control.returncode == 0, control.stderr[-3000:]
    assert contacted() & silent == swept


@pytest.fixture
def on_link_pair() -> Iterator[str]:
    """A veth pair inside the private namespace: 198.51.100.1/24 on l15a (no link anywhere)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 inside the private namespace")
    commands = [
        ["ip", "link", "add", "l15a", "type", "veth", "peer", "name", "l15b"],
        ["ip", "addr", "add", "198.51.100.1/24", "dev", "l15a"],
        ["ip", "link", "set", "l15a", "up"],
        ["ip", "link", "set", "l15b", "up"],
    ]
    try:
        for command in commands:
            subprocess.run(command, check=True, capture_output=True, timeout=10)
        yield "l15a"
    finally:
        subprocess.run(["ip", "link", "del", "l15a"], capture_output=True, timeout=10)


async def test_arp_says_why_it_cannot_sweep_without_packet_sockets(
    on_link_pair: str, shared_dir: Path
) -> None:
    """An on-link target, no AF_PACKET: the ARP probe is SKIPPED and says why."""
    output = shared_dir / "arp.json"
    done = await run_camaudit_async(
        "scan", "198.51.100.2", "--probe", "arp", "--listen", "0.3", "-f", "json", "-o",
        str(output),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (arp,) = json.loads(output.read_text())["probes"]
    assert (arp["name"], arp["status"]) == ("arp", "skipped")
    assert "needs Linux packet sockets" in arp["detail"]

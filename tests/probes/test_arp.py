"""ARP: MAC normalisation, the /proc/net/arp parser, and the probe end to end in namespaces."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest

from camaudit.identity import normalise_mac
from camaudit.neighbour_table import Neighbour, parse_proc_net_arp
from camaudit.net import Interface
from camaudit.options import ScanOptions
from camaudit.probes.arp import ArpProbe, on_link_targets, read_neighbour_table
from camaudit.probes.base import ProbeContext
from camaudit.targets import build_scope
from tests.conftest import Namespaces

NEEDS_ROOT = "arp: needs root (CAP_NET_RAW) for an ARP sweep; run as root or use --skip-probe arp"
HELPER = Path(__file__).with_name("arp_in_netns.py")

PROC_NET_ARP = """\
IP address       HW type     Flags       HW address            Mask     Device
198.51.100.2     0x1         0x2         58:50:ed:00:00:02     *        eth0
198.51.100.3     0x1         0x0         00:00:00:00:00:00     *        eth0
198.51.100.4     0x1         0x6         4C:11:BF:00:00:04     *        eth1
198.51.100.5     0x1         0x2         00:00:00:00:00:00     *        eth0
198.51.100.6     0x200       0x2         58:50:ed:00:00:06     *        tun0
not-an-ip        0x1         0x2         58:50:ed:00:00:07     *        eth0
198.51.100.8     0x1         0x2         58:50:ed:00:00:08
"""


class TestNormaliseMac:
    @pytest.mark.parametrize(
        "text",
        [
            "58-50-ed-1f-e3-85",
            "58:50:ED:1F:E3:85",
            "5850.ed1f.e385",
            "5850ED1FE385",
            " 58:50:ed:1f:e3:85\n",
        ],
    )
    def test_device_spellings_become_lower_case_colon_form(self, text: str) -> None:
        """SADP dashes, Cisco dots, bare hex and upper case all normalise the same way."""
        assert normalise_mac(text) == "58:50:ed:1f:e3:85"

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "00:00:00:00:00:00",
            "ff:ff:ff:ff:ff:ff",
            "58:50:ed:1f:e3",
            "58:50:ed:1f:e3:85:00",
            "zz:50:ed:1f:e3:85",
        ],
    )
    def test_unusable_or_invalid_macs_give_none(self, text: str) -> None:
        """Zero, broadcast, short, long and non-hex values are not a device's MAC."""
        assert normalise_mac(text) is None


class TestNeighbourTable:
    def test_only_completed_ethernet_entries_with_a_mac_are_kept(self) -> None:
        """Incomplete, zero-MAC, non-Ethernet and malformed rows are dropped; MACs normalised."""
        assert parse_proc_net_arp(PROC_NET_ARP) == [
            Neighbour(ip=IPv4Address("198.51.100.2"), mac="58:50:ed:00:00:02", device="eth0"),
            Neighbour(ip=IPv4Address("198.51.100.4"), mac="4c:11:bf:00:00:04", device="eth1"),
        ]

    def test_header_only_and_empty_text_give_nothing(self) -> None:
        """A table with no entries (or no header) is simply empty."""
        assert parse_proc_net_arp(PROC_NET_ARP.splitlines()[0]) == []
        assert parse_proc_net_arp("") == []

    def test_unreadable_table_reads_as_empty(self, tmp_path: Path) -> None:
        """A missing /proc (containers, other systems) is not an error."""
        assert read_neighbour_table(tmp_path / "missing") == []

    async def test_without_interfaces_only_in_scope_table_entries_are_reported(
        self, tmp_path: Path
    ) -> None:
        """No interfaces: no packets, just the neighbour table filtered to the scope."""
        table = tmp_path / "arp"
        table.write_text(PROC_NET_ARP)
        ctx = ProbeContext(options=ScanOptions(), scope=build_scope(["198.51.100.3-5"]))
        evidence = await ArpProbe(neighbour_table=table).discover(ctx)
        assert [(str(e.host), e.channel, e.value, e.probe) for e in evidence] == [
            ("198.51.100.4", "mac", "4c:11:bf:00:00:04", "arp")
        ]


class TestOnLink:
    def test_targets_are_grouped_by_the_interface_whose_network_holds_them(self) -> None:
        """Off-link targets, the interface's own address and loopback are never swept."""
        eth = Interface(name="eth9", address=IPv4Interface("198.51.100.1/29"), multicast=True)
        lo = Interface(name="lo", address=IPv4Interface("127.0.0.1/8"), multicast=False)
        targets = [
            IPv4Address(a) for a in ("198.51.100.1", "198.51.100.2", "198.51.100.9", "127.0.0.2")
        ]
        assert on_link_targets([lo, eth], targets) == {eth: [IPv4Address("198.51.100.2")]}


@dataclass(frozen=True)
class Site:
    """Two namespaces joined by a veth pair: the scanner side and one camera."""

    scanner: str
    camera: str
    camera_mac: str


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=False)


def _must(*args: str) -> None:
    done = _ip(*args)
    assert done.returncode == 0, f"ip {' '.join(args)}: {done.stderr}"


@pytest.fixture(scope="module")
def site(namespaces: Namespaces) -> Iterator[Site]:
    """Two namespaces from the suite's one fixture: cal-<id>-s (198.51.100.1/24) and
    cal-<id>-c (.2), removed by their lab id afterwards."""
    labid = namespaces.new_id()
    scanner, camera = f"cal-{labid}-s", f"cal-{labid}-c"
    try:
        for name in (scanner, camera):
            _must("netns", "add", name)
        # The veth pair is born inside the scanner namespace and its peer inside the camera's:
        # it never exists in (or links to) the host's own namespace.
        _must(
            "-n",
            scanner,
            "link",
            "add",
            "cah5-scan",
            "type",
            "veth",
            "peer",
            "name",
            "cah5-cam",
            "netns",
            camera,
        )
        camera_mac = "58:50:ed:00:00:02"  # a Hikvision OUI, as the lab's cameras have
        _must("-n", camera, "link", "set", "cah5-cam", "address", camera_mac)
        _must("-n", scanner, "addr", "add", "198.51.100.1/24", "dev", "cah5-scan")
        _must("-n", camera, "addr", "add", "198.51.100.2/24", "dev", "cah5-cam")
        for namespace, link in ((scanner, "cah5-scan"), (camera, "cah5-cam")):
            _must("-n", namespace, "link", "set", "lo", "up")
            _must("-n", namespace, "link", "set", link, "up")
        yield Site(scanner=scanner, camera=camera, camera_mac=camera_mac)
    finally:
        namespaces.remove(labid)


def run_probe(site: Site, *options: str, wrapper: tuple[str, ...] = ()) -> dict[str, object]:
    """Run the ARP probe in the scanner namespace through the helper; its JSON answer."""
    command = [
        "ip",
        "netns",
        "exec",
        site.scanner,
        *wrapper,
        sys.executable,
        str(HELPER),
        "--interface",
        "cah5-scan",
        *options,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def camera_neighbours(site: Site) -> str:
    """The camera namespace's neighbour table: a who-has from us leaves our address there."""
    return _ip("-n", site.camera, "neigh", "show").stdout


@pytest.mark.netns
class TestInNamespaces:
    def test_root_sweep_finds_the_camera_mac_and_nothing_else(self, site: Site) -> None:
        """scapy's ARP sweep of a /29 finds the one live host, with its MAC; silence is no entry."""
        _must("-n", site.scanner, "neigh", "flush", "all")
        _must("-n", site.camera, "neigh", "flush", "all")
        assert run_probe(site, "--scope", "198.51.100.0/29") == {
            "macs": {"198.51.100.2": site.camera_mac}
        }
        assert "198.51.100.1" in camera_neighbours(site)  # the camera really saw our who-has

    def test_sweep_works_with_descriptors_above_1023(self, site: Site) -> None:
        """A full scan holds a thousand sockets; the sweep must not depend on select()."""
        _must("-n", site.scanner, "neigh", "flush", "all")
        assert run_probe(site, "--scope", "198.51.100.0/29", "--high-fds") == {
            "macs": {"198.51.100.2": site.camera_mac}
        }

    def test_without_root_the_neighbour_table_gives_in_scope_macs(self, site: Site) -> None:
        """As nobody, the probe reads the kernel's table: in-scope completed entries only."""
        _must("-n", site.scanner, "neigh", "flush", "all")
        _must(
            "-n",
            site.scanner,
            "neigh",
            "replace",
            "198.51.100.3",
            "lladdr",
            "4c:11:bf:00:00:03",
            "dev",
            "cah5-scan",
            "nud",
            "permanent",
        )
        _must(
            "-n",
            site.scanner,
            "neigh",
            "replace",
            "198.51.100.200",
            "lladdr",
            "58:50:ed:00:00:c8",
            "dev",
            "cah5-scan",
            "nud",
            "permanent",
        )
        try:
            answer = run_probe(site, "--scope", "198.51.100.0/29", "--drop-root")
        finally:
            _ip("-n", site.scanner, "neigh", "flush", "all")
            _ip("-n", site.scanner, "neigh", "del", "198.51.100.3", "dev", "cah5-scan")
            _ip("-n", site.scanner, "neigh", "del", "198.51.100.200", "dev", "cah5-scan")
        assert answer == {"macs": {"198.51.100.3": "4c:11:bf:00:00:03"}}

    def test_without_root_and_an_empty_table_the_probe_says_how_to_fix_it(self, site: Site) -> None:
        """As nobody with an empty table: skipped, naming the privilege and the way out."""
        _must("-n", site.scanner, "neigh", "flush", "all")
        answer = run_probe(site, "--scope", "198.51.100.0/29", "--drop-root")
        assert answer == {"unavailable": NEEDS_ROOT}

    def test_root_without_cap_net_raw_falls_back_to_the_table(self, site: Site) -> None:
        """Root lacking CAP_NET_RAW (containers) cannot sweep, so it is skipped with the fix."""
        if shutil.which("setpriv") is None:
            pytest.skip("util-linux setpriv is not installed")
        _must("-n", site.scanner, "neigh", "flush", "all")
        _must("-n", site.camera, "neigh", "flush", "all")
        no_raw = ("setpriv", "--bounding-set", "-net_raw", "--inh-caps", "-net_raw")
        answer = run_probe(site, "--scope", "198.51.100.0/29", wrapper=no_raw)
        assert answer == {"unavailable": NEEDS_ROOT}
        assert "198.51.100.1" not in camera_neighbours(site)

    def test_without_interfaces_no_sweep_happens(self, site: Site) -> None:
        """No interfaces: even as root the probe only reads the (empty) table and sends nothing."""
        _must("-n", site.scanner, "neigh", "flush", "all")
        _must("-n", site.camera, "neigh", "flush", "all")
        assert run_probe(site, "--scope", "198.51.100.0/29", "--no-interfaces") == {"macs": {}}
        assert "198.51.100.1" not in camera_neighbours(site)  # no who-has reached the camera

"""The dry-run plan: what each probe would send, where, how many, how long. Nothing is sent:
build_plan only reads the scope, the options and the interfaces it is given."""

from __future__ import annotations

import json
import re
from ipaddress import IPv4Interface
from pathlib import Path

import pytest

from camaudit.errors import ConfigError
from camaudit.net import Interface
from camaudit.options import ScanOptions
from camaudit.plan import HostFacts, address_ranges, build_plan, refuse_host_names
from camaudit.plan_render import render_plan_json, render_plan_text
from camaudit.probes import PROBE_CHOICES, sweep_selected
from camaudit.scanner import Scanner, select_probes
from camaudit.targets import build_scope

README = Path(__file__).resolve().parents[1] / "README.md"
ETH = Interface(
    name="eth9", address=IPv4Interface("198.51.100.1/24"), multicast=True, mac="58:50:ed:00:00:01"
)
LAPTOP = HostFacts(platform="windows", privileged=False, packet_sockets=False)
LINUX_ROOT = HostFacts(platform="linux", privileged=True, packet_sockets=True)


def readme_table_probes() -> list[str]:
    """The probe names of the README's "What it sends" table, in order."""
    section = README.read_text(encoding="utf-8").split("## What it sends", 1)[1].split("\n## ")[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, re.M)


def plan_of(*targets: str, host: HostFacts = LAPTOP, **options: object):  # type: ignore[no-untyped-def]
    scope = build_scope(list(targets), resolve=False)
    return build_plan(scope, ScanOptions(**options), [ETH], host=host)  # type: ignore[arg-type]


class TestProbeChoices:
    def test_every_probe_in_the_readme_table_is_a_choice_in_the_same_order(self) -> None:
        """--probe/--skip-probe accept exactly the README's probes, tcp (the sweep) included."""
        assert readme_table_probes() == list(PROBE_CHOICES)
        assert "tcp" in PROBE_CHOICES

    def test_a_full_plan_has_an_entry_for_every_choice_in_order(self) -> None:
        """Every probe has a plan entry (a new probe without one fails here)."""
        plan = plan_of("198.51.100.0/28")
        assert [p.name for p in plan.probes] == list(PROBE_CHOICES)
        assert plan.skipped == ()

    def test_skip_probe_tcp_removes_the_sweep(self) -> None:
        """--skip-probe tcp: no TCP connects in the plan, and the scanner runs no sweep."""
        options = ScanOptions(skip_probes=("tcp",))
        assert not sweep_selected(options.probes, options.skip_probes)
        plan = plan_of("198.51.100.0/28", skip_probes=("tcp",))
        assert "tcp" not in [p.name for p in plan.probes]
        assert plan.skipped == ("tcp",)
        # Without the reachability pass, directed discovery goes to every address.
        sadp = {p.name: p for p in plan.probes}["sadp"]
        assert sadp.unicast == "UDP 37020 of each of the 14 addresses"
        scanner = Scanner(
            build_scope(["198.51.100.0/28"]),
            options,
            database=None,  # type: ignore[arg-type] - never used: nothing is run
            policy=None,  # type: ignore[arg-type]
            interfaces=(),
        )
        assert scanner.sweep is False

    def test_host_probes_bring_the_sweep_and_tcp_alone_is_only_the_sweep(self) -> None:
        """Host probes ask only ports the sweep found open, so choosing one runs the sweep too."""
        assert [p.name for p in plan_of("198.51.100.7", probes=("http_banner",)).probes] == [
            "tcp",
            "http_banner",
        ]
        assert [p.name for p in plan_of("198.51.100.7", probes=("tcp",)).probes] == ["tcp"]
        assert select_probes(ScanOptions(probes=("tcp",))) == []
        assert [p.name for p in plan_of("198.51.100.7", probes=("sadp",)).probes] == ["sadp"]


class TestWhatIsSent:
    def test_unicast_ports_groups_and_counts_for_a_small_subnet(self) -> None:
        """A /28 (14 addresses) on eth9: each UDP probe's port and group, DHIP's broadcast, the
        sweep's ports, and how many sends each makes. Directed discovery and all but the first
        sweep port go to live hosts only; the reachability pass is one connect per address."""
        plan = plan_of("198.51.100.0/28")
        probes = {p.name: p for p in plan.probes}
        assert plan.address_count == 14
        assert probes["wsdiscovery"].unicast == "UDP 3702 of each live one of the 14 addresses"
        assert probes["wsdiscovery"].groups == ("239.255.255.250:3702 on eth9",)
        assert probes["wsdiscovery"].sends_before_hosts == 14 + 2  # 2 typed Probes to the group
        assert probes["mdns"].groups == ("224.0.0.251:5353 on eth9",)
        assert probes["sadp"].groups == ("239.255.255.250:37020 on eth9",)
        assert probes["dhip"].groups == (
            "239.255.255.251:37810 on eth9",
            "198.51.100.255:37810 on eth9",
        )
        assert probes["tcp"].unicast == (
            "TCP 80 of each of the 14 addresses (reachability); "
            "443, 554, 8000, 8080, 8443, 37777 of the live ones"
        )
        assert probes["tcp"].sends_before_hosts == 14
        assert "then 6 connect(s) per live host" in probes["tcp"].note
        assert plan.sends_before_hosts == sum(p.sends_before_hosts for p in plan.probes)

    def test_port_overrides_and_no_multicast_change_the_plan(self) -> None:
        """--port and --http-port show up in the plan; --no-multicast drops every group."""
        plan = plan_of(
            "198.51.100.7",
            multicast=False,
            ports={"sadp": 47020},
            http_ports=(8081,),
            https_ports=(8444,),
        )
        probes = {p.name: p for p in plan.probes}
        assert plan.interfaces == ()
        assert all(p.groups == () for p in plan.probes)
        assert probes["sadp"].unicast == "UDP 47020 of each live one of the 1 addresses"
        assert "8081, 8444" in probes["http_banner"].unicast
        assert probes["tcp"].unicast.endswith(
            "443, 554, 8000, 8080, 8443, 37777, 8081, 8444 of the live ones"
        )

    def test_arp_sweeps_only_as_root_on_linux(self) -> None:
        """Windows or macOS (no packet sockets) and non-root Linux read the table, sending
        nothing; root on Linux sweeps the on-link targets."""
        laptop = {p.name: p for p in plan_of("198.51.100.0/28").probes}["arp"]
        assert (laptop.sends, laptop.sends_before_hosts) == ("nothing", 0)
        assert "no ARP sweep on windows" in laptop.note
        root = {p.name: p for p in plan_of("198.51.100.0/28", host=LINUX_ROOT).probes}["arp"]
        assert (root.sends, root.sends_before_hosts) == ("ARP who-has", 14 - 1)  # not .1 itself
        routed = {p.name: p for p in plan_of("198.18.5.0/28", host=LINUX_ROOT).probes}["arp"]
        assert routed.sends_before_hosts == 0


class TestCost:
    def test_duration_is_the_sends_at_the_rate_plus_the_listening_window(self) -> None:
        """14 addresses, every probe, rate 10/s: sends / rate + the 2 s listening window."""
        plan = plan_of("198.51.100.0/28", rate=10.0)
        assert plan.first_phase_s == round(plan.sends_before_hosts / 10.0 + 2.0, 1)
        assert plan.requests_per_live_host == sum(p.requests_per_host for p in plan.probes)

    def test_ranges_collapse_and_exclusions_show(self) -> None:
        """Consecutive addresses print as ranges; an exclusion splits them."""
        scope = build_scope(["198.51.100.0/28"], exclude=["198.51.100.5"], resolve=False)
        assert address_ranges(scope.addresses()) == (
            "198.51.100.1-198.51.100.4",
            "198.51.100.6-198.51.100.14",
        )


class TestRendering:
    def test_text_names_scope_interfaces_probes_rate_and_duration(self) -> None:
        """A person reading the text sees every item of the plan."""
        text = render_plan_text(plan_of("198.51.100.0/28"))
        for expected in (
            "nothing has been sent",
            "Scope: 14 addresses (198.51.100.0/28)",
            "eth9: 198.51.100.1 on 198.51.100.0/24, MAC 58:50:ed:00:00:01",
            "to 239.255.255.250:3702 on eth9",
            "tcp [sweep]: sends TCP connect",
            "Rate: at most 1000 new connections",
            "Running on windows, without root.",
        ):
            assert expected in text

    def test_json_is_the_whole_plan(self) -> None:
        """-f json: schema camaudit.plan/1 with the same numbers."""
        plan = plan_of("198.51.100.0/28")
        data = json.loads(render_plan_json(plan))
        assert data["schema"] == "camaudit.plan/1"
        assert data["address_count"] == 14
        assert [p["name"] for p in data["probes"]] == list(PROBE_CHOICES)
        assert data["sends_before_hosts"] == plan.sends_before_hosts

    def test_control_characters_in_an_interface_name_are_neutralised(self) -> None:
        """Interface names come from the OS; a terminal escape in one prints inert."""
        odd = Interface(name="eth\x1b[2J", address=IPv4Interface("198.51.100.1/24"), multicast=True)
        plan = build_plan(build_scope(["198.51.100.7"]), ScanOptions(), [odd], host=LAPTOP)
        assert "\x1b" not in render_plan_text(plan)

    def test_host_names_are_refused_in_a_dry_run(self) -> None:
        """Resolving a name would send a DNS query, so a dry run takes addresses only."""
        refuse_host_names(["198.51.100.0/24", "198.51.100.1-9"])
        with pytest.raises(ConfigError, match="cam.example"):
            refuse_host_names(["198.51.100.7", "cam.example"])

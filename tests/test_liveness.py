"""The reachability pass: a live host answers one connect either way, silent addresses get
nothing more. Real sockets on loopback, and a namespace of the test's own for silent addresses."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from ipaddress import IPv4Address

import pytest

from camaudit.liveness import (
    Answer,
    LiveFeed,
    find_live_hosts,
    knock,
    sweep_each_host,
    sweep_open_ports,
)
from camaudit.neighbour_table import Neighbour
from camaudit.net import RateLimiter
from camaudit.targets import build_scope


@pytest.fixture
def listening() -> Iterator[int]:
    """A TCP listener on 127.0.0.1; yields its port."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_open_and_closed_ports_both_mean_alive(listening: int) -> None:
    """SYN-ACK says open; RST says closed, and both say a host is there."""
    assert asyncio.run(knock(IPv4Address("127.0.0.1"), listening, timeout_s=1.0)) == Answer.OPEN
    assert asyncio.run(knock(IPv4Address("127.0.0.1"), closed_port(), timeout_s=1.0)) == (
        Answer.CLOSED
    )


def test_pass_finds_hosts_on_a_closed_port() -> None:
    """127.0.0.8/30 all refuse: alive, none open; the progress callback sees every address.
    A neighbour-table entry outside the scope is not added (the table lists every host the
    machine has talked to). Loopback only: nothing leaves this machine."""
    scope = build_scope(["127.0.0.8/30"])

    async def table() -> list[Neighbour]:
        return [Neighbour(ip=IPv4Address("127.0.0.20"), mac="00:11:22:33:44:56", device="lo")]

    seen: list[tuple[int, int]] = []
    found = asyncio.run(
        find_live_hosts(
            scope,
            closed_port(),
            limiter=RateLimiter(1000.0),
            timeout_s=1.0,
            neighbours=table,
            on_progress=lambda done, total: seen.append((done, total)),
        )
    )
    assert {IPv4Address(f"127.0.0.{n}") for n in (9, 10)} <= found.alive
    assert IPv4Address("127.0.0.20") not in found.alive
    assert found.open == set()
    assert seen[-1] == (scope.size(), scope.size())


def test_sweep_reports_only_open_ports(listening: int) -> None:
    found = asyncio.run(
        sweep_open_ports(
            [IPv4Address("127.0.0.1")],
            [listening, closed_port()],
            limiter=RateLimiter(1000.0),
            timeout_s=1.0,
        )
    )
    assert found == {IPv4Address("127.0.0.1"): {listening}}


def test_a_live_hosts_ports_are_asked_before_the_pass_ends(listening: int) -> None:
    """The sweep reads the pass's feed: 127.0.0.1 answers its knock at once, and its other
    port is swept and handed on while the pass still waits for the feed to close."""
    events: list[str] = []

    async def scenario() -> None:
        feed = LiveFeed()
        sweeping = asyncio.create_task(
            sweep_each_host(
                feed.addresses(),
                [listening],
                limiter=RateLimiter(1000.0),
                timeout_s=1.0,
                on_host=lambda host, found: events.append(f"{host} {sorted(found)}"),
            )
        )
        feed.add(IPv4Address("127.0.0.1"))
        for _ in range(100):  # the pass is still running: the feed stays open
            if events:
                break
            await asyncio.sleep(0.01)
        events.append("pass ends")
        feed.close()
        await sweeping

    asyncio.run(scenario())
    assert events == [f"127.0.0.1 [{listening}]", "pass ends"]


# Run inside a namespace holding only `lo` with 198.51.100.1/32 on it: the rest of the /29 has
# no route, so those addresses are silent, as an unused address of a routed subnet is.
SCAN_IN_NAMESPACE = """
import asyncio, json, socket
from typing import ClassVar
from camaudit.identify.loader import load_database
from camaudit.identify.policy import load_policy
from camaudit.options import ScanOptions
from camaudit.probes.base import DiscoveryProbe
from camaudit.scanner import Scanner
from camaudit.targets import build_scope

class RecordsTargets(DiscoveryProbe):
    name: ClassVar[str] = "records"
    asked: ClassVar[list[str]] = []

    async def discover(self, ctx):
        RecordsTargets.asked.extend([str(a) async for a in ctx.unicast_targets()])
        return []

server = socket.create_server(("198.51.100.1", 0))
port = server.getsockname()[1]
options = ScanOptions(tcp_ports=(port, port + 1), http_ports=(), https_ports=(),
                      probe_timeout_s=5.0)
scanner = Scanner(build_scope(["198.51.100.0/29"]), options, database=load_database(),
                  policy=load_policy("uk-2022"), interfaces=(), probes=[RecordsTargets()])
result = asyncio.run(scanner.run())
opened = sorted({e.value for e in scanner.evidence if e.channel == "tcp.open"})
hosts = sorted({str(e.host) for e in scanner.evidence if e.channel == "tcp.open"})

from ipaddress import IPv4Address
from camaudit.liveness import find_live_hosts
from camaudit.neighbour_table import Neighbour
from camaudit.net import RateLimiter

async def table():
    return [Neighbour(ip=IPv4Address("198.51.100.5"), mac="00:11:22:33:44:55", device="eth0")]

reach = asyncio.run(find_live_hosts(build_scope(["198.51.100.0/29"]), port,
                                    limiter=RateLimiter(1000.0), timeout_s=1.0, neighbours=table))
print(json.dumps({"asked": RecordsTargets.asked, "hosts": hosts, "opened": opened,
                  "port": port, "interrupted": result.interrupted,
                  "alive_with_table": [str(a) for a in reach.live_addresses()]}))
"""


@pytest.mark.netns
def test_directed_discovery_and_the_sweep_skip_silent_addresses(namespaces) -> None:  # type: ignore[no-untyped-def]
    """Of a /29 where only .1 exists, discovery's directed sends go to .1 alone and only .1 is
    swept; the scan still finishes whole. A silent address the neighbour table has resolved
    (a host that answered ARP but drops TCP) counts as alive."""
    with namespaces.loopback_only() as namespace:
        subprocess.run(
            ["ip", "-n", namespace, "addr", "add", "198.51.100.1/32", "dev", "lo"], check=True
        )
        done = subprocess.run(
            ["ip", "netns", "exec", namespace, sys.executable, "-c", SCAN_IN_NAMESPACE],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["asked"] == ["198.51.100.1"]
    assert report["hosts"] == ["198.51.100.1"]
    assert report["opened"] == [str(report["port"])]
    assert report["interrupted"] is False
    assert report["alive_with_table"] == ["198.51.100.1", "198.51.100.5"]

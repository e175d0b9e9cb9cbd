"""`scan --dry-run` on the simulated site: not one frame leaves the scanner's interface, and the
plan names what the real scan then sends (captured on that interface, counted by port)."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import sys
from collections import Counter
from collections.abc import Iterator
from ipaddress import IPv4Address
from typing import Any

import pytest

from camlab import control, topology
from tests.e2e.conftest import FAST, SCAN_TIMEOUT_S, LabHandle

pytestmark = pytest.mark.netns

ETH_P_ALL = 0x0003  # linux/if_ether.h: every protocol
PACKET_OUTGOING = 4  # linux/if_packet.h: a frame this host sent
ETHERTYPE_IPV4, ETHERTYPE_ARP = 0x0800, 0x0806
UDP = 17
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # asm-generic/socket.h; root only
# The routed annex: every datagram to it leaves through the router whether or not a device is
# there, so the count on the wire is exactly what was sent (on-link, unanswered ARP would drop).
TARGETS = "198.18.5.16/28"  # .17-.30: the annex devices are .20 and .21
ARGS = (TARGETS, "--no-multicast", "--probe", "sadp", "--probe", "wsdiscovery", *FAST)


@contextlib.contextmanager
def capture(labid: str) -> Iterator[socket.socket]:
    """A packet socket on the scanner's eth0, opened inside the scanner's namespace."""
    with topology.inside(topology.ns_scanner(labid)):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 * 1024 * 1024)
            sock.bind(("eth0", ETH_P_ALL))
        except OSError:
            sock.close()
            raise
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def sent_frames(sock: socket.socket) -> list[bytes]:
    """IPv4 and ARP frames the scanner sent since the socket opened (IPv6 chatter and frames
    received from the site are left out)."""
    frames: list[bytes] = []
    with contextlib.suppress(BlockingIOError):
        while True:
            frame, address = sock.recvfrom(65535)
            ethertype = struct.unpack_from("!H", frame, 12)[0]
            if address[2] == PACKET_OUTGOING and ethertype in (ETHERTYPE_IPV4, ETHERTYPE_ARP):
                frames.append(frame)
    return frames


def udp_destinations(frames: list[bytes]) -> Counter[tuple[int, str]]:
    """(destination port, destination address) of every UDP datagram among the frames."""
    seen: Counter[tuple[int, str]] = Counter()
    for frame in frames:
        if struct.unpack_from("!H", frame, 12)[0] != ETHERTYPE_IPV4 or frame[23] != UDP:
            continue
        header = (frame[14] & 0x0F) * 4
        port = struct.unpack_from("!H", frame, 14 + header + 2)[0]
        seen[(port, socket.inet_ntoa(frame[30:34]))] += 1
    return seen


def dry_run(lab: LabHandle) -> tuple[int, dict[str, Any], str]:
    command = [sys.executable, "-m", "camaudit", "scan", *ARGS, "--dry-run", "-f", "json"]
    done = control.exec_in_scanner(
        lab.labid, command, capture_output=True, text=True, timeout=SCAN_TIMEOUT_S
    )
    return done.returncode, json.loads(done.stdout or "{}"), done.stderr


def test_a_dry_run_sends_nothing_and_the_real_scan_sends_what_it_named(lab: LabHandle) -> None:
    """Zero frames out of eth0 during the dry run; then the real scan with the same arguments
    sends exactly the plan's datagrams: one per address to UDP 3702 and to UDP 37020."""
    requests_before = len(lab.requests())
    with capture(lab.labid) as sock:
        code, plan, stderr = dry_run(lab)
        during_dry_run = sent_frames(sock)
        lab.scan(*ARGS[: -len(FAST)], name="as-planned")
        during_scan = sent_frames(sock)
    assert code == 0, stderr
    assert during_dry_run == [], f"{len(during_dry_run)} frames left during the dry run"
    assert len(lab.requests()) - requests_before > 0  # the real scan reached the devices
    probes = {p["name"]: p for p in plan["probes"]}
    assert set(probes) == {"wsdiscovery", "sadp"}
    assert plan["address_count"] == 14
    sent = udp_destinations(during_scan)
    addresses = {str(IPv4Address("198.18.5.17") + i) for i in range(14)}
    for name, port in (("wsdiscovery", 3702), ("sadp", 37020)):
        assert probes[name]["unicast"] == f"UDP {port} of each of the 14 addresses"
        to_port = {address: n for (p, address), n in sent.items() if p == port}
        assert set(to_port) == addresses, name
        assert sum(to_port.values()) == probes[name]["sends_before_hosts"], name
    assert plan["sends_before_hosts"] == sum(n for (p, _a), n in sent.items() if p in (3702, 37020))


def test_a_dry_run_of_the_whole_site_sends_nothing(lab: LabHandle) -> None:
    """Every probe, multicast on, both subnets: still not one frame, and the plan lists the
    scanner's interface with its group destinations."""
    command = [
        sys.executable, "-m", "camaudit", "scan", "198.51.100.0/24", "198.18.5.0/24",
        "--dry-run", "-f", "json",
    ]  # fmt: skip
    with capture(lab.labid) as sock:
        done = control.exec_in_scanner(
            lab.labid, command, capture_output=True, text=True, timeout=SCAN_TIMEOUT_S
        )
        frames = sent_frames(sock)
    assert done.returncode == 0, done.stderr
    assert frames == []
    plan = json.loads(done.stdout)
    assert [i["name"] for i in plan["interfaces"]] == ["eth0"]
    probes = {p["name"]: p for p in plan["probes"]}
    assert "239.255.255.250:3702 on eth0" in probes["wsdiscovery"]["groups"]
    assert probes["arp"]["sends"] == "ARP who-has"  # root on Linux in the lab
    assert plan["address_count"] == 508

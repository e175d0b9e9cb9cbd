"""Socket helpers: the rate limiter, capped reads, interfaces and multicast sockets."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest

from camaudit.net import (
    Interface,
    Lane,
    ListenWindow,
    RateLimiter,
    Sockets,
    _multicast_capable,
    list_interfaces,
    open_tcp,
    read_capped,
)


async def test_rate_limiter_spaces_out_a_burst() -> None:
    """60 acquisitions at 100/s with a burst of 10 take at least half a second."""
    limiter = RateLimiter(100.0, burst=10)
    started = time.monotonic()
    for _ in range(60):
        await limiter.acquire()
    assert time.monotonic() - started >= 0.45


async def test_background_sends_give_way_to_a_live_hosts_request() -> None:
    """30 background knocks queue first; a foreground request made after them is served within
    the next two tokens, not after all 30. Both kinds still count against the one rate."""
    limiter = RateLimiter(40.0, burst=1)
    order: list[str] = []

    async def knock(index: int) -> None:
        await limiter.acquire(Lane.BACKGROUND)
        order.append(f"b{index}")

    knocks = [asyncio.create_task(knock(i)) for i in range(30)]
    await asyncio.sleep(0.1)  # the knocks are queued and a few have gone
    gone_before = len(order)
    await limiter.acquire()
    order.append("fg")
    assert order.index("fg") <= gone_before + 2
    await asyncio.gather(*knocks)
    assert len(order) == 31


async def test_while_both_kinds_wait_they_take_turns() -> None:
    """A stream of foreground requests does not starve the reachability pass: with both kinds
    queued, the tokens alternate, so ten knocks are done by the time twenty requests are."""
    limiter = RateLimiter(200.0, burst=1)
    order: list[str] = []

    async def send(kind: str, count: int) -> None:
        async def one() -> None:
            await limiter.acquire(Lane.BACKGROUND if kind == "b" else Lane.HOST)
            order.append(kind)

        await asyncio.gather(*(one() for _ in range(count)))

    await asyncio.gather(send("f", 40), send("b", 10))
    assert order[:20].count("b") >= 9
    assert len(order) == 50


async def test_discovery_datagrams_go_before_queued_requests() -> None:
    """Directed discovery, whose listening windows the scan's end waits for, is not held up
    by a queue of host requests: queued after twenty of them, it is served next."""
    limiter = RateLimiter(100.0, burst=1)
    await limiter.acquire()  # the bucket is empty now
    order: list[str] = []

    async def send(name: str, lane: Lane) -> None:
        await limiter.acquire(lane)
        order.append(name)

    requests = [asyncio.create_task(send("host", Lane.HOST)) for _ in range(20)]
    await asyncio.sleep(0)
    await send("discovery", Lane.DISCOVERY)
    assert order.index("discovery") <= 1
    await asyncio.gather(*requests)


async def test_a_cancelled_wait_gives_its_token_to_the_next() -> None:
    """A sender cancelled while queued (a probe past its deadline) takes no token and blocks
    nobody: the requests behind it are still served."""
    limiter = RateLimiter(50.0, burst=1)
    await limiter.acquire()  # the bucket is empty now
    doomed = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    doomed.cancel()
    async with asyncio.timeout(1.0):
        for _ in range(3):
            await limiter.acquire()
    assert doomed.cancelled()


async def _send_from_loopback(port: int, delays: list[float]) -> None:
    """One datagram to 127.0.0.1:`port` after each delay in turn."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for delay in delays:
            await asyncio.sleep(delay)
            sender.sendto(b"answer", ("127.0.0.1", port))


async def _collect_on_loopback(window: ListenWindow, delays: list[float]) -> tuple[int, float]:
    """Datagrams collected through `window` while they arrive after `delays`; and how long."""
    async with Sockets().udp(bind=("127.0.0.1", 0)) as endpoint:
        port = endpoint._transport.get_extra_info("sockname")[1]
        sending = asyncio.create_task(_send_from_loopback(port, delays))
        started = time.monotonic()
        replies = await endpoint.collect(window=window)
        took = time.monotonic() - started
        sending.cancel()
    return len(replies), took


class TestListenWindow:
    async def test_a_quiet_segment_is_left_once_the_answer_delay_has_passed(self) -> None:
        """Nothing arrives: the window ends at the settle time, not at the 2 s cap."""
        window = ListenWindow(2.0, settle_s=0.3, quiet_s=0.2)
        count, took = await _collect_on_loopback(window, [])
        assert count == 0
        assert 0.25 <= took < 1.0

    async def test_answers_that_keep_coming_keep_it_open(self) -> None:
        """Answers every 0.15 s past the settle time are all heard; the window ends a quiet
        gap after the last one."""
        window = ListenWindow(3.0, settle_s=0.2, quiet_s=0.3)
        count, took = await _collect_on_loopback(window, [0.15] * 6)
        assert count == 6
        assert 0.9 + 0.25 <= took < 2.0

    async def test_the_cap_holds_against_a_flood(self) -> None:
        """A sender that never stops cannot hold the window past its cap."""
        window = ListenWindow(0.6, settle_s=0.2, quiet_s=0.3)
        count, took = await _collect_on_loopback(window, [0.05] * 100)
        assert count >= 5
        assert took < 0.9

    async def test_a_fixed_window_lasts_its_whole_length(self) -> None:
        count, took = await _collect_on_loopback(ListenWindow.fixed(0.5), [0.05])
        assert count == 1
        assert took >= 0.45


async def test_read_capped_stops_at_the_byte_cap_from_an_endless_sender() -> None:
    """A peer that never stops sending yields exactly max_bytes."""

    async def flood(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                writer.write(b"x" * 65536)
                await writer.drain()
        except (ConnectionError, OSError):
            pass

    server = await asyncio.start_server(flood, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        reader, writer = await open_tcp("127.0.0.1", port, timeout_s=2)
        data = await read_capped(reader, max_bytes=100_000, timeout_s=5)
        writer.close()
    assert len(data) == 100_000


async def test_read_capped_returns_what_came_before_a_stalled_peer_times_out() -> None:
    """A peer that sends a little and then stalls gives what it sent when the deadline passes."""

    async def stall(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"RTSP/1.0 200 OK\r\n")
        await writer.drain()
        await asyncio.sleep(10)

    server = await asyncio.start_server(stall, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        reader, writer = await open_tcp("127.0.0.1", port, timeout_s=2)
        data = await read_capped(reader, max_bytes=4096, timeout_s=0.3)
        writer.close()
    assert data == b"RTSP/1.0 200 OK\r\n"


class TestInterfaces:
    def test_loopback_is_listed_with_its_netmask_and_never_for_multicast(self) -> None:
        """psutil's view of lo: 127.0.0.1/8, up, not a multicast interface for discovery."""
        loopback = [i for i in list_interfaces() if i.address.ip == IPv4Address("127.0.0.1")]
        assert loopback, "no interface carries 127.0.0.1"
        assert loopback[0].address == IPv4Interface("127.0.0.1/8")
        assert not loopback[0].multicast

    @pytest.mark.parametrize(
        ("flags", "address", "expected"),
        [
            ("up,broadcast,running,multicast", "198.51.100.1/24", True),
            ("up,broadcast,running", "198.51.100.1/24", False),
            ("", "198.51.100.1/24", True),  # Windows: psutil reports no flags at all
            ("", "127.0.0.1/8", False),
            ("up,loopback,running,multicast", "127.0.0.1/8", False),
        ],
    )
    def test_multicast_capability_from_each_systems_flags(
        self, flags: str, address: str, expected: bool
    ) -> None:
        """IFF_MULTICAST where the OS reports flags; every non-loopback adapter on Windows."""
        assert _multicast_capable(flags, IPv4Interface(address)) is expected

    @pytest.mark.netns
    def test_every_address_netmask_and_the_mac_of_an_interface_in_a_namespace(self) -> None:
        """Inside a namespace of our own: a primary and a secondary address (the old SIOCGIFADDR
        ioctl saw only the first), their netmasks, the MAC as set, and no down interface."""
        if os.geteuid() != 0 or shutil.which("ip") is None:
            pytest.skip("needs root and iproute2 to create a network namespace")
        namespace = f"cal-l15if{os.getpid() % 100000}-ns"
        commands = [
            ["ip", "netns", "add", namespace],
            ["ip", "-n", namespace, "link", "add", "cam0", "type", "veth", "peer", "name", "cam1"],
            ["ip", "-n", namespace, "link", "set", "cam0", "address", "58:50:ed:00:15:01"],
            ["ip", "-n", namespace, "addr", "add", "198.51.100.1/24", "dev", "cam0"],
            ["ip", "-n", namespace, "addr", "add", "198.18.7.1/16", "dev", "cam0"],
            ["ip", "-n", namespace, "link", "set", "cam1", "address", "58:50:ed:00:15:02"],
            ["ip", "-n", namespace, "addr", "add", "198.18.9.1/24", "dev", "cam1"],
            ["ip", "-n", namespace, "link", "add", "off0", "type", "veth", "peer", "name", "off1"],
            ["ip", "-n", namespace, "addr", "add", "198.18.11.1/24", "dev", "off0"],
            ["ip", "-n", namespace, "link", "set", "cam0", "up"],
            ["ip", "-n", namespace, "link", "set", "cam1", "up"],
        ]
        try:
            for command in commands:
                done = subprocess.run(command, capture_output=True, text=True, timeout=10)
                if done.returncode != 0:
                    pytest.skip(f"{' '.join(command)}: {done.stderr.strip()}")
            listing = subprocess.run(
                ["ip", "netns", "exec", namespace, sys.executable, "-c", LIST_INTERFACES],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
                cwd=Path(__file__).resolve().parents[1],
            )
        finally:
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=10)
        seen = sorted(tuple(row) for row in json.loads(listing.stdout))
        # off0 was never set up, so it is not listed.
        assert seen == [
            ("cam0", "198.18.7.1/16", "58:50:ed:00:15:01", True),
            ("cam0", "198.51.100.1/24", "58:50:ed:00:15:01", True),
            ("cam1", "198.18.9.1/24", "58:50:ed:00:15:02", True),
        ]


LIST_INTERFACES = """
import json
from camaudit.net import list_interfaces
print(json.dumps([
    [i.name, str(i.address), i.mac, i.multicast]
    for i in list_interfaces() if not i.address.is_loopback
]))
"""


class TestMulticastSockets:
    async def test_a_pinned_sender_is_bound_to_its_device_on_linux(self) -> None:
        """SO_BINDTODEVICE where Linux has it; IP_MULTICAST_IF names the interface's address.
        Nothing is sent: the socket is only opened and inspected."""
        option = getattr(socket, "SO_BINDTODEVICE", None)
        if option is None:
            pytest.skip("this system has no SO_BINDTODEVICE")
        lo = Interface(name="lo", address=IPv4Interface("127.0.0.1/8"), multicast=False)
        async with Sockets().udp(multicast_interface=lo, bind_device=True) as endpoint:
            sock = endpoint._transport.get_extra_info("socket")  # noqa: SLF001
            device = sock.getsockopt(socket.SOL_SOCKET, option, 16)
            chosen = sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4)
        assert device.rstrip(b"\0") == b"lo"
        assert socket.inet_ntoa(chosen) == "127.0.0.1"

    async def test_an_unpinned_sender_is_not_bound_to_a_device(self) -> None:
        """Without bind_device the socket may use any link (it also sends directed unicast)."""
        option = getattr(socket, "SO_BINDTODEVICE", None)
        if option is None:
            pytest.skip("this system has no SO_BINDTODEVICE")
        lo = Interface(name="lo", address=IPv4Interface("127.0.0.1/8"), multicast=False)
        async with Sockets().udp(multicast_interface=lo) as endpoint:
            sock = endpoint._transport.get_extra_info("socket")  # noqa: SLF001
            assert sock.getsockopt(socket.SOL_SOCKET, option, 16).rstrip(b"\0") == b""


async def test_collect_keeps_what_arrived_even_when_the_window_is_over() -> None:
    """A listening window that ran out while targets were still being found (for_s=0) still
    returns the replies already queued: a late window must not drop early answers."""
    async with Sockets().udp(bind=("127.0.0.1", 0)) as endpoint:
        address = endpoint._transport.get_extra_info("sockname")
        endpoint.send(b"early reply", address)
        await asyncio.sleep(0.2)
        replies = await endpoint.collect(for_s=0)
    assert [reply.payload for reply in replies] == [b"early reply"]

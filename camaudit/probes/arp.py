"""MACs of on-link targets: an ARP sweep (root, Linux), else the system's neighbour table.

arp_codec builds and reads the frames; the I/O is an AF_PACKET socket driven by the asyncio loop.
macOS and Windows have no AF_PACKET, so there (and without root) the probe reads the neighbour
table the OS prints (`arp -an`, `arp -a`), which holds every host this machine spoke to lately.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterable
from ipaddress import IPv4Address
from pathlib import Path
from typing import ClassVar

from camaudit.errors import ProbeError, ProbeUnavailable
from camaudit.hostos import has_packet_sockets, is_privileged
from camaudit.models import Evidence
from camaudit.neighbour_table import (
    Neighbour,
    command_for,
    decode_table,
    parse_for,
    parse_proc_net_arp,
)
from camaudit.net import Interface, ListenWindow
from camaudit.options import ARP_SETTLE_S, QUIET_S
from camaudit.probes.arp_codec import ETH_P_ARP, read_is_at, who_has
from camaudit.probes.base import DiscoveryProbe, ProbeContext

log = logging.getLogger(__name__)

NEIGHBOUR_TABLE = Path("/proc/net/arp")
NEEDS_ROOT = "arp: needs root (CAP_NET_RAW) for an ARP sweep; run as root or use --skip-probe arp"
NO_PACKET_SOCKETS = (
    "arp: no ARP sweep on this system (it needs Linux packet sockets) and the neighbour table "
    "holds no in-scope host; use --skip-probe arp"
)
TABLE_COMMAND_TIMEOUT_S = 5.0  # `arp -a` answers at once; a hung resolver must not hold the scan
MAX_ARP_FRAMES = 65_536  # frames read per sweep at most (a flood cannot keep us reading)


class ArpProbe(DiscoveryProbe):
    """Learn the MAC (and so the OUI) of every in-scope host on a directly connected network."""

    name: ClassVar[str] = "arp"
    description: ClassVar[str] = "ARP who-has for on-link targets (root), else the neighbour table"

    def __init__(self, neighbour_table: Path | None = None) -> None:
        # A /proc/net/arp-format file to read instead of asking the system (tests).
        self.neighbour_table = neighbour_table

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        """One "mac" evidence per in-scope host with a known MAC; no packets without interfaces."""
        found: dict[IPv4Address, str] = {}
        why_not_swept: str | None = None
        # Every on-link address, not only the live ones: one who-has each is as cheap as the
        # reachability pass and itself finds hosts that drop TCP.
        on_link = on_link_targets(ctx.interfaces, ctx.scope.addresses())
        if on_link and not has_packet_sockets():
            why_not_swept = NO_PACKET_SOCKETS
        elif on_link:
            try:
                found = await self._sweep(ctx, on_link)
            except PermissionError:
                why_not_swept = NEEDS_ROOT
                ctx.log_once(
                    "arp: no permission for an ARP sweep; using the kernel neighbour table"
                )
        for neighbour in await asyncio.to_thread(self._read_table):
            if neighbour.ip in ctx.scope:
                found.setdefault(neighbour.ip, neighbour.mac)
        if why_not_swept is not None and not found:
            raise ProbeUnavailable(why_not_swept)
        return [
            Evidence(host=ip, channel="mac", value=mac, probe=self.name)
            for ip, mac in sorted(found.items())
        ]

    def _read_table(self) -> list[Neighbour]:
        if self.neighbour_table is not None:
            return read_neighbour_table(self.neighbour_table)
        return read_system_neighbours()

    async def _sweep(
        self, ctx: ProbeContext, on_link: dict[Interface, list[IPv4Address]]
    ) -> dict[IPv4Address, str]:
        if not is_privileged():
            raise PermissionError("not root")
        found: dict[IPv4Address, str] = {}
        for interface, addresses in on_link.items():
            try:
                found |= await arp_sweep(ctx, interface, addresses)
            except PermissionError:
                raise
            except OSError as exc:
                raise ProbeError(f"arp: sweep on {interface.name} failed: {exc}") from exc
        return found


def on_link_targets(
    interfaces: Iterable[Interface], targets: Iterable[IPv4Address]
) -> dict[Interface, list[IPv4Address]]:
    """In-scope addresses grouped by the interface whose network holds them (ARP stays on-link)."""
    usable = [i for i in interfaces if not i.address.ip.is_loopback]
    grouped: dict[Interface, list[IPv4Address]] = {}
    for address in targets:
        for interface in usable:
            if address in interface.network and address != interface.address.ip:
                grouped.setdefault(interface, []).append(address)
                break
    return grouped


async def arp_sweep(
    ctx: ProbeContext, interface: Interface, addresses: list[IPv4Address]
) -> dict[IPv4Address, str]:
    """ARP who-has for each address on one interface, paced by the scan's rate limiter; the
    answers' MACs by address. Raises PermissionError without CAP_NET_RAW."""
    # NOTE: AF_PACKET exists only on Linux; the caller checked has_packet_sockets() first.
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    try:
        sock.bind((interface.name, ETH_P_ARP))
        sock.setblocking(False)
        own_mac = bytes(sock.getsockname()[4][:6])
        source = interface.address.ip
        wanted = set(addresses)
        found: dict[IPv4Address, str] = {}
        # Hosts answer within milliseconds; the window covers slow stacks and the last sends.
        window = ListenWindow(ctx.options.arp_listen_s, settle_s=ARP_SETTLE_S, quiet_s=QUIET_S)
        listener = asyncio.create_task(_collect_replies(sock, wanted, found, window))
        loop = asyncio.get_running_loop()
        try:
            for address in addresses:
                await ctx.limiter.acquire()
                await loop.sock_sendall(sock, who_has(own_mac, source, address))
                window.sent()
            await window.wait()
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
    finally:
        sock.close()
    log.debug("arp: %d of %d answered on %s", len(found), len(addresses), interface.name)
    return found


async def _collect_replies(
    sock: socket.socket,
    wanted: set[IPv4Address],
    found: dict[IPv4Address, str],
    window: ListenWindow,
) -> None:
    """Read ARP frames until cancelled, keeping is-at answers about addresses we asked for."""
    loop = asyncio.get_running_loop()
    for _ in range(MAX_ARP_FRAMES):
        answer = read_is_at(await loop.sock_recv(sock, 2048))
        # Anyone on the segment may answer; keep only answers about addresses we asked for.
        if answer is not None and answer.ip in wanted and answer.mac is not None:
            found.setdefault(answer.ip, answer.mac)
            window.heard()


def read_system_neighbours(platform: str = sys.platform) -> list[Neighbour]:
    """Blocking: the resolved entries of this system's neighbour table, from the command each OS
    has for it (empty if it cannot be run); Linux without iproute2 reads /proc/net/arp."""
    command = command_for(platform)
    executable = shutil.which(command[0])
    if executable is None:
        log.debug("arp: %s is not installed", command[0])
        return read_neighbour_table() if platform.startswith("linux") else []
    try:
        done = subprocess.run(
            [executable, *command[1:]],
            capture_output=True,
            timeout=TABLE_COMMAND_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.debug("arp: %s failed: %s", " ".join(command), exc)
        return []
    return parse_for(platform, decode_table(done.stdout))


def read_neighbour_table(path: Path = NEIGHBOUR_TABLE) -> list[Neighbour]:
    """Blocking: completed entries of a /proc/net/arp-format file (empty if it cannot be read)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        log.debug("arp: cannot read %s: %s", path, exc)
        return []
    return parse_proc_net_arp(text)

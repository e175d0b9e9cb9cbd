"""MACs of on-link targets: an ARP sweep with scapy (root), else the kernel's neighbour table."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable
from ipaddress import IPv4Address
from pathlib import Path
from typing import ClassVar

from camaudit.errors import ProbeError, ProbeUnavailable
from camaudit.models import Evidence
from camaudit.net import Interface
from camaudit.probes.base import DiscoveryProbe, ProbeContext
from camaudit.probes.neighbours import Neighbour, normalise_mac, parse_proc_net_arp

log = logging.getLogger(__name__)

NEIGHBOUR_TABLE = Path("/proc/net/arp")
NEEDS_ROOT = "arp: needs root (CAP_NET_RAW) for an ARP sweep; run as root or use --skip-probe arp"
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"


class ArpProbe(DiscoveryProbe):
    """Learn the MAC (and so the OUI) of every in-scope host on a directly connected network."""

    name: ClassVar[str] = "arp"
    description: ClassVar[str] = "ARP who-has for on-link targets (root), else /proc/net/arp"

    def __init__(self, neighbour_table: Path = NEIGHBOUR_TABLE) -> None:
        self.neighbour_table = neighbour_table

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        """One "mac" evidence per in-scope host with a known MAC; no packets without interfaces."""
        found: dict[IPv4Address, str] = {}
        denied = False
        on_link = on_link_targets(ctx.interfaces, ctx.unicast_targets())
        if on_link:
            try:
                found = await self._sweep(ctx, on_link)
            except PermissionError:
                denied = True
                ctx.log_once(
                    "arp: no permission for an ARP sweep; using the kernel neighbour table"
                )
        for neighbour in await asyncio.to_thread(read_neighbour_table, self.neighbour_table):
            if neighbour.ip in ctx.scope:
                found.setdefault(neighbour.ip, neighbour.mac)
        if denied and not found:
            raise ProbeUnavailable(NEEDS_ROOT)
        return [
            Evidence(host=ip, channel="mac", value=mac, probe=self.name)
            for ip, mac in sorted(found.items())
        ]

    async def _sweep(
        self, ctx: ProbeContext, on_link: dict[Interface, list[IPv4Address]]
    ) -> dict[IPv4Address, str]:
        if os.geteuid() != 0:
            raise PermissionError("not root")
        # Spread the who-has packets at the scan's rate (scapy's `inter` is seconds between).
        inter_s = 1.0 / max(ctx.options.rate, 1.0)
        found: dict[IPv4Address, str] = {}
        for interface, addresses in on_link.items():
            try:
                found |= await asyncio.to_thread(
                    arp_sweep, interface, addresses, ctx.options.arp_listen_s, inter_s
                )
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


def arp_sweep(
    interface: Interface, addresses: list[IPv4Address], timeout_s: float, inter_s: float
) -> dict[IPv4Address, str]:
    """Blocking: ARP who-has for each address on one interface; the answers' MACs by address."""
    # NOTE: scapy takes ~0.8 s and 70 MB to import, so only a scan that sweeps pays for it.
    from scapy.layers.l2 import ARP, Ether
    from scapy.sendrecv import srp

    source = str(interface.address.ip)
    packets = [Ether(dst=BROADCAST_MAC) / ARP(pdst=str(a), psrc=source) for a in addresses]
    answered, _unanswered = srp(
        packets, iface=interface.name, timeout=timeout_s, inter=inter_s, verbose=False
    )
    wanted = set(addresses)
    found: dict[IPv4Address, str] = {}
    for _request, answer in answered:
        arp = answer[ARP]
        ip, mac = IPv4Address(arp.psrc), normalise_mac(str(arp.hwsrc))
        # Anyone on the segment may answer; keep only answers about addresses we asked for.
        if ip in wanted and mac is not None:
            found.setdefault(ip, mac)
    log.debug("arp: %d of %d answered on %s", len(found), len(addresses), interface.name)
    return found


def read_neighbour_table(path: Path = NEIGHBOUR_TABLE) -> list[Neighbour]:
    """Blocking: completed entries of the kernel's neighbour table (empty if it cannot be read)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        log.debug("arp: cannot read %s: %s", path, exc)
        return []
    return parse_proc_net_arp(text)

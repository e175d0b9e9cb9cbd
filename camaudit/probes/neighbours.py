"""A parser for the kernel's IPv4 neighbour table (/proc/net/arp)."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import AddressValueError, IPv4Address

from camaudit.identity import normalise_mac

# Linux include/uapi/linux/if_arp.h: ATF_COM marks a completed entry (the MAC is known).
ATF_COM = 0x02
ARPHRD_ETHER = 0x1  # same header: Ethernet hardware type


@dataclass(frozen=True, slots=True, kw_only=True)
class Neighbour:
    """One completed entry of the kernel's neighbour table."""

    ip: IPv4Address
    mac: str  # lower-case colon form
    device: str


def parse_proc_net_arp(text: str) -> list[Neighbour]:
    """Completed Ethernet entries of /proc/net/arp text; incomplete or zero-MAC rows are left out.

    Columns: `IP address  HW type  Flags  HW address  Mask  Device` (a header line first).
    """
    neighbours: list[Neighbour] = []
    for line in text.splitlines()[1:]:
        entry = _parse_line(line)
        if entry is not None:
            neighbours.append(entry)
    return neighbours


def _parse_line(line: str) -> Neighbour | None:
    fields = line.split()
    if len(fields) != 6:
        return None
    address, hw_type, flags, hw_address, _mask, device = fields
    try:
        ip = IPv4Address(address)
        is_ethernet = int(hw_type, 16) == ARPHRD_ETHER
        completed = bool(int(flags, 16) & ATF_COM)
    except (AddressValueError, ValueError):
        return None
    mac = normalise_mac(hw_address)
    if not (is_ethernet and completed) or mac is None:
        return None
    return Neighbour(ip=ip, mac=mac, device=device)

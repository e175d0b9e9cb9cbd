"""MAC address normalisation and a parser for the kernel's IPv4 neighbour table (/proc/net/arp)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import AddressValueError, IPv4Address

# Linux include/uapi/linux/if_arp.h: ATF_COM marks a completed entry (the MAC is known).
ATF_COM = 0x02
ARPHRD_ETHER = 0x1  # same header: Ethernet hardware type

_MAC_DIGITS = re.compile(r"[0-9a-f]{12}")
_SEPARATORS = re.compile(r"[:\-.\s]")
_UNUSABLE_MACS = frozenset({"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"})


def normalise_mac(text: str) -> str | None:
    """A MAC as lower-case colon form (`58:50:ed:1f:e3:85`), or None if it is not a usable MAC.

    Accepts the spellings devices use: `58-50-ed-1f-e3-85` (SADP), `5850.ed1f.e385`,
    `5850ED1FE385`. All-zero and broadcast addresses are not a device's MAC, so they give None.
    """
    digits = _SEPARATORS.sub("", text.strip().lower())
    if not _MAC_DIGITS.fullmatch(digits):
        return None
    mac = ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    return None if mac in _UNUSABLE_MACS else mac


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

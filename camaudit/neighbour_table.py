"""The system's IPv4 neighbour (ARP) table as each OS prints it, parsed to one kind of entry.

Linux `ip -4 neigh show` (or /proc/net/arp where iproute2 is missing), macOS/BSD `arp -an` and
Windows `arp -a`. Only the parts that do not
depend on the user's language are read: addresses and MACs, never column titles or the Windows
"dynamic"/"static" words (they are translated: "동적"/"정적" on a Korean system). Pure: the
command is run by the ARP probe.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import AddressValueError, IPv4Address

from camaudit.identity import normalise_mac

MAX_TABLE_BYTES = 4 * 1024 * 1024  # a neighbour table larger than this is cut (a /16 is ~5 MB)
_IPV4 = r"\d{1,3}(?:\.\d{1,3}){3}"
# macOS/BSD: "? (192.0.2.7) at 0:c:29:4:37:a4 on en0 ifscope [ethernet]"; net-tools on Linux
# puts "[ether]" before "on".
_BSD_LINE = re.compile(rf"\((?P<ip>{_IPV4})\) at (?P<mac>\S+)(?: \[\w+\])? on (?P<device>\S+)")
# Windows: "  192.0.2.7           00-e0-98-00-7c-dc     dynamic" (the last word is translated).
_WINDOWS_ENTRY = re.compile(
    rf"^\s*(?P<ip>{_IPV4})\s+(?P<mac>(?:[0-9a-fA-F]{{2}}-){{5}}[0-9a-fA-F]{{2}})\s"
)
_WINDOWS_INTERFACE = re.compile(rf"(?P<ip>{_IPV4})")
# Linux include/uapi/linux/if_arp.h: ATF_COM marks a completed entry, ARPHRD_ETHER is Ethernet.
ATF_COM = 0x02
ARPHRD_ETHER = 0x1
# iproute2 states without a usable link-layer address (ip-neighbour(8)).
BROADCAST = IPv4Address("255.255.255.255")
_UNRESOLVED_STATES = frozenset({"incomplete", "failed", "none"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Neighbour:
    """One resolved entry of the neighbour table: an address, its MAC, where it was seen."""

    ip: IPv4Address
    mac: str  # lower-case colon form
    device: str  # interface name (Windows: the interface's own address)


def command_for(platform: str = sys.platform) -> tuple[str, ...]:
    """The command that prints the neighbour table on a platform (sys.platform spelling)."""
    if platform.startswith("linux"):
        return ("ip", "-4", "neigh", "show")
    if platform == "win32":
        return ("arp", "-a")
    return ("arp", "-an")  # macOS and the BSDs


def decode_table(raw: bytes) -> str:
    """The command's output as text: addresses and MACs are ASCII in every console code page
    (cp949, cp1252, UTF-8...), and nothing else is read, so other bytes become U+FFFD."""
    return raw[:MAX_TABLE_BYTES].decode("ascii", errors="replace")


def parse_for(platform: str, text: str) -> list[Neighbour]:
    """Parse the output of `command_for(platform)`."""
    if platform.startswith("linux"):
        return parse_ip_neigh(text)
    if platform == "win32":
        return parse_windows_arp(text)
    return parse_bsd_arp(text)


def parse_ip_neigh(text: str) -> list[Neighbour]:
    """`ip -4 neigh show`: "ADDR dev DEV lladdr MAC [router] STATE"; unresolved rows dropped."""
    entries: list[Neighbour | None] = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 5 or "lladdr" not in words or "dev" not in words:
            continue
        if _UNRESOLVED_STATES & {word.lower() for word in words}:
            continue
        entries.append(_entry(words[0], _after(words, "lladdr"), _after(words, "dev")))
    return _usable(entries)


def parse_bsd_arp(text: str) -> list[Neighbour]:
    """`arp -an` on macOS and the BSDs (and net-tools `arp -an` on Linux)."""
    entries: list[Neighbour | None] = []
    for line in text.splitlines():
        found = _BSD_LINE.search(line)
        if found is not None:  # "(incomplete)" is no MAC and falls out in _entry
            entries.append(_entry(found["ip"], found["mac"], found["device"]))
    return _usable(entries)


def parse_windows_arp(text: str) -> list[Neighbour]:
    """`arp -a` on Windows, in any language: entry rows are an address then a dashed MAC; any
    other row holding an address opens the next interface's section."""
    entries: list[Neighbour | None] = []
    interface = ""
    for line in text.splitlines():
        entry = _WINDOWS_ENTRY.match(line + " ")
        if entry is not None:
            entries.append(_entry(entry["ip"], entry["mac"], interface))
            continue
        header = _WINDOWS_INTERFACE.search(line)
        if header is not None:
            interface = header["ip"]
    return _usable(entries)


def parse_proc_net_arp(text: str) -> list[Neighbour]:
    """Linux /proc/net/arp: `IP address  HW type  Flags  HW address  Mask  Device` after a header
    line; only completed Ethernet rows."""
    entries: list[Neighbour | None] = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) != 6:
            continue
        address, hw_type, flags, hw_address, _mask, device = fields
        try:
            usable = int(hw_type, 16) == ARPHRD_ETHER and bool(int(flags, 16) & ATF_COM)
        except ValueError:
            continue
        if usable:
            entries.append(_entry(address, hw_address, device))
    return _usable(entries)


def _after(words: list[str], key: str) -> str:
    index = words.index(key)
    return words[index + 1] if index + 1 < len(words) else ""


def _entry(address: str, mac_text: str, device: str) -> Neighbour | None:
    try:
        ip = IPv4Address(address)
    except AddressValueError:
        return None
    mac = normalise_mac(mac_text)
    if mac is None:
        return None
    return Neighbour(ip=ip, mac=mac, device=device)


def _usable(entries: Iterable[Neighbour | None]) -> list[Neighbour]:
    """Entries that name a device: no group or broadcast addresses, no group or zero MACs
    (Windows lists 224.0.0.22 -> 01-00-5e-00-00-16 and x.x.x.255 -> ff-ff-ff-ff-ff-ff)."""
    kept: list[Neighbour] = []
    for entry in entries:
        if entry is None:
            continue
        if entry.ip.is_multicast or entry.ip.is_unspecified or entry.ip == BROADCAST:
            continue
        first_octet = int(entry.mac[:2], 16)
        if first_octet & 0x01 or entry.mac == "00:00:00:00:00:00":  # group bit (IEEE 802)
            continue
        kept.append(entry)
    return kept

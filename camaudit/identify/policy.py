"""Compliance policies (fingerprints/policies/*.toml): which makers to flag, and why."""

from __future__ import annotations

import dataclasses
import functools
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from camaudit.errors import ConfigError
from camaudit.identify import vocabulary
from camaudit.models import Device, Verdict

DEFAULT_POLICY = "uk-2022"
FLAGGED_VERDICTS = frozenset({Verdict.CONFIRMED, Verdict.LIKELY})
_POLICY_KEYS = frozenset({"id", "title", "as_of", "summary", "sources", "makers"})


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicySource:
    """A public document a policy rests on."""

    title: str
    url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ListedMaker:
    """One maker a policy lists, with the reason and its source."""

    maker: str
    reason: str
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """A named list of makers whose (confirmed or likely) devices are flagged."""

    id: str
    title: str
    as_of: date | None = None  # the date of the text the pack follows
    summary: str = ""
    sources: tuple[PolicySource, ...] = ()
    makers: tuple[ListedMaker, ...] = ()

    def listed(self, maker: str | None) -> ListedMaker | None:
        """The entry for a maker id, if the policy lists it."""
        return next((entry for entry in self.makers if entry.maker == maker), None)

    def apply(self, device: Device) -> Device:
        """The device with flagged/flag_reason set: listed maker AND verdict confirmed or likely."""
        if self.listed(device.maker) is None or device.verdict not in FLAGGED_VERDICTS:
            return dataclasses.replace(device, flagged=False, flag_reason=None)
        return dataclasses.replace(device, flagged=True, flag_reason=self.reason(device))

    def reason(self, device: Device) -> str:
        """'made by Dahua (likely; brand Lorex) - uk-2022: <title>'."""
        maker = device.maker or ""
        display = vocabulary.load_identifiers().maker_display(maker)
        detail = device.verdict.value
        if device.brand and device.brand.casefold() != display.casefold():
            detail += f"; brand {device.brand}"
        return f"made by {display} ({detail}) - {self.id}: {self.title}"


def policies_dir() -> Path:
    """Where the shipped policy files live."""
    return vocabulary.fingerprints_dir() / "policies"


def available_policies() -> list[str]:
    """Ids of the shipped policies, sorted."""
    return sorted(path.stem for path in policies_dir().glob("*.toml"))


def _text(data: dict[str, object], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key} must be a non-empty string")
    return value


def _as_of(data: dict[str, object], where: str) -> date | None:
    """The optional as_of date: a TOML date or an ISO "YYYY-MM-DD" string."""
    value = data.get("as_of")
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(f"{where}: as_of must be a date (YYYY-MM-DD)")


def parse_policy(text: str, where: str) -> Policy:
    """Build a Policy from TOML text; ConfigError naming `where` on any problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    unknown = sorted(set(data) - _POLICY_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(unknown)}")
    sources = data.get("sources", [])
    makers = data.get("makers", [])
    if not isinstance(sources, list) or not isinstance(makers, list) or not makers:
        raise ConfigError(f"{where}: sources must be a list and makers a non-empty list")
    known = vocabulary.load_identifiers().makers
    listed = []
    for entry in makers:
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: each makers entry must be a table")
        maker = _text(entry, "maker", where)
        if maker not in known:
            raise ConfigError(f"{where}: maker {maker!r} is not in identifiers/makers.txt")
        listed.append(
            ListedMaker(
                maker=maker,
                reason=_text(entry, "reason", where),
                source=_text(entry, "source", where),
            )
        )
    return Policy(
        id=_text(data, "id", where),
        title=_text(data, "title", where),
        as_of=_as_of(data, where),
        summary=str(data.get("summary", "")),
        sources=tuple(
            PolicySource(title=_text(s, "title", where), url=_text(s, "url", where))
            for s in sources
            if isinstance(s, dict)
        ),
        makers=tuple(listed),
    )


@functools.lru_cache(maxsize=16)
def load_policy(name_or_path: str) -> Policy:
    """A shipped policy by id ("uk-2022"), or a policy file by path."""
    path = Path(name_or_path)
    if not (path.suffix == ".toml" and path.is_file()):
        path = policies_dir() / f"{name_or_path}.toml"
    if not path.is_file():
        choices = ", ".join(available_policies())
        raise ConfigError(
            f"unknown policy {name_or_path!r}; choose one of: {choices}, or a .toml path"
        )
    return parse_policy(path.read_text(encoding="utf-8"), str(path))

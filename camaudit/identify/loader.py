"""Read fingerprint TOML files into Rules; a broken file never loads silently."""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli

from camaudit.errors import FingerprintError
from camaudit.identify import vocabulary
from camaudit.identify.vocabulary import Identifiers

log = logging.getLogger(__name__)

POLICIES_DIR = "policies"
ADVISORIES_DIR = "advisories"  # the firmware advisory table (identify/advisories.py), not rules


@dataclass(frozen=True, slots=True, kw_only=True)
class Example:
    """A sample value a rule must match, and facts it must yield."""

    text: str
    expect: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One [[fingerprint]] table: a pattern on one channel/field and the facts it yields."""

    id: str
    description: str
    channel: str
    field: str
    mode: str  # "anchored" (re.match) or "search" (re.search); "label" is loaded as anchored
    pattern: str
    facts: Mapping[str, str]
    confidence: float
    source: str
    counterexamples: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    path: Path
    index: int  # position in its file: earlier rules win
    problems: tuple[str, ...] = ()  # structural problems found while loading

    @property
    def stem(self) -> str:
        """The file the rule lives in, without suffix ("http_server")."""
        return self.path.stem

    @property
    def ref(self) -> str:
        """How reports and tests name the rule: "<file stem>::<id>"."""
        return f"{self.stem}::{self.id}"

    @property
    def regex(self) -> re.Pattern[str] | None:
        """The compiled pattern; None when it does not compile (a load problem) or is empty.
        Compiled on first use: a scan tries only the rules its values can reach."""
        return compiled(self.pattern) if self.pattern else None

    def apply(self, text: str) -> dict[str, str] | None:
        """The facts this rule yields for `text` (fixed facts plus non-empty captures), or None."""
        if self.regex is None:
            return None
        found = self.regex.search(text) if self.mode == "search" else self.regex.match(text)
        if found is None:
            return None
        facts = dict(self.facts)
        for name, captured in found.groupdict().items():
            if captured and captured.strip():
                facts[name] = captured.strip()
        return facts


@dataclass(frozen=True, slots=True, kw_only=True)
class FingerprintFile:
    """One TOML file: the channel it reads, its preference and its rules in order."""

    path: Path
    channel: str
    preference: float
    rules: tuple[Rule, ...]
    problems: tuple[str, ...] = ()  # file-level structural problems

    @property
    def stem(self) -> str:
        """File name without suffix."""
        return self.path.stem

    def all_problems(self) -> Iterator[tuple[str | None, str]]:
        """(rule id or None, problem) for every structural problem in the file."""
        for problem in self.problems:
            yield None, problem
        for rule in self.rules:
            for problem in rule.problems:
                yield rule.id, problem


@dataclass(frozen=True, slots=True, kw_only=True)
class Database:
    """Every loaded fingerprint file, indexed by channel in preference order."""

    files: tuple[FingerprintFile, ...]
    identifiers: Identifiers
    by_channel: Mapping[str, tuple[FingerprintFile, ...]] = field(default_factory=dict)
    # NOTE: filled lazily by the engine (rule indexes, matches of values already seen); the
    # rules never change after loading, so what is cached stays true. Not part of equality.
    caches: dict[str, dict[Any, Any]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, files: Iterable[FingerprintFile], identifiers: Identifiers) -> Database:
        """Index files by channel: higher preference first, load order breaking ties."""
        ordered = tuple(files)
        by_channel: dict[str, list[FingerprintFile]] = {}
        for item in ordered:
            by_channel.setdefault(item.channel, []).append(item)
        index = {
            channel: tuple(sorted(group, key=lambda f: -f.preference))
            for channel, group in by_channel.items()
        }
        return cls(files=ordered, identifiers=identifiers, by_channel=index)

    def files_for(self, channel: str) -> tuple[FingerprintFile, ...]:
        """The files that read `channel`, most preferred first."""
        return self.by_channel.get(channel, ())

    def rules(self) -> Iterator[Rule]:
        """Every rule of every file, in load order."""
        for item in self.files:
            yield from item.rules

    def file_of(self, rule: Rule) -> FingerprintFile:
        """The file a rule was loaded from."""
        for item in self.files:
            if item.path == rule.path:
                return item
        raise KeyError(rule.ref)

    def rule(self, ref: str) -> Rule:
        """A rule by its "<stem>::<id>" reference."""
        for candidate in self.rules():
            if candidate.ref == ref:
                return candidate
        raise KeyError(ref)


def _as_str_map(value: object, what: str, problems: list[str]) -> dict[str, str]:
    if not isinstance(value, dict):
        problems.append(f"{what} must be a table of strings")
        return {}
    result: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(item, str):
            problems.append(f"{what}.{key} must be a string, not {type(item).__name__}")
            continue
        result[str(key)] = item
    return result


def _decode_b64(text: str) -> str:
    raw = base64.b64decode(text, validate=True)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # NOTE: binary banners (DHIP headers) are not UTF-8; latin-1 keeps one char per byte.
        return raw.decode("latin-1")


def _parse_example(raw: object, number: int, problems: list[str]) -> Example | None:
    where = f"example {number}"
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a table")
        return None
    unknown = sorted(set(raw) - vocabulary.EXAMPLE_KEYS)
    if unknown:
        problems.append(f"{where}: unknown keys {', '.join(unknown)}")
    has_text, has_b64 = "text" in raw, "text_b64" in raw
    if has_text == has_b64:
        problems.append(f"{where}: needs exactly one of text, text_b64")
        return None
    if has_text:
        text = raw["text"]
        if not isinstance(text, str):
            problems.append(f"{where}: text must be a string")
            return None
    else:
        try:
            text = _decode_b64(str(raw["text_b64"]))
        except (binascii.Error, ValueError) as exc:
            problems.append(f"{where}: text_b64 is not valid base64 ({exc})")
            return None
    expect = _as_str_map(raw.get("expect", {}), f"{where}.expect", problems)
    return Example(text=text, expect=expect)


@functools.cache
def compiled(pattern: str) -> re.Pattern[str] | None:
    """`pattern` compiled once per process; None if it does not compile."""
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _compile_problem(pattern: str) -> str | None:
    if compiled(pattern) is not None:
        return None
    try:
        re.compile(pattern)  # again, only for the message
    except re.error as exc:
        return f"pattern does not compile: {exc}"
    return None


def _parse_rule(raw: object, *, index: int, channel: str, path: Path, check_patterns: bool) -> Rule:
    problems: list[str] = []
    table: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if not isinstance(raw, dict):
        problems.append("[[fingerprint]] entry must be a table")
    unknown = sorted(set(table) - vocabulary.RULE_KEYS)
    if unknown:
        problems.append(f"unknown keys: {', '.join(unknown)}")

    def text(key: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if value is None:
            problems.append(f"missing key: {key}")
            return ""
        if not isinstance(value, str):
            problems.append(f"{key} must be a string")
            return ""
        return value

    rule_id = text("id") or f"#{index + 1}"
    pattern = text("pattern")
    mode = text("match", "anchored")
    if mode not in vocabulary.MATCH_MODES:
        problems.append(f'match must be "anchored", "search" or "label", not {mode!r}')
    pattern, unknown_fragments = vocabulary.expand_fragments(pattern)
    problems += [f"(?&{name}) is not a pattern fragment" for name in unknown_fragments]
    if mode == "label":
        # A name, expanded here into the anchored pattern it stands for: everything after
        # loading (the prefilter, verify, matching) sees an ordinary anchored rule.
        if pattern.startswith("^") or pattern.endswith("$"):
            problems.append('a match = "label" pattern is the name alone, without ^ or $')
        pattern, mode = vocabulary.label_pattern(pattern), "anchored"
    confidence = table.get("confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        problems.append("confidence must be a number between 0 and 1")
        confidence = 0.0
    elif not 0.0 <= confidence <= 1.0:
        problems.append(f"confidence {confidence} is outside 0..1")
    counter = table.get("counterexamples", [])
    if not isinstance(counter, list) or not all(isinstance(c, str) for c in counter):
        problems.append("counterexamples must be a list of strings")
        counter = []
    raw_examples = table.get("example", [])
    if not isinstance(raw_examples, list):
        problems.append("example must be an array of tables ([[fingerprint.example]])")
        raw_examples = []
    examples = [_parse_example(item, n + 1, problems) for n, item in enumerate(raw_examples)]
    if check_patterns and pattern and (problem := _compile_problem(pattern)):
        problems.append(problem)
    return Rule(
        id=rule_id,
        description=text("description"),
        channel=channel,
        field=text("field", ""),
        mode=mode,
        pattern=pattern,
        facts=_as_str_map(table.get("facts", {}), "facts", problems),
        confidence=float(confidence),
        source=text("source", ""),
        counterexamples=tuple(counter),
        examples=tuple(e for e in examples if e is not None),
        path=path,
        index=index,
        problems=tuple(problems),
    )


def parse_file(path: Path, *, check_patterns: bool = True) -> FingerprintFile:
    """Read one file leniently: structural problems are recorded, not raised (see load_file).
    Without `check_patterns`, a pattern that does not compile is not found until it is used
    (it then never matches): only for the shipped files, which the test suite verifies."""
    problems: list[str] = []
    try:
        # tomli rather than the standard tomllib (the same parser): its compiled wheels read the
        # shipped files (32 of them then) in 0.07 s instead of 0.2 s, and every scan reads them.
        data = tomli.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomli.TOMLDecodeError) as exc:
        return FingerprintFile(
            path=path, channel="", preference=0.0, rules=(), problems=(str(exc),)
        )
    unknown = sorted(set(data) - vocabulary.FILE_KEYS)
    if unknown:
        problems.append(f"unknown top-level keys: {', '.join(unknown)}")
    channel = data.get("evidence")
    if not isinstance(channel, str) or not channel:
        problems.append("missing or empty key: evidence")
        channel = ""
    preference = data.get("preference", 0.5)
    if isinstance(preference, bool) or not isinstance(preference, int | float):
        problems.append("preference must be a number")
        preference = 0.5
    raw_rules = data.get("fingerprint", [])
    if not isinstance(raw_rules, list):
        problems.append("fingerprint must be an array of tables ([[fingerprint]])")
        raw_rules = []
    rules = tuple(
        _parse_rule(raw, index=n, channel=channel, path=path, check_patterns=check_patterns)
        for n, raw in enumerate(raw_rules)
    )
    return FingerprintFile(
        path=path,
        channel=channel,
        preference=float(preference),
        rules=rules,
        problems=tuple(problems),
    )


def load_file(path: Path) -> FingerprintFile:
    """Read one file; FingerprintError (with path and rule id) on its first structural problem."""
    parsed = parse_file(path)
    for rule_id, problem in parsed.all_problems():
        raise FingerprintError(problem, path=str(path), rule=rule_id)
    return parsed


def fingerprint_paths(directory: Path) -> list[Path]:
    """Every *.toml under `directory` except the policies/ and advisories/ folders, in a stable
    order."""
    if not directory.is_dir():
        return []
    return sorted(
        path
        for path in directory.rglob("*.toml")
        if not {POLICIES_DIR, ADVISORIES_DIR} & set(path.relative_to(directory).parts[:-1])
    )


def collect_files(
    extra_dirs: Sequence[Path] = (), *, check_shipped_patterns: bool = True
) -> list[FingerprintFile]:
    """Parse the shipped files and those in `extra_dirs` leniently (for verify and tests). A
    user's patterns are always compiled here, so a broken one is reported before it is used."""
    shipped = fingerprint_paths(vocabulary.fingerprints_dir())
    extra: list[Path] = []
    for directory in extra_dirs:
        extra += [directory] if directory.is_file() else fingerprint_paths(directory)
    return [parse_file(path, check_patterns=check_shipped_patterns) for path in shipped] + [
        parse_file(path) for path in extra
    ]


def _check_unique_ids(files: Sequence[FingerprintFile]) -> None:
    seen: dict[str, Path] = {}
    for item in files:
        for rule in item.rules:
            if rule.id in seen and seen[rule.id] != rule.path:
                raise FingerprintError(
                    f"id also used in {seen[rule.id]}", path=str(rule.path), rule=rule.id
                )
            seen.setdefault(rule.id, rule.path)


def build_database(files: Sequence[FingerprintFile]) -> Database:
    """A Database over already-parsed files, raising on any structural problem."""
    for item in files:
        for rule_id, problem in item.all_problems():
            raise FingerprintError(problem, path=str(item.path), rule=rule_id)
    _check_unique_ids(files)
    return Database.build(files, vocabulary.load_identifiers())


@functools.lru_cache(maxsize=1)
def lenient_database() -> Database:
    """The shipped files without raising on problems (verify and tests report them instead)."""
    return Database.build(collect_files(), vocabulary.load_identifiers())


@functools.lru_cache(maxsize=1)
def _shipped_database() -> Database:
    # NOTE: the shipped patterns are compiled when first used, not here: compiling all 963
    # took 0.3 s of every scan's start. `fingerprints verify` (run by the test suite) compiles
    # every one of them, so a broken pattern cannot ship.
    return build_database(collect_files(check_shipped_patterns=False))


def load_database(extra_dirs: Sequence[Path] = ()) -> Database:
    """The shipped fingerprints plus user dirs; FingerprintError (path, rule id) on a problem."""
    if not extra_dirs:
        return _shipped_database()
    return build_database(collect_files(tuple(Path(d) for d in extra_dirs)))

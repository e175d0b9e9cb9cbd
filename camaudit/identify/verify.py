"""The checks behind `camaudit fingerprints verify` and tests/fingerprints/test_database.py."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from camaudit.identify import decode, vocabulary
from camaudit.identify.engine import DERIVED_FROM_FACT
from camaudit.identify.loader import (
    Database,
    FingerprintFile,
    Rule,
    collect_files,
    fingerprint_paths,
    lenient_database,
    parse_file,
)
from camaudit.identify.vocabulary import Identifiers

KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MIN_EXAMPLES, MAX_EXAMPLES = 1, 20
SHIPPED_PREFERENCE = (0.1, 0.9)
PATHOLOGICAL_BUDGET_S = 0.050  # CPU seconds per hostile string of up to 1 KiB (backtracking guard;
# CPU time, not wall time, so a busy machine cannot fail a sound rule)
# Growing, two characters at a time at first: a pattern whose work multiplies with every
# character (nested quantifiers) passes the budget at one length and needs minutes, not hours,
# at the next, so verify reports it instead of hanging on it.
PATHOLOGICAL_LENGTHS = (4, 6, 8, 10, 12, 14, 16, 20, 24, 32, 64, 128, 256, 512, 1024)
_FILLERS = ("a", "A", "0", "9", " ", "-", ".", "/", ":", "_", "x1", "A-", "<a>", "%20")


def texts_for(rule: Rule, text: str) -> list[str]:
    """What the rule sees for a sample, decoded as the engine decodes evidence (a whole value
    too: a printed header block or a challenge is matched in its canonical spelling), else the
    sample itself."""
    found = list(decode.iter_fields(rule.channel, text, rule.field))
    return found or [text[: vocabulary.value_limit(rule.channel)]]


def first_facts(rule: Rule, text: str) -> dict[str, str] | None:
    """The facts the rule yields for a sample (first decoded text it matches), or None."""
    for candidate in texts_for(rule, text):
        facts = rule.apply(candidate)
        if facts is not None:
            return facts
    return None


def _structure(rule: Rule, item: FingerprintFile | None) -> list[str]:
    found = list(rule.problems)
    expected = rule.channel.replace(".", "_")
    if rule.channel and rule.channel not in vocabulary.CHANNELS:
        found.append(f"unknown evidence channel {rule.channel!r} (docs/channels.md)")
    if rule.stem != expected:
        found.append(f"file name {rule.path.name!r} does not match evidence {rule.channel!r}")
    if item is not None:
        found += list(item.problems)
    return found


def _identity(rule: Rule, item: FingerprintFile | None, database: Database | None) -> list[str]:
    found: list[str] = []
    if not KEBAB.match(rule.id):
        found.append(f"id {rule.id!r} is not kebab-case")
    if not rule.description.strip():
        found.append("description is empty")
    if item is not None and any(
        other.description == rule.description and other.index != rule.index for other in item.rules
    ):
        found.append(f"description {rule.description!r} is used twice in the file")
    if database is not None:
        clashes = [r.ref for r in database.rules() if r.id == rule.id and r.path != rule.path]
        clashes += [
            f"{r.ref} (same file)"
            for r in database.rules()
            if r.id == rule.id and r.path == rule.path and r.index != rule.index
        ]
        if clashes:
            found.append(f"id {rule.id!r} is also used by {', '.join(clashes)}")
    return found


def _pattern(rule: Rule) -> list[str]:
    found: list[str] = []
    if rule.regex is None:
        return found if rule.problems else ["no pattern"]
    if rule.mode == "search":
        if not vocabulary.search_allowed(rule.channel, rule.field):
            found.append(f'match = "search" is not allowed on {rule.channel} field {rule.field!r}')
    elif not rule.pattern.startswith("^"):
        found.append('pattern must start with "^" (or use match = "search" where allowed)')
    groups = set(rule.regex.groupindex)
    found += [
        f"capture group {n!r} is not a fact name" for n in sorted(groups - vocabulary.FACT_NAMES)
    ]
    found += [
        f"fact {n!r} is not a fact name" for n in sorted(set(rule.facts) - vocabulary.FACT_NAMES)
    ]
    found += [f"fact {n!r} is both fixed and captured" for n in sorted(groups & set(rule.facts))]
    if rule.field and rule.channel not in decode.DECODERS:
        found.append(f"field {rule.field!r} given, but {rule.channel} has no decoded fields")
    return found


def _examples(rule: Rule, item: FingerprintFile | None) -> list[str]:
    found: list[str] = []
    if not MIN_EXAMPLES <= len(rule.examples) <= MAX_EXAMPLES:
        found.append(f"needs {MIN_EXAMPLES}-{MAX_EXAMPLES} examples, has {len(rule.examples)}")
    if rule.regex is None:
        return found
    earlier = (
        [r for r in item.rules if r.index < rule.index and r.field == rule.field] if item else []
    )
    for number, example in enumerate(rule.examples, 1):
        label = f"example {number} ({example.text[:60]!r})"
        facts = first_facts(rule, example.text)
        if facts is None:
            found.append(f"{label} does not match")
            continue
        for key, wanted in example.expect.items():
            if key not in vocabulary.FACT_NAMES:
                found.append(f"{label}: expect key {key!r} is not a fact name")
            elif facts.get(key) != wanted:
                found.append(f"{label}: {key} is {facts.get(key)!r}, expected {wanted!r}")
        found += [
            f"{label} is shadowed by earlier rule {other.id!r}"
            for other in earlier
            if first_facts(other, example.text) is not None
        ]
    return found


def _counterexamples(rule: Rule, item: FingerprintFile | None, database: Database) -> list[str]:
    rules = item.rules if item is not None else (rule,)
    return [
        f"counterexample {text[:60]!r} matches rule {other.id!r}"
        for text in rule.counterexamples
        for other in rules
        if other.field == rule.field and _claims(first_facts(other, text), database)
    ]


def _claims(facts: dict[str, str] | None, database: Database) -> bool:
    """Whether facts a rule yielded say anything about the device. A label-only match (a captured
    brand or model and nothing else) says something only when a brand/model rule reads that label;
    so a catch-all "first word of the Server header" rule may read a counterexample harmlessly."""
    if facts is None:
        return False
    labels = {fact: value for fact, value in facts.items() if fact in DERIVED_FROM_FACT.values()}
    if len(labels) < len(facts):
        return True
    channel_of = {fact: channel for channel, fact in DERIVED_FROM_FACT.items()}
    return any(
        derived.apply(text) is not None
        for fact, value in labels.items()
        for derived in database.rules()
        if derived.channel == channel_of[fact]
        # A field rule reads only what the decoder gives it: the label itself is no field text.
        for text in (
            decode.iter_fields(derived.channel, value, derived.field) if derived.field else (value,)
        )
    )


def _vocabulary_values(rule: Rule, identifiers: Identifiers) -> list[str]:
    found: list[str] = []
    stated: list[tuple[str, str]] = list(rule.facts.items())
    for example in rule.examples:
        stated += list(example.expect.items())
    for key, value in dict.fromkeys(stated):
        if key == "maker" and value not in identifiers.makers:
            found.append(f"maker {value!r} is not in identifiers/makers.txt")
        if key == "device_type" and value not in identifiers.device_types:
            found.append(f"device_type {value!r} is not in identifiers/device_types.txt")
    return found


# Facts that say a maker, directly or through the derived brand/model/serial rules, whose matches
# are capped at (and so may reach) the confidence of the rule that yielded the label.
MAKER_BEARING_FACTS = frozenset({"maker", "brand", "model", "serial"})


def _confidence(rule: Rule) -> list[str]:
    ceiling = vocabulary.WEAK_CONFIDENCE_BY_CHANNEL.get(rule.channel)
    if ceiling is None or rule.confidence <= ceiling:
        return []
    captured = set(rule.regex.groupindex) if rule.regex is not None else set()
    if MAKER_BEARING_FACTS.isdisjoint(captured | set(rule.facts)):
        return []
    return [
        f"{rule.channel} is a weak signal: a rule there yielding a maker, brand or model "
        f"needs confidence <= {ceiling}, not {rule.confidence}"
    ]


def hostile_strings(rule: Rule) -> list[str]:
    """1 KiB-scale strings built to make a backtracking pattern blow up, short ones first."""
    seeds = list(_FILLERS)
    seeds += sorted({ch for ch in rule.pattern if ch.isprintable() and ch not in "()[]{}?*+\\|^$"})
    stems = [""] + [example.text[: len(example.text) // 2] for example in rule.examples[:3]]
    stems += [example.text for example in rule.examples[:3]]
    strings = []
    for length in PATHOLOGICAL_LENGTHS:
        for stem in stems:
            for seed in seeds:
                body = (stem + seed * length)[:length]
                strings.append(body + "\x00")
    return strings


def _pathological(rule: Rule) -> list[str]:
    if rule.regex is None:
        return []
    search = rule.regex.search if rule.mode == "search" else rule.regex.match
    for text in hostile_strings(rule):
        started = time.process_time()
        search(text)
        spent = time.process_time() - started
        if spent > PATHOLOGICAL_BUDGET_S:
            return [
                f"pattern is slow on hostile input ({spent * 1000:.0f} ms on a "
                f"{len(text)}-char string {text[:24]!r}...): avoid nested quantifiers"
            ]
    return []


# A public source is one or more "https://host/path" entries, each optionally followed by a short
# "(note)", separated by "; ". Anything else (a repo shorthand, a file on somebody's disk) cannot
# be checked by a reader of the report, so it is refused.
_SOURCE_ENTRY = re.compile(r"^https://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?:[/?#]\S*)?(?: \([^()]*\))?$")
# A path in the shapes people paste, wherever it starts an entry or a word: a file: URL, home
# (~/), relative (./, ../), a drive (C:\\), absolute (/dir/...) or dir/file.ext with no scheme.
# Inside a URL a slash follows the host, never a space, so URLs do not match. A "(note)" often
# names a device's URL path (/cgi-bin/...), so there only the shapes no URL path takes count,
# and absolute paths under a filesystem's usual top folders.
_ANYWHERE = r"file:|~/|\.{1,2}/|[A-Za-z]:\\|/(?:home|root|tmp|srv|opt|usr|var|mnt|media|Users)/"
_LOCAL_IN_NOTE = re.compile(rf"(?:^|[\s(;])(?:{_ANYWHERE})")
_LOCAL_OUTSIDE_NOTE = re.compile(
    rf"(?:^|[\s(;])(?:{_ANYWHERE}|/[\w.-]+/|[\w.-]+/[\w./-]*\.[A-Za-z]{{2,5}}\b)"
)
_NOTE = re.compile(r"\([^()]*\)")


def names_a_local_path(text: str) -> bool:
    """True when `text` cites a file on a disk rather than a public URL."""
    outside_notes = _NOTE.sub(" ", text)
    return bool(_LOCAL_OUTSIDE_NOTE.search(outside_notes) or _LOCAL_IN_NOTE.search(text))


def source_problems(source: str) -> list[str]:
    """Why a rule's source is not a public URL citation (empty when it is)."""
    text = source.strip()
    if not text:
        return ["source is missing: every rule cites a public source"]
    found = []
    if names_a_local_path(text):
        found.append("source names a local path: cite the public URL of the same fact")
    found += [
        f"source entry {entry[:60]!r} is not a public https:// URL (optionally with a (note))"
        for entry in text.split("; ")
        if not _SOURCE_ENTRY.match(entry.strip())
    ]
    return found


def _preference(item: FingerprintFile | None) -> list[str]:
    if item is None:
        return []
    shipped = vocabulary.fingerprints_dir().resolve()
    low, high = SHIPPED_PREFERENCE
    if item.path.resolve().is_relative_to(shipped) and not low <= item.preference <= high:
        return [f"preference {item.preference} is outside {low}-{high} for a shipped file"]
    return []


def problems(rule: Rule, database: Database | None = None) -> list[str]:
    """Everything wrong with one rule (empty when sound); checks (1)-(10) of the house style."""
    if database is None:
        database = lenient_database()
    try:
        item: FingerprintFile | None = database.file_of(rule)
    except KeyError:
        item = None
    found = _structure(rule, item)
    found += _preference(item)
    found += _identity(rule, item, database)
    found += _pattern(rule)
    found += _examples(rule, item)
    found += _counterexamples(rule, item, database)
    found += _vocabulary_values(rule, database.identifiers)
    found += source_problems(rule.source)
    found += _confidence(rule)
    found += _pathological(rule)
    return found


def file_problems(item: FingerprintFile, database: Database) -> list[str]:
    """Problems of a file that no rule carries (unreadable, or no rules at all)."""
    if item.rules:
        return []
    return list(item.problems) or ["file has no [[fingerprint]] rules"]


def verify_database(database: Database, only: Iterable[Path] | None = None) -> list[str]:
    """One line per problem, "path: rule id: problem", for the files in `only` (default: all)."""
    wanted = {p.resolve() for p in only} if only is not None else None
    lines: list[str] = []
    for item in database.files:
        if wanted is not None and item.path.resolve() not in wanted:
            continue
        lines += [f"{item.path}: {problem}" for problem in file_problems(item, database)]
        for rule in item.rules:
            lines += [f"{item.path}: {rule.id}: {problem}" for problem in problems(rule, database)]
    return lines


def verify_paths(paths: Sequence[Path]) -> list[str]:
    """Verify the given files (or every *.toml in given dirs) alongside the shipped database."""
    chosen: list[Path] = []
    for path in paths:
        chosen += fingerprint_paths(path) if path.is_dir() else [path]
    resolved = {p.resolve() for p in chosen}
    shipped = [f for f in collect_files() if f.path.resolve() not in resolved]
    files = shipped + [parse_file(p) for p in chosen]
    database = Database.build(files, vocabulary.load_identifiers())
    return verify_database(database, only=chosen)

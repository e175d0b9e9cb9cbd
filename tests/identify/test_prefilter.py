"""The literal-prefix prefilter only ever skips rules that cannot match: same first match."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camaudit.identify import decode
from camaudit.identify.loader import Database, Rule, lenient_database
from camaudit.identify.prefilter import RuleIndex, literal_prefix


def rule(pattern: str, *, mode: str = "anchored", index: int = 0) -> Rule:
    """A bare rule with just a pattern."""
    return Rule(
        id=f"r{index}",
        description="d",
        channel="http.server",
        field="",
        mode=mode,
        pattern=pattern,
        facts={},
        confidence=0.5,
        source="https://example.org/",
        path=Path("http_server.toml"),
        index=index,
    )


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("^Dahua Rtsp Server$", ("Dahua Rtsp Server", False)),
        ("^App-webs/", ("App-webs/", False)),
        ("^Hikvision-Webs(?:/(?P<firmware>[\\d.]+))?$", ("Hikvision-Webs", False)),
        ("^(?i:lorex)$", ("lorex", True)),
        ("^(?i:axis(?: communications)?)$", ("axis", True)),
        ("^(?i:tp-link|vigi)$", ("", False)),  # alternation inside the case-blind group
        ("^foo|bar", ("", False)),  # top-level alternation: "bar..." matches too
        ("^Boa/0\\.9", ("Boa/0.9", False)),
        ("^ab?c", ("a", False)),  # the b is optional
        ("^a+b", ("a", False)),
        ("^a{2}", ("", False)),
        ("^\\d+", ("", False)),
        ("^[A-Z]+-", ("", False)),
        ("^(?!x)y", ("", False)),
        ("^Rtsp [^|]+(?:a|b)", ("Rtsp ", False)),  # "|" inside a class or later group is fine
        ("Dahua", ("", False)),
    ],
)
def test_literal_prefix(pattern: str, expected: tuple[str, bool]) -> None:
    """The prefix is what every match surely starts with, or nothing."""
    assert literal_prefix(rule(pattern)) == expected


def test_search_rules_have_no_prefix() -> None:
    """An unanchored search can match anywhere: always a candidate."""
    assert literal_prefix(rule("^<ProbeMatch", mode="search")) == ("", False)


def test_candidates_keep_file_order_and_unkeyed_rules() -> None:
    """A text sees its bucket's rules and every unkeyed rule, in file order."""
    rules = [rule("^Dahua", index=0), rule("^\\w+Webs", index=1), rule("^Daxx", index=2)]
    index = RuleIndex.build(rules)
    assert [r.index for r in index.candidates("Dahua Rtsp Server")] == [0, 1, 2]
    assert [r.index for r in index.candidates("GoAhead-Webs")] == [1]
    assert [r.index for r in index.candidates("D")] == [0, 1, 2]  # too short to key: all
    assert [r.index for r in index.candidates("Dé")] == [0, 1, 2]  # non-ASCII: all


def _first(rules: tuple[Rule, ...], text: str) -> int | None:
    return next((r.index for r in rules if r.apply(text) is not None), None)


def _texts(database: Database) -> list[tuple[tuple[str, str], str]]:
    """Every decoded text of every shipped example and counterexample, by (channel, field)."""
    out = []
    for item in database.files:
        for candidate in item.rules:
            samples = [e.text for e in candidate.examples] + list(candidate.counterexamples)
            for sample in samples:
                for field, text in decode.facets(item.channel, sample):
                    out.append(((str(item.path), field), text))
    return out


def test_shipped_rules_give_the_same_first_match_with_and_without_the_prefilter() -> None:
    """For every shipped example and counterexample, the index picks the rule a full scan picks."""
    database = lenient_database()
    indexes = {}
    full = {}
    for item in database.files:
        for field in {r.field for r in item.rules}:
            rules = tuple(r for r in item.rules if r.field == field)
            full[(str(item.path), field)] = rules
            indexes[(str(item.path), field)] = RuleIndex.build(rules)
    checked = 0
    for key, text in _texts(database):
        if key in indexes:
            assert _first(indexes[key].candidates(text), text) == _first(full[key], text), text
            checked += 1
    assert checked > 500


PATTERNS = ["^Dahua", "^(?i:lorex)", "^App-webs/", "^\\w+Webs", "^Rtsp Server/2\\.0", "^ab?c"]


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("DdAaHhUuLlOoRrEeXxWwBbSsPp-/. 2\u017f\u212a\u0130é")),
        max_size=12,
    ).flatmap(
        lambda tail: st.sampled_from(["", "Dahua", "LOREX", "App-webs/", "ac"]).map(
            lambda head: head + tail
        )
    )
)
def test_prefilter_agrees_with_a_full_scan_on_any_text(text: str) -> None:
    """Random texts (with the letters re folds onto ASCII) never lose a match to the index."""
    rules = tuple(rule(p, index=n) for n, p in enumerate(PATTERNS))
    index = RuleIndex.build(rules)
    assert _first(index.candidates(text), text) == _first(rules, text)

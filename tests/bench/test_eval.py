"""The held-back evaluation harness (bench/eval.py) counts right, and the held-back set is sound.

The harness runs here on a tiny made-up observation file judged against a tiny made-up
fingerprint file, so every expected number is known. Only test_heldout_set_is_well_formed reads
bench/eval/heldout.jsonl, and only to check its shape (never its verdicts).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import eval as harness
from camaudit.identify.loader import Database, parse_file
from camaudit.identify.policy import load_policy
from camaudit.identify.verify import names_a_local_path
from camaudit.identify.vocabulary import CHANNELS, load_identifiers

RULES = """\
evidence = "http.server"
preference = 0.5

[[fingerprint]]
id = "test-hik-webs"
description = "made-up Hikvision server name"
pattern = '^Test-Hik-Webs$'
facts = { maker = "hikvision", device_type = "ip-camera" }
confidence = 0.95
source = "https://example.org/test-hik"
example = [{ text = "Test-Hik-Webs", expect = { maker = "hikvision" } }]

[[fingerprint]]
id = "test-axis-httpd"
description = "made-up Axis server name"
pattern = '^Test-Axis-Httpd$'
facts = { maker = "axis", device_type = "ip-camera" }
confidence = 0.95
source = "https://example.org/test-axis"
example = [{ text = "Test-Axis-Httpd", expect = { maker = "axis" } }]

[[fingerprint]]
id = "test-router-calls-itself-hik"
description = "made-up rule that wrongly names a router Hikvision"
pattern = '^Test-Router$'
facts = { maker = "hikvision", device_type = "ip-camera" }
confidence = 0.95
source = "https://example.org/test-router"
example = [{ text = "Test-Router", expect = { maker = "hikvision" } }]

[[fingerprint]]
id = "test-generic-named"
description = "made-up rule that names a maker from a stock server"
pattern = '^Test-Stock-Httpd$'
facts = { maker = "axis" }
confidence = 0.95
source = "https://example.org/test-stock"
example = [{ text = "Test-Stock-Httpd", expect = { maker = "axis" } }]

[[fingerprint]]
id = "test-misnamed-axis"
description = "made-up rule that calls an Axis camera Hikvision"
pattern = '^Test-Axis-Lookalike$'
facts = { maker = "hikvision", device_type = "ip-camera" }
confidence = 0.95
source = "https://example.org/test-lookalike"
example = [{ text = "Test-Axis-Lookalike", expect = { maker = "hikvision" } }]
"""

# (id, value, maker, kind, family): what each made-up observation should be judged to be.
OBSERVATIONS = [
    ("hik-1", "Test-Hik-Webs", "hikvision", "camera", True),  # flagged, right maker
    ("hik-2", "Unknown-Hik-Shape", "hikvision", "recorder", True),  # missed
    ("axis-1", "Test-Axis-Httpd", "axis", "camera", False),  # right maker, not flagged
    ("axis-2", "Test-Axis-Lookalike", "axis", "camera", False),  # wrongly flagged
    ("router-1", "Test-Router", None, "not_camera", False),  # a router called a camera
    ("printer-1", "Nothing-Matches", None, "not_camera", False),  # fine
    ("stock-1", "Test-Stock-Httpd", None, "generic", False),  # a generic server named a maker
    ("stock-2", "lighttpd/1.4.35", None, "generic", False),  # fine
]


def observation_line(oid: str, value: str, maker: str | None, kind: str, family: bool) -> str:
    return json.dumps(
        {
            "id": oid,
            "channel": "http.server",
            "value": value,
            "maker": maker,
            "kind": kind,
            "family": family,
            "brand": None,
            "source": f"https://example.org/{oid}",
            "note": "made up for the harness test",
        }
    )


@pytest.fixture
def database(tmp_path: Path) -> Database:
    path = tmp_path / "http_server.toml"
    path.write_text(RULES, encoding="utf-8")
    return Database.build([parse_file(path)], load_identifiers())


@pytest.fixture
def scores(tmp_path: Path, database: Database) -> harness.Scores:
    path = tmp_path / "observations.jsonl"
    path.write_text("\n".join(observation_line(*row) for row in OBSERVATIONS) + "\n")
    observations = harness.load_observations(path)
    assert harness.problems(observations) == []
    policy = load_policy("uk-2022")
    return harness.score([(o, harness.judge(o, database, policy)) for o in observations])


def test_family_recall_and_precision_count_flags(scores: harness.Scores) -> None:
    # hik-1 flagged, hik-2 missed; flags went to hik-1, axis-2 and router-1.
    assert (scores.family_recall.hits, scores.family_recall.total) == (1, 2)
    assert (scores.family_precision.hits, scores.family_precision.total) == (1, 3)


def test_maker_accuracy_counts_cameras_and_recorders_only(scores: harness.Scores) -> None:
    # Cameras/recorders: hik-1 right, hik-2 unknown, axis-1 right, axis-2 named hikvision.
    assert (scores.maker_accuracy.hits, scores.maker_accuracy.total) == (2, 4)
    assert {m: (r.hits, r.total) for m, r in scores.by_maker.items()} == {
        "axis": (1, 2),
        "hikvision": (1, 2),
    }
    assert {c: (r.hits, r.total) for c, r in scores.by_channel.items()} == {"http.server": (2, 4)}


def test_false_alarms_are_listed_by_id(scores: harness.Scores) -> None:
    assert scores.non_camera_called_camera == ("router-1",)
    assert scores.other_maker_flagged == ("axis-2",)
    assert scores.generic_named_maker == ("stock-1",)
    assert scores.counts["kind camera"] == 3
    assert scores.counts["channel http.server"] == len(OBSERVATIONS)


def test_targets_unmet_are_named(scores: harness.Scores) -> None:
    unmet = " ".join(harness.targets_met(scores))
    for words in ("family recall", "maker accuracy", "non-camera", "other-maker"):
        assert words in unmet


def test_a_bad_line_names_its_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(observation_line(*OBSERVATIONS[0]) + "\n{not json}\n")
    with pytest.raises(harness.HeldoutError, match="line 2"):
        harness.load_observations(path)


def test_check_exits_one_when_targets_are_unmet(tmp_path: Path) -> None:
    path = tmp_path / "observations.jsonl"
    path.write_text(observation_line("hik-x", "No-Rule-Knows-This", "hikvision", "camera", True))
    assert harness.main(["--file", str(path)]) == 0
    assert harness.main(["--file", str(path), "--check"]) == 1


def test_heldout_set_is_well_formed() -> None:
    observations = harness.load_observations(harness.HELDOUT)
    assert len(observations) >= 40
    assert harness.problems(observations) == []
    for obs in observations:
        assert obs.source.startswith(("https://", "http://")), obs.id
        assert obs.channel in CHANNELS, obs.id
        assert obs.kind in harness.KINDS, obs.id
        assert not names_a_local_path(obs.source), obs.id


def test_observations_from_a_page_a_rule_cites_or_its_writer_read_are_set_apart(
    tmp_path: Path, database: Database
) -> None:
    """A rule citing an observation's page (fragment and trailing slash aside), or a page listed
    as read while mining, makes that observation not independent; the others stay."""
    lines = [observation_line(*row) for row in OBSERVATIONS[:3]]
    lines[0] = lines[0].replace("https://example.org/hik-1", "https://example.org/test-hik/#c1")
    path = tmp_path / "observations.jsonl"
    path.write_text("\n".join(lines) + "\n")
    seen = tmp_path / "seen.txt"
    seen.write_text("# read while mining\nhttps://example.org/axis-1\n")
    policy = load_policy("uk-2022")
    pairs = [(o, harness.judge(o, database, policy)) for o in harness.load_observations(path)]
    cited = harness.cited_sources(database) | harness.seen_sources(seen)
    assert harness.not_independent(pairs, cited) == {"hik-1", "axis-1"}
    text = "\n".join(harness.independent_lines(pairs, {"hik-1", "axis-1"}))
    assert "2 of 3" in text
    assert "family flag recall:   0.0% (0/1)" in text


def test_every_page_on_the_seen_list_is_a_held_back_source() -> None:
    """A typo on the list would quietly keep a read page in the independent scores."""
    held_back = {
        obs.source.rstrip("/").casefold() for obs in harness.load_observations(harness.HELDOUT)
    }
    seen = harness.seen_sources()
    assert seen
    assert seen <= held_back

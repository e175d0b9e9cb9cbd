"""verify.problems catches each kind of broken rule; the loader refuses structural breakage."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from camaudit.commands.fingerprints import fingerprints_group
from camaudit.errors import FingerprintError
from camaudit.identify import verify
from camaudit.identify.loader import Database, load_database, load_file
from tests.identify.conftest import WriteFiles

GOOD = """
    # RTSP Server header.
    evidence = "rtsp.server"
    preference = 0.5

    [[fingerprint]]
    id = "zz-test-dahua-rtsp"
    description = "Dahua RTSP server"
    pattern = '^Dahua Rtsp Server$'
    facts = { maker = "dahua", device_type = "ip-camera" }
    confidence = 0.9
    source = "https://github.com/rapid7/recog/blob/main/xml/rtsp_servers.xml (Dahua Rtsp Server)"
    counterexamples = ["GStreamer RTSP server"]

    [[fingerprint.example]]
    text = "Dahua Rtsp Server"
    expect = { maker = "dahua" }
"""


def rule_problems(db: Database, rule_id: str) -> list[str]:
    """Problems of one rule of a test database."""
    [rule] = [r for r in db.rules() if r.id == rule_id]
    return verify.problems(rule, db)


def test_sound_rule_has_no_problems(write_db: WriteFiles) -> None:
    """The documented example passes every check."""
    db = write_db(rtsp_server=GOOD)
    assert rule_problems(db, "zz-test-dahua-rtsp") == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("pattern = '^Dahua", "colour = 1\n    pattern = '^Dahua", "unknown keys: colour"),
        ("'^Dahua Rtsp Server$'", "'Dahua Rtsp Server$'", 'must start with "^"'),
        ("'^Dahua Rtsp Server$'", "'^Dahua (?P<vendor>Rtsp) Server$'", "not a fact name"),
        ("'^Dahua Rtsp Server$'", "'^(?P<maker>Dahua) Rtsp Server$'", "both fixed and captured"),
        ('maker = "dahua", device', 'maker = "acme", device', "not in identifiers/makers.txt"),
        ('device_type = "ip-camera"', 'device_type = "toaster"', "not in identifiers/device_types"),
        ('text = "Dahua Rtsp Server"', 'text = "Dahua RTSP Server"', "does not match"),
        (
            'expect = { maker = "dahua" }',
            'expect = { maker = "hikvision" }',
            "expected 'hikvision'",
        ),
        ('["GStreamer RTSP server"]', '["Dahua Rtsp Server"]', "counterexample"),
        ('source = "https://github.com/rapid7', 'source = "', "not a public https:// URL"),
        ('id = "zz-test-dahua-rtsp"', 'id = "Dahua_RTSP"', "not kebab-case"),
        ("'^Dahua Rtsp Server$'", "'^(a|aa)+$'", "slow on hostile input"),
        ("'^Dahua Rtsp Server$'", "'^Dahua Rtsp Server$'\n    match = \"search\"", "not allowed"),
    ],
)
def test_each_check_reports_its_problem(
    write_db: WriteFiles, old: str, new: str, expected: str
) -> None:
    """One defect in, one recognisable problem out."""
    assert old in GOOD
    db = write_db(rtsp_server=GOOD.replace(old, new, 1))
    [rule] = list(db.rules())
    found = verify.problems(rule, db)
    assert any(expected in problem for problem in found), found


NAME_RULE = (
    GOOD.replace("rtsp.server", "brand")
    .replace("pattern = '^Dahua Rtsp Server$'", "match = \"label\"\n    pattern = '(?i:dahua)'")
    .replace('"Dahua Rtsp Server"', '"Dahua Technology Co., Ltd."')
)


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("Dahua Technology Co., Ltd.", True),
        ("DAHUA", True),
        ("dahua inc.", True),
        ("Dahua IP Camera", True),
        ("Dahua r&d", True),
        ("Dahuasoft", False),  # the tail words follow a separator, never run on from the name
        ("Dahua Toaster", False),
        ("The Dahua", False),  # the name starts the label
    ],
)
def test_a_label_rule_is_its_name_and_any_company_form(
    write_db: WriteFiles, text: str, matches: bool
) -> None:
    """match = "label" writes the name only; the company form after it comes from one list."""
    db = write_db(brand=NAME_RULE)
    [rule] = list(db.rules())
    assert rule_problems(db, "zz-test-dahua-rtsp") == []
    assert (rule.apply(text) is not None) is matches


def test_a_label_pattern_carries_no_anchors(write_db: WriteFiles) -> None:
    """The anchors belong to the expansion; a written ^ would be a second one, in the middle."""
    db = write_db(brand=NAME_RULE.replace("'(?i:dahua)'", "'^(?i:dahua)'"))
    [rule] = list(db.rules())
    assert any("without ^ or $" in problem for problem in verify.problems(rule, db))


def test_a_shared_fragment_is_expanded_and_an_unknown_one_refused(write_db: WriteFiles) -> None:
    """(?&leading_brand) stands for the one shared label-before-a-product-word shape; a name that
    is no fragment is a problem, not a pattern that silently never matches."""
    leading = (
        GOOD.replace("'^Dahua Rtsp Server$'", "'^(?&leading_brand)'")
        .replace('expect = { maker = "dahua" }', 'expect = { brand = "Dahua" }')
        .replace('facts = { maker = "dahua", device_type = "ip-camera" }', "facts = {}")
    )
    db = write_db(rtsp_server=leading)
    [rule] = list(db.rules())
    assert rule_problems(db, "zz-test-dahua-rtsp") == []
    assert rule.apply("AcmeRtspServer") == {"brand": "Acme"}
    assert rule.apply("Interlogix Web Server") is None
    db = write_db(rtsp_server=leading.replace("leading_brand", "leading_bran"))
    [rule] = list(db.rules())
    assert any("(?&leading_bran) is not a pattern fragment" in p for p in verify.problems(rule, db))


SOURCE_LINE = (
    'source = "https://github.com/rapid7/recog/blob/main/xml/rtsp_servers.xml (Dahua Rtsp Server)"'
)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("", "source is missing"),
        ("/srv/notes/protocols.md section 4", "local path"),
        ("notes/mac-prefixes.md", "local path"),
        ("../recog/xml/rtsp_servers.xml", "local path"),
        ("see ~/notes/dahua.txt", "local path"),
        ("https://svn.nmap.org/nmap/nmap-service-probes (from /home/me/notes.md)", "local path"),
        ("C:\\notes\\dahua.txt", "local path"),
        ("file:///usr/share/nmap/nmap-service-probes", "local path"),
        ("rapid7/recog xml/rtsp_servers.xml", "not a public https:// URL"),
        ("http://svn.nmap.org/nmap/nmap-service-probes", "not a public https:// URL"),
        (
            "https://svn.nmap.org/nmap/nmap-service-probes; /usr/share/nmap/nmap-service-probes",
            "not a public https:// URL",
        ),
        ("https://example.com/x; see the shared folder", "not a public https:// URL"),
    ],
)
def test_source_must_be_a_public_url(write_db: WriteFiles, source: str, expected: str) -> None:
    """A rule citing a local path, a repo shorthand or nothing fails verify."""
    assert SOURCE_LINE in GOOD
    db = write_db(rtsp_server=GOOD.replace(SOURCE_LINE, f"source = {source!r}"))
    found = rule_problems(db, "zz-test-dahua-rtsp")
    assert any(expected in problem for problem in found), found


def test_public_url_sources_pass() -> None:
    """Several URL entries, each with an optional note, are a sound citation; a note may name
    the device's own URL path."""
    assert (
        verify.source_problems(
            "https://svn.nmap.org/nmap/nmap-service-probes (Dahua Rtsp Server); "
            "https://github.com/rapid7/recog/blob/main/xml/rtsp_servers.xml; "
            "https://example.com/manual.pdf (the page at /cgi-bin/videoconfiguration.cgi)"
        )
        == []
    )


def test_cli_verify_rejects_local_source(tmp_path: Path) -> None:
    """`fingerprints verify` exits 1 on a file whose rule cites a local path."""
    bad = tmp_path / "rtsp_server.toml"
    bad.write_text(
        textwrap.dedent(GOOD).replace(SOURCE_LINE, 'source = "/srv/notes/protocols.md"'),
        "utf-8",
    )
    result = CliRunner().invoke(fingerprints_group, ["verify", str(bad)])
    assert result.exit_code == 1
    assert "local path" in result.output


def test_shadowed_example_is_reported(write_db: WriteFiles) -> None:
    """An example already matched by an earlier rule in the file would never reach its rule."""
    broad = GOOD.replace(
        "[[fingerprint]]",
        (
            '[[fingerprint]]\n    id = "any-rtsp"\n    description = "any"\n'
            "    pattern = '^\\w+ Rtsp'\n"
            '    confidence = 0.1\n    source = "t"\n'
            '    [[fingerprint.example]]\n    text = "X Rtsp"\n\n'
            "    [[fingerprint]]"
        ),
        1,
    )
    db = write_db(rtsp_server=broad)
    assert any(
        "shadowed by earlier rule 'any-rtsp'" in p for p in rule_problems(db, "zz-test-dahua-rtsp")
    )


def test_file_name_must_match_channel_and_ids_be_unique(write_db: WriteFiles) -> None:
    """A file named for another channel, reusing an id, gets both problems."""
    db = write_db(rtsp_server=GOOD, http_server=GOOD)
    found = [p for r in db.rules() for p in verify.problems(r, db)]
    assert any("does not match evidence" in p for p in found)
    assert any("is also used by" in p for p in found)


def test_weak_channel_rule_cannot_be_confident(write_db: WriteFiles) -> None:
    """A MAC-prefix rule naming a maker must stay at or below the channel's ceiling (0.6)."""
    mac = GOOD.replace('"rtsp.server"', '"mac"').replace("'^Dahua Rtsp Server$'", "'^3c:ef:8c:'")
    mac = mac.replace('"Dahua Rtsp Server"', '"3c:ef:8c:61:01:c0"').replace(
        '["GStreamer RTSP server"]', "[]"
    )
    db = write_db(mac=mac)
    assert any("weak signal" in p for p in rule_problems(db, "zz-test-dahua-rtsp"))


@pytest.mark.parametrize(
    ("pattern", "facts"),
    [
        ("'^(?P<maker>dahua)$'", "{ device_type = 'ip-camera' }"),
        ("'^(?P<brand>Lorex)$'", "{}"),
        ("'^Lorex$'", "{ brand = 'Lorex' }"),
        ("'^(?P<model>W461ASC)$'", "{}"),
    ],
    ids=["captured-maker", "captured-brand", "fixed-brand", "captured-model"],
)
def test_weak_channel_ceiling_covers_maker_claims_made_indirectly(
    write_db: WriteFiles, pattern: str, facts: str
) -> None:
    """A weak-channel rule whose captured maker, or brand/model (which the derived rules turn
    into a maker at this rule's confidence), is above the ceiling is refused."""
    registrant = (
        GOOD.replace('"rtsp.server"', '"mac"')
        .replace("[[fingerprint]]\n", '[[fingerprint]]\n    field = "registrant"\n')
        .replace("'^Dahua Rtsp Server$'", pattern)
        .replace('{ maker = "dahua", device_type = "ip-camera" }', facts)
    )
    db = write_db(mac=registrant)
    assert any("weak signal" in p for p in rule_problems(db, "zz-test-dahua-rtsp"))


@pytest.mark.timeout(60)
def test_a_pattern_that_quadruples_its_work_per_character_is_reported_not_hung_on(
    write_db: WriteFiles,
) -> None:
    """`^(?:a|a|a|a)*b$` needs about 4**n steps on n letters a: fast at 8, hours at 16. The
    hostile strings grow two characters at a time, so verify stops at a few milliseconds'
    overshoot and names the problem."""
    db = write_db(rtsp_server=GOOD.replace("'^Dahua Rtsp Server$'", "'^(?:a|a|a|a)*b$'", 1))
    [rule] = list(db.rules())
    assert any("slow on hostile input" in problem for problem in verify.problems(rule, db))


def test_loader_refuses_structural_problems_with_path_and_rule(tmp_path: Path) -> None:
    """A bad regex stops loading; the error names the file and the rule id."""
    path = tmp_path / "rtsp_server.toml"
    path.write_text(textwrap.dedent(GOOD).replace("'^Dahua Rtsp Server$'", "'^(unclosed'"), "utf-8")
    with pytest.raises(FingerprintError) as caught:
        load_file(path)
    assert caught.value.rule == "zz-test-dahua-rtsp"
    assert caught.value.path == str(path)


def test_a_users_broken_pattern_is_refused_before_use(tmp_path: Path) -> None:
    """The shipped patterns compile on first use, but a user's extra folder is compiled while
    loading: a bad regex there stops loading with the file and rule named."""
    folder = tmp_path / "mine"
    folder.mkdir()
    path = folder / "rtsp_server.toml"
    path.write_text(textwrap.dedent(GOOD).replace("'^Dahua Rtsp Server$'", "'^(unclosed'"), "utf-8")
    with pytest.raises(FingerprintError) as caught:
        load_database([folder])
    assert caught.value.rule == "zz-test-dahua-rtsp"
    assert "does not compile" in str(caught.value)


def test_loader_refuses_bad_toml(tmp_path: Path) -> None:
    """Invalid TOML is a FingerprintError, not a crash."""
    path = tmp_path / "rtsp_server.toml"
    path.write_text("evidence = ", "utf-8")
    with pytest.raises(FingerprintError, match="rtsp_server.toml"):
        load_file(path)


def test_cli_verify_and_match(tmp_path: Path) -> None:
    """`fingerprints verify FILE` exits 0 if sound, 1 if broken; `match` shows facts."""
    good = tmp_path / "good" / "rtsp_server.toml"
    good.parent.mkdir()
    good.write_text(textwrap.dedent(GOOD), "utf-8")
    runner = CliRunner()
    assert runner.invoke(fingerprints_group, ["verify", str(good)]).exit_code == 0
    bad = tmp_path / "bad" / "rtsp_server.toml"
    bad.parent.mkdir()
    bad.write_text(
        textwrap.dedent(GOOD).replace(SOURCE_LINE, 'source = ""'),
        "utf-8",
    )
    bad.write_text(
        textwrap.dedent(GOOD).replace('text = "Dahua Rtsp Server"', 'text = "nope"'), "utf-8"
    )
    result = runner.invoke(fingerprints_group, ["verify", str(bad)])
    assert result.exit_code == 1
    assert "does not match" in result.output
    result = runner.invoke(
        fingerprints_group,
        ["match", "rtsp.server", "Dahua Rtsp Server", "--fingerprints", str(good.parent)],
    )
    assert result.exit_code == 0, result.output
    assert "maker='dahua'" in result.output


LABEL_RULE = """
    evidence = "rtsp.server"
    preference = 0.5

    [[fingerprint]]
    id = "zz-leading-label"
    description = "first word as a brand label"
    pattern = '^(?P<brand>[A-Za-z]+) Rtsp'
    facts = {}
    confidence = 0.6
    source = "https://www.rfc-editor.org/rfc/rfc2326#section-12.36"
    counterexamples = ["COUNTER"]

    [[fingerprint.example]]
    text = "Acme Rtsp"
    expect = { brand = "Acme" }
"""
BRAND_RULE = """
    evidence = "brand"
    preference = 0.5

    [[fingerprint]]
    id = "zz-acme-brand"
    description = "Acme label"
    pattern = '^(?i:acme)$'
    facts = { maker = "axis" }
    confidence = 0.9
    source = "https://www.axis.com/"

    [[fingerprint.example]]
    text = "Acme"
    expect = { maker = "axis" }
"""


@pytest.mark.parametrize(
    ("counterexample", "is_problem"),
    [("Nobody Rtsp Server", False), ("Acme Rtsp Server", True), ("acme Rtsp", True)],
)
def test_counterexample_read_as_an_unknown_label_is_harmless(
    write_db: WriteFiles, counterexample: str, is_problem: bool
) -> None:
    """A catch-all rule that captures only a brand label may read a counterexample, as long as no
    brand rule turns that label into a claim; one that does is reported."""
    db = write_db(rtsp_server=LABEL_RULE.replace("COUNTER", counterexample), brand=BRAND_RULE)
    found = rule_problems(db, "zz-leading-label")
    assert any("counterexample" in p for p in found) is is_problem, found

"""Engine semantics: channel files by preference, first match per file wins, one derivation pass."""

from __future__ import annotations

import pytest

from camaudit.identify.engine import match_host, match_value
from tests.identify.conftest import WriteFiles, ev

SERVER_A = """
    evidence = "http.server"
    preference = 0.8

    [[fingerprint]]
    id = "acme-webs-versioned"
    description = "versioned"
    pattern = '^AcmeWebs/(?P<firmware>[\\d.]+)$'
    facts = { maker = "hikvision" }
    confidence = 0.9
    source = "test"

    [[fingerprint]]
    id = "acme-webs-any"
    description = "any"
    pattern = '^AcmeWebs'
    facts = { maker = "dahua" }
    confidence = 0.4
    source = "test"
"""

SERVER_B = """
    evidence = "http.server"
    preference = 0.2

    [[fingerprint]]
    id = "generic-webs"
    description = "generic"
    pattern = '^\\w+Webs'
    facts = { device_type = "ip-camera" }
    confidence = 0.3
    source = "test"
"""

MODELS = """
    evidence = "model"
    preference = 0.5

    [[fingerprint]]
    id = "hik-ds-model"
    description = "DS- numbers"
    pattern = '^DS-(?P<family>2CD)'
    facts = { maker = "hikvision", device_type = "ip-camera" }
    confidence = 0.8
    source = "test"
"""

SADP = """
    evidence = "sadp"
    preference = 0.5

    [[fingerprint]]
    id = "sadp-description"
    description = "model"
    field = "DeviceDescription"
    pattern = '^(?P<model>\\S+)$'
    facts = { maker = "hikvision" }
    confidence = 0.95
    source = "test"
"""


def test_first_match_in_a_file_wins(write_db: WriteFiles) -> None:
    """Two rules in one file both match: only the earlier one yields a match."""
    db = write_db(http_server=SERVER_A)
    [match] = match_value("http.server", "AcmeWebs/1.2", db)
    assert match.rule == "http_server::acme-webs-versioned"
    assert match.facts == {"maker": "hikvision", "firmware": "1.2"}


def test_later_rule_matches_when_earlier_does_not(write_db: WriteFiles) -> None:
    """The first rule that matches is used, not simply the first rule."""
    db = write_db(http_server=SERVER_A)
    [match] = match_value("http.server", "AcmeWebs", db)
    assert match.rule == "http_server::acme-webs-any"


def test_each_file_contributes_in_preference_order(write_db: WriteFiles) -> None:
    """Files for the same channel each give their first match, the preferred file first."""
    db = write_db(http_server=SERVER_A, http_server_generic=SERVER_B)
    rules = [m.rule for m in match_value("http.server", "AcmeWebs/2", db)]
    assert rules == ["http_server::acme-webs-versioned", "http_server_generic::generic-webs"]
    swapped = write_db(http_server_generic=SERVER_B.replace("0.2", "0.95"))
    rules = [m.rule for m in match_value("http.server", "AcmeWebs/2", swapped)]
    assert rules[0] == "http_server_generic::generic-webs"


def test_other_channels_are_not_consulted(write_db: WriteFiles) -> None:
    """A value on rtsp.server never meets http.server rules."""
    db = write_db(http_server=SERVER_A)
    assert match_value("rtsp.server", "AcmeWebs/1.2", db) == []


# A whole ProbeMatch as a real unit sends it (Haicam's DS-2CD2385G1-I sample, abridged).
COMPLETE_SADP = (
    "<ProbeMatch><Uuid>e8ecfe09-90e4-44c0-842b-703f46b58c81</Uuid><Types>inquiry</Types>"
    "<DeviceDescription>DS-2CD2385G1-I</DeviceDescription>"
    "<DeviceSN>DS-2CD2385G1-I20200414AAWRE33842150</DeviceSN><MAC>58-50-ed-1f-e3-85</MAC>"
    "<SoftwareVersion>V5.6.2build 190701</SoftwareVersion></ProbeMatch>"
)


def test_field_rules_only_see_their_decoded_field(write_db: WriteFiles) -> None:
    """A sadp rule with field = DeviceDescription reads that element only."""
    db = write_db(sadp=SADP)
    reply = (
        "<ProbeMatch><Uuid>abc</Uuid>"
        "<DeviceDescription>DS-2CD2385G1-I</DeviceDescription></ProbeMatch>"
    )
    [match] = match_value("sadp", reply, db)
    assert match.field == "DeviceDescription"
    assert match.facts["model"] == "DS-2CD2385G1-I"


def test_captured_model_feeds_the_model_channel_once(write_db: WriteFiles) -> None:
    """A captured model is matched again on channel "model", recording the rule it came from."""
    db = write_db(sadp=SADP, model=MODELS)
    reply = "<ProbeMatch><DeviceDescription>DS-2CD2385G1-I</DeviceDescription></ProbeMatch>"
    hits = match_host([ev("sadp", reply)], db)
    assert [h.match.rule for h in hits] == ["sadp::sadp-description", "model::hik-ds-model"]
    derived = hits[1]
    assert derived.via == "sadp::sadp-description"
    assert derived.evidence.channel == "model"
    assert derived.match.facts["family"] == "2CD"


def test_a_derived_match_is_no_surer_than_the_match_that_fed_it(write_db: WriteFiles) -> None:
    """A model read by a weak rule (0.3) cannot become a strong maker claim (0.8) on its own."""
    weak_title = """
        evidence = "http.title"
        preference = 0.5

        [[fingerprint]]
        id = "title-model"
        description = "a model-like title"
        pattern = '^(?P<model>DS-\\S+)$'
        facts = {}
        confidence = 0.3
        source = "test"
    """
    db = write_db(http_title=weak_title, model=MODELS)
    hits = match_host([ev("http.title", "DS-2CD2385G1-I")], db)
    derived = [h for h in hits if h.evidence.channel == "model"]
    assert [h.match.confidence for h in derived] == [0.3]
    strong = match_host([ev("sadp", COMPLETE_SADP)], write_db(sadp=SADP))
    assert strong[0].match.confidence == 0.95


def test_derived_channel_is_not_fed_by_itself(write_db: WriteFiles) -> None:
    """Model evidence given directly is matched once; derivation does not loop back into it."""
    looping = MODELS.replace("(?P<family>2CD)", "(?P<family>2CD)").replace(
        'facts = { maker = "hikvision", device_type = "ip-camera" }',
        'facts = { maker = "hikvision", model = "DS-2CD" }',
    )
    db = write_db(model=looping)
    hits = match_host([ev("model", "DS-2CD2385")], db)
    assert len(hits) == 1


MAC_REALM = """
    evidence = "rtsp.www_authenticate"
    preference = 0.5

    [[fingerprint]]
    id = "realm-mac"
    description = "a realm that is a MAC"
    pattern = '(?:Digest )?realm="(?P<mac>[0-9a-f]{12})"'
    facts = {}
    confidence = 0.6
    source = "test"
"""

MAC_BLOCKS = """
    evidence = "mac"
    preference = 0.3

    [[fingerprint]]
    id = "acme-oui"
    description = "one OUI"
    pattern = '^58:50:ed:'
    facts = { maker = "hikvision" }
    confidence = 0.6
    source = "test"
"""


def test_a_mac_stated_in_a_reply_is_judged_as_a_mac(write_db: WriteFiles) -> None:
    """A MAC a rule captures (here a realm) is matched on channel "mac", like one seen in ARP."""
    db = write_db(rtsp_www_authenticate=MAC_REALM, mac=MAC_BLOCKS)
    hits = match_host([ev("rtsp.www_authenticate", 'Digest realm="5850ed1fe385"')], db)
    assert [h.match.rule for h in hits] == ["rtsp_www_authenticate::realm-mac", "mac::acme-oui"]
    assert hits[1].via == "rtsp_www_authenticate::realm-mac"
    assert hits[1].evidence.value == "5850ed1fe385"


def test_a_stated_mac_the_host_also_sent_in_arp_is_not_counted_twice(
    write_db: WriteFiles,
) -> None:
    """The same MAC in ARP and in a realm is one fact: it is matched once, in any spelling."""
    db = write_db(rtsp_www_authenticate=MAC_REALM, mac=MAC_BLOCKS)
    evidence = [ev("mac", "58:50:ED:1F:E3:85"), ev("rtsp.www_authenticate", 'realm="5850ed1fe385"')]
    rules = [h.match.rule for h in match_host(evidence, db)]
    assert rules == ["mac::acme-oui", "rtsp_www_authenticate::realm-mac"]


@pytest.mark.parametrize("value", ["", "\x00" * 10, "AcmeWebs" * 10_000])
def test_odd_values_do_not_break_matching(write_db: WriteFiles, value: str) -> None:
    """Empty, binary and huge values are matched (or not) without error."""
    db = write_db(http_server=SERVER_A)
    assert isinstance(match_value("http.server", value, db), list)


def test_a_header_block_alone_is_read_line_by_line(write_db: WriteFiles) -> None:
    """A header block from another tool, with no separate Server evidence, is matched by the
    Server rules as if the probe had recorded its Server line."""
    db = write_db(http_server=SERVER_A)
    block = "HTTP/1.1 200 OK\r\nDate: today\r\nServer: AcmeWebs/1.2\r\n"
    hits = match_host([ev("http.headers", block)], db)
    assert [(h.evidence.channel, h.evidence.value, h.match.rule) for h in hits] == [
        ("http.server", "AcmeWebs/1.2", "http_server::acme-webs-versioned")
    ]


def test_a_header_line_already_recorded_is_not_read_twice(write_db: WriteFiles) -> None:
    """With the probe's own http.server evidence present, the block adds no second copy."""
    db = write_db(http_server=SERVER_A)
    block = "HTTP/1.1 200 OK\r\nServer: AcmeWebs/1.2\r\nX-Note: Server: AcmeWebs/9\r\n"
    hits = match_host([ev("http.headers", block), ev("http.server", "AcmeWebs/1.2")], db)
    assert [h.evidence.value for h in hits] == ["AcmeWebs/1.2"]


TITLE = """
    evidence = "http.title"
    preference = 0.5

    [[fingerprint]]
    id = "acme-title"
    description = "Acme camera title"
    pattern = '^ACME \\d{4} Network Camera$'
    facts = { maker = "axis" }
    confidence = 0.7
    source = "https://example.org/acme"
"""


def test_a_page_alone_names_its_title(write_db: WriteFiles) -> None:
    """A body from a scan record or a paste, with no title evidence of its own, is read by the
    title rules too; its entities are unescaped as the probe does."""
    db = write_db(http_title=TITLE)
    page = "<HTML><HEAD>\n  <TITLE>ACME&#32;2120 Network Camera</TITLE>\n</HEAD></HTML>"
    hits = match_host([ev("http.body", page)], db)
    assert [(h.evidence.channel, h.evidence.value) for h in hits] == [
        ("http.title", "ACME 2120 Network Camera")
    ]
    # With the probe's own title evidence there is no second copy.
    both = [ev("http.body", page), ev("http.title", "ACME 2120 Network Camera")]
    assert len(match_host(both, db)) == 1


HOSTNAME = """
    evidence = "mdns.hostname"
    preference = 0.5

    [[fingerprint]]
    id = "acme-mac-hostname"
    description = "acme-<mac>"
    pattern = '^acme-[0-9a-f]{12}$'
    facts = { maker = "axis" }
    confidence = 0.8
    source = "test"
"""


def test_a_dhcp_host_name_is_read_by_the_host_name_rules(write_db: WriteFiles) -> None:
    """The name a DHCP client asked for is judged like the name it advertises over mDNS."""
    db = write_db(mdns_hostname=HOSTNAME)
    hits = match_host([ev("dhcp.hostname", "acme-accc8ea31abf")], db)
    assert [(h.evidence.channel, h.match.rule) for h in hits] == [
        ("mdns.hostname", "mdns_hostname::acme-mac-hostname")
    ]


def test_a_host_name_sent_both_ways_counts_once(write_db: WriteFiles) -> None:
    """The same name over DHCP and mDNS is one piece of evidence, not two."""
    db = write_db(mdns_hostname=HOSTNAME)
    evidence = [ev("dhcp.hostname", "acme-accc8ea31abf"), ev("mdns.hostname", "acme-accc8ea31abf")]
    assert len(match_host(evidence, db)) == 1

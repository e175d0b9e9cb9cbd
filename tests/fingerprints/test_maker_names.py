"""A company name no brand rule knows still names a listed maker (decode._brand, brand.toml
maker-own-name-label), but never against a brand rule that knows the label, and never from a bare
word: bare names are left to the curated brand rules."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from camaudit.identify import decode, identify_hosts
from camaudit.identify.engine import match_value
from camaudit.identify.loader import Database
from camaudit.models import Evidence


def maker_of(database: Database, channel: str, value: str) -> str | None:
    evidence = Evidence(host=IPv4Address("198.51.100.41"), channel=channel, value=value, probe="t")
    [device] = identify_hosts([evidence], database)
    return device.maker


@pytest.mark.parametrize(
    ("registrant", "maker"),
    [
        # OUI registrants as the IEEE writes them (https://standards-oui.ieee.org/oui/oui.txt).
        ("Xiamen Yealink Network Technology Co.,Ltd", "yealink"),
        ("Novus Security Sp. z o.o.", "novus"),
        ("Fortinet, Inc.", "fortinet"),
        ("ABUS Security-Center GmbH & Co. KG", "abus"),
        ("Vanderbilt International (SWE) AB", "vanderbilt"),
        ("Cohu, Inc., Electronics Division", "cohu"),
        # EFM Networks sells as ipTIME; its company name is known from makers.txt alone.
        ("EFM Networks Co., Ltd.", "efm-networks"),
    ],
)
def test_a_company_name_names_its_maker(registrant: str, maker: str) -> None:
    assert ("maker_name", maker) in decode.facets("brand", registrant)


@pytest.mark.parametrize("label", ["Fortinet", "Western Digital Corporation", "Embedded Planet"])
def test_a_bare_word_or_another_company_names_nobody(label: str) -> None:
    assert not any(name == "maker_name" for name, _ in decode.facets("brand", label))


def test_a_brand_rule_that_knows_the_label_wins_over_the_bare_name(database: Database) -> None:
    """'Lorex Technology Inc.' is a Lorex company name, and the brand rules know Lorex units as
    Dahua-made: only the brand rule's answer stands, so the two never contradict each other."""
    matches = match_value("brand", "Lorex Technology Inc.", database)
    assert matches
    assert {m.field for m in matches} == {""}
    assert {m.facts.get("maker") for m in matches} == {"dahua"}


def test_a_registrant_without_a_brand_rule_names_its_maker_through_the_mac(
    database: Database,
) -> None:
    # 80:5e:c0 is registered to Yealink; no brand rule lists Yealink.
    assert maker_of(database, "mac", "80:5e:c0:00:00:01") == "yealink"


def test_a_bare_maker_name_names_it_weakly_and_a_chip_vendor_names_nobody(
    database: Database,
) -> None:
    """A manufacturer field that is a listed maker's bare name names that maker below LIKELY;
    HiSilicon, whose SDK is inside many makers' cameras, is known to the brand rules as no maker."""
    scopes = "onvif://www.onvif.org/hardware/IPCamera onvif://www.onvif.org/manufacturer/HeroSpeed"
    evidence = Evidence(
        host=IPv4Address("198.51.100.42"), channel="wsd.scopes", value=scopes, probe="t"
    )
    [device] = identify_hosts([evidence], database)
    assert (device.maker, device.verdict.value) == ("herospeed", "possible")
    assert {m.field for m in match_value("brand", "Hisilicon", database)} == {""}
    assert maker_of(database, "rtsp.server", "HisiliconRtspServer/1.0") is None


def test_a_weak_challenge_layout_never_hides_what_the_realm_says(database: Database) -> None:
    """Hikvision's quoted stale="FALSE" layout is read beside the realm: a realm naming another
    maker still names it (YUAN's encoders send the same layout)."""
    challenge = 'Digest realm="YUAN", nonce="696c48bacc1aba320705e7ee58e54680", stale="FALSE"'
    assert maker_of(database, "rtsp.www_authenticate", challenge) == "yuan"
    hikvision_named = challenge.replace("YUAN", "Front door")
    assert maker_of(database, "rtsp.www_authenticate", hikvision_named) == "hikvision"

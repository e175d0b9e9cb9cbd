"""End to end: evidence lists for a few hosts in, one merged Device per host out."""

from __future__ import annotations

from ipaddress import IPv4Address

from camaudit.identify import identify_hosts
from camaudit.identify.policy import load_policy
from camaudit.models import Verdict
from camaudit.targets import Scope, parse_target
from tests.identify.conftest import WriteFiles, ev

FILES = {
    "sadp": """
        evidence = "sadp"
        preference = 0.5

        [[fingerprint]]
        id = "hik-sadp-description"
        description = "SADP model"
        field = "DeviceDescription"
        pattern = '^(?P<model>[A-Z0-9][A-Z0-9-]{2,40})$'
        facts = { maker = "hikvision" }
        confidence = 0.95
        source = "Haicam discoverytest.go comment"
    """,
    "dhip": """
        evidence = "dhip"
        preference = 0.5

        [[fingerprint]]
        id = "dahua-dhip-vendor"
        description = "DHIP vendor"
        field = "Vendor"
        pattern = '^(?P<brand>.+)$'
        confidence = 0.3
        source = "Phenomite/AMP-Research"

        [[fingerprint]]
        id = "dahua-dhip-method"
        description = "DHIP reply method"
        field = "method"
        pattern = '^client\\.notifyDevInfo$'
        facts = { maker = "dahua" }
        confidence = 0.9
        source = "Phenomite/AMP-Research"
    """,
    "brand": """
        evidence = "brand"
        preference = 0.5

        [[fingerprint]]
        id = "brand-lorex"
        description = "Lorex"
        pattern = '^(?i:lorex)$'
        facts = { maker = "dahua", brand = "Lorex" }
        confidence = 0.6
        source = "wikipedia Dahua Technology"
    """,
    "mac": """
        evidence = "mac"
        preference = 0.5

        [[fingerprint]]
        id = "hikvision-registrant"
        description = "Hikvision OUI"
        field = "registrant"
        pattern = '^Hangzhou Hikvision'
        facts = { maker = "hikvision" }
        confidence = 0.5
        source = "IEEE registry via Wireshark manuf"
    """,
}

LOREX = (
    '{"mac" : "00:1f:54:a9:2e:58", "method" : "client.notifyDevInfo", "params" : {"deviceInfo" :'
    ' {"DeviceClass" : "IPC", "DeviceType" : "W461ASC", "Vendor" : "Lorex"}}}'
)
HIK = (  # a whole reply: a fragment without serial, MAC and firmware could only hint
    "<ProbeMatch><DeviceDescription>DS-2CD2385G1-I</DeviceDescription>"
    "<DeviceSN>DS-2CD2385G1-I20200414AAWRE33842150</DeviceSN><MAC>58-50-ed-1f-e3-85</MAC>"
    "<SoftwareVersion>V5.6.2build 190701</SoftwareVersion></ProbeMatch>"
)


def test_a_small_site_is_identified(write_db: WriteFiles) -> None:
    """A Hikvision camera, a Lorex-branded Dahua, a bare Hikvision MAC and a silent host."""
    db = write_db(**FILES)
    evidence = [
        ev("dhip", LOREX, host="198.51.100.12"),
        ev("sadp", HIK, host="198.51.100.11"),
        ev("mac", "58:50:ed:1f:e3:85", host="198.51.100.11", probe="arp"),
        ev("mac", "58-50-ed-00-00-01", host="198.51.100.13", probe="arp"),
        ev("tcp.open", "80", host="198.51.100.14"),
    ]
    devices = identify_hosts(evidence, db)
    assert [str(d.ip) for d in devices] == [
        "198.51.100.11",
        "198.51.100.12",
        "198.51.100.13",
        "198.51.100.14",
    ]
    hik, lorex, mac_only, silent = devices

    assert (hik.maker, hik.model, hik.verdict) == ("hikvision", "DS-2CD2385G1-I", Verdict.CONFIRMED)
    assert hik.mac == "58:50:ed:1f:e3:85"
    assert hik.confidence == round(1 - 0.05 * 0.5, 2)

    assert (lorex.maker, lorex.brand, lorex.verdict) == ("dahua", "Lorex", Verdict.CONFIRMED)
    derived = [item for item in lorex.evidence if item.rule == "brand::brand-lorex"]
    assert derived[0].probe == "derived:dhip::dahua-dhip-vendor"

    assert (mac_only.maker, mac_only.verdict) == ("hikvision", Verdict.POSSIBLE)
    assert (silent.maker, silent.verdict) == (None, Verdict.UNKNOWN)
    assert silent.evidence[0].rule is None

    policy = load_policy("uk-2022")
    assert [policy.apply(d).flagged for d in devices] == [True, True, False, False]
    reason = policy.apply(lorex).flag_reason
    assert reason is not None
    assert reason.startswith("made by Dahua (confirmed; brand Lorex) - uk-2022:")
    assert not any(d.flagged for d in devices)  # identify itself never applies policy


def test_scope_marks_hosts_outside_the_targets(write_db: WriteFiles) -> None:
    """A host heard by multicast outside the targets is kept, with in_scope False."""
    db = write_db(**FILES)
    scope = Scope(networks=tuple(parse_target("198.51.100.0/28", resolve=False)))
    devices = identify_hosts(
        [ev("sadp", HIK, host="198.51.100.5"), ev("sadp", HIK, host="198.51.100.200")],
        db,
        scope=scope,
    )
    assert [(d.ip, d.in_scope) for d in devices] == [
        (IPv4Address("198.51.100.5"), True),
        (IPv4Address("198.51.100.200"), False),
    ]
    assert all(d.in_scope for d in identify_hosts([ev("sadp", HIK)], db))

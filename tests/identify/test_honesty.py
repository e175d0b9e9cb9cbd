"""Honest confidence on the shipped rules: thin, truncated, contradictory or flooding replies.

The replies are shaped like the public samples: the Hikvision SADP ProbeMatch of a DS-2CD2385G1-I
(https://github.com/Haicam/Haicam/blob/HEAD/golang/libs/onvif/haicam_test/discoverytest.go) and
the Dahua DHIP notifyDevInfo reply of an IPC-HDW5421S
(https://github.com/Phenomite/AMP-Research/tree/HEAD/Port%2037810%20-%20DVR%20IP%20Camera).
"""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from camaudit.identify import decode, identify_hosts
from camaudit.identify.engine import PARTIAL_CEILING, match_host
from camaudit.identify.loader import Database, load_database
from camaudit.identify.merge import lowered
from camaudit.identify.policy import load_policy
from camaudit.models import Device, Evidence, Verdict

HOST = "198.51.100.30"

SADP_FULL = (
    '<?xml version="1.0" encoding="utf-8"?><ProbeMatch>'
    "<Uuid>e8ecfe09-90e4-44c0-842b-703f46b58c81</Uuid><Types>inquiry</Types>"
    "<DeviceType>141945</DeviceType><DeviceDescription>DS-2CD2385G1-I</DeviceDescription>"
    "<DeviceSN>DS-2CD2385G1-I20200414AAWRE33842150</DeviceSN><CommandPort>8000</CommandPort>"
    "<HttpPort>80</HttpPort><MAC>58-50-ed-1f-e3-85</MAC><IPv4Address>198.51.100.30</IPv4Address>"
    "<SoftwareVersion>V5.6.2build 190701</SoftwareVersion>"
    "<DSPVersion>V7.3 build 190626</DSPVersion>"
    "<Activated>true</Activated></ProbeMatch>"
)
# What a flooding device's garbage turned into: the start of a ProbeMatch, cut mid-element.
SADP_TRUNCATED = (
    '<?xml version="1.0" encoding="utf-8"?><ProbeMatch><Uuid>e8ecfe09-90e4-44c0</Uuid>'
    "<Types>inquiry</Types><DeviceDescription>DS-2CD2385G1-I</DeviceDescription><Dev"
)
SADP_NO_IDENTITY = (  # closed, but no serial, MAC or firmware: no real unit answers so
    "<ProbeMatch><Uuid>x</Uuid><Types>inquiry</Types>"
    "<DeviceDescription>DS-2CD2385G1-I</DeviceDescription></ProbeMatch>"
)
DHIP_FULL = (
    '{ "mac" : "4c:11:bf:c2:0b:9d", "method" : "client.notifyDevInfo", "params" : {'
    ' "deviceInfo" : { "DeviceClass" : "IPC", "DeviceType" : "IPC-HDW5421S", "HttpPort" : 80,'
    ' "MachineName" : "1F006E4PAX00075", "Manufacturer" : "Private", "Port" : 37777,'
    ' "SerialNo" : "1F006E4PAX00075", "Vendor" : "Dahua", "Version" : "2.400.0.8" } } }'
)
DHIP_NO_TYPE = (
    '{ "mac" : "4c:11:bf:c2:0b:9d", "method" : "client.notifyDevInfo", "params" : {'
    ' "deviceInfo" : { "SerialNo" : "1F006E4PAX00075", "Vendor" : "Dahua" } } }'
)
DHIP_TRUNCATED = DHIP_FULL[:160]


@pytest.fixture(scope="module")
def database() -> Database:
    """The shipped fingerprints."""
    return load_database()


def ev(channel: str, value: str, probe: str, host: str = HOST) -> Evidence:
    """Evidence as the named probe records it."""
    return Evidence(host=IPv4Address(host), channel=channel, value=value, probe=probe)


def judge(database: Database, *evidence: Evidence) -> Device:
    """The one device the evidence describes."""
    [device] = identify_hosts(list(evidence), database)
    return device


def reply_conflicts(device: Device) -> list[str]:
    """What the device report says about its replies."""
    return [c.other for c in device.conflicts if c.fact == "reply"]


def test_a_complete_sadp_reply_confirms(database: Database) -> None:
    """The whole ProbeMatch of a real unit is one complete, strong reply."""
    assert decode.incompleteness("sadp", SADP_FULL) == ""
    device = judge(database, ev("sadp", SADP_FULL, "sadp"))
    assert (device.maker, device.verdict) == ("hikvision", Verdict.CONFIRMED)
    assert device.serial == "DS-2CD2385G1-I20200414AAWRE33842150"
    assert reply_conflicts(device) == []


def test_truncated_sadp_from_an_unknown_device_stays_possible(database: Database) -> None:
    """The issue's case: a cut reply without serial, MAC or firmware is a hint, never a verdict."""
    assert "truncated" in decode.incompleteness("sadp", SADP_TRUNCATED)
    device = judge(database, ev("sadp", SADP_TRUNCATED, "sadp"))
    assert device.maker == "hikvision"
    assert device.verdict is Verdict.POSSIBLE
    assert device.confidence <= PARTIAL_CEILING
    assert any("truncated SADP reply" in text for text in reply_conflicts(device))
    assert not load_policy("uk-2022").apply(device).flagged
    assert all((item.confidence or 0) <= PARTIAL_CEILING for item in device.evidence)


def test_sadp_without_serial_mac_and_firmware_stays_possible(database: Database) -> None:
    """Well-formed, but missing what every unit sends: every rule reading it is capped."""
    gap = decode.incompleteness("sadp", SADP_NO_IDENTITY)
    assert gap == "SADP reply without DeviceSN, MAC, SoftwareVersion"
    hits = match_host([ev("sadp", SADP_NO_IDENTITY, "sadp")], database)
    assert hits
    assert all(h.match.confidence <= PARTIAL_CEILING for h in hits)
    assert all(h.partial == gap for h in hits)  # derived model matches inherit the gap
    assert judge(database, ev("sadp", SADP_NO_IDENTITY, "sadp")).verdict is Verdict.POSSIBLE


def test_many_truncated_replies_share_one_slot(database: Database) -> None:
    """Ten cut replies (a flood) add up to no more than one."""
    variants = [SADP_TRUNCATED.replace("e8ecfe09", f"{n:08x}") for n in range(10)]
    device = judge(database, *(ev("sadp", text, "sadp") for text in variants))
    assert device.verdict is Verdict.POSSIBLE
    assert device.confidence <= PARTIAL_CEILING


def test_a_partial_reply_and_a_second_channel_are_not_confirmed(database: Database) -> None:
    """A cut SADP reply plus a Hikvision MAC block: two weak signals, LIKELY at most."""
    device = judge(
        database,
        ev("sadp", SADP_TRUNCATED, "sadp"),
        ev("mac", "58:50:ed:1f:e3:85", "arp"),
    )
    assert device.maker == "hikvision"
    assert device.verdict is Verdict.LIKELY


def test_a_complete_dhip_reply_confirms_and_one_without_device_type_does_not(
    database: Database,
) -> None:
    """DHIP's DeviceType is in every real reply; without it (or cut short) only a hint."""
    assert decode.incompleteness("dhip", DHIP_FULL) == ""
    full = judge(database, ev("dhip", DHIP_FULL, "dhip"))
    assert (full.maker, full.verdict) == ("dahua", Verdict.CONFIRMED)
    assert decode.incompleteness("dhip", DHIP_NO_TYPE) == "DHIP reply without DeviceType"
    assert "truncated" in decode.incompleteness("dhip", DHIP_TRUNCATED)
    for thin in (DHIP_NO_TYPE, DHIP_TRUNCATED):
        device = judge(database, ev("dhip", thin, "dhip"))
        assert (device.maker, device.verdict) == ("dahua", Verdict.POSSIBLE), thin
        assert reply_conflicts(device)


DHIP_RPC_CHALLENGE = (
    '{"result":false,"params":{"realm":"Login to 907F3C6C73FEDA77","random":"1f1e4fbc-858a-47c8-'
    '8a50-cb9310ad48cb","encryption":"Default"},"error":{"code":268632079,"message":"Component '
    'error: login challenge!"},"id":0,"session":2869194125}'
)


def test_a_dhip_rpc_answer_is_whole_with_result_id_and_session(database: Database) -> None:
    """DHIP also carries Dahua's RPC: a login challenge is a whole answer (no DeviceType is due),
    and the same answer without its session is only a hint."""
    assert decode.incompleteness("dhip", DHIP_RPC_CHALLENGE) == ""
    device = judge(database, ev("dhip", DHIP_RPC_CHALLENGE, "dhip"))
    assert (device.maker, device.verdict) == ("dahua", Verdict.CONFIRMED)
    cut = DHIP_RPC_CHALLENGE.replace(',"session":2869194125', "")
    assert decode.incompleteness("dhip", cut) == "DHIP RPC answer without session"
    thin = judge(database, ev("dhip", cut, "dhip"))
    assert (thin.maker, thin.verdict) == ("dahua", Verdict.POSSIBLE)


def test_sadp_hikvision_and_dhip_dahua_on_one_address_are_conflicts(database: Database) -> None:
    """Two vendor protocols telling two stories (and two MACs): shown, and not trusted."""
    device = judge(
        database,
        ev("sadp", SADP_FULL, "sadp"),
        ev("mac", "58-50-ed-1f-e3-85", "sadp"),
        ev("dhip", DHIP_FULL, "dhip"),
        ev("mac", "4c:11:bf:c2:0b:9d", "dhip"),
    )
    facts = {c.fact for c in device.conflicts}
    assert {"maker", "mac"} <= facts
    assert device.verdict is Verdict.POSSIBLE
    assert not load_policy("uk-2022").apply(device).flagged


def test_two_serials_lower_the_verdict(database: Database) -> None:
    """Two complete SADP replies from one address with different serials: two identities."""
    other = SADP_FULL.replace("AAWRE33842150", "AAWRE99999999")
    alone = judge(database, ev("sadp", SADP_FULL, "sadp"))
    doubled = judge(database, ev("sadp", SADP_FULL, "sadp"), ev("sadp", other, "sadp"))
    assert alone.verdict is Verdict.CONFIRMED
    assert doubled.verdict is Verdict.LIKELY
    assert [c.other for c in doubled.conflicts if c.fact == "serial"] == [
        "DS-2CD2385G1-I20200414AAWRE99999999"
    ]


def test_a_flood_of_self_descriptions_is_not_trusted(database: Database) -> None:
    """Many different complete ProbeMatches from one address: a spoof or flood, at most POSSIBLE."""
    replies = [SADP_FULL.replace("33842150", f"{n:08d}") for n in range(6)]
    device = judge(database, *(ev("sadp", text, "sadp") for text in replies))
    assert device.verdict is Verdict.POSSIBLE
    assert any("6 different sadp replies" in text for text in reply_conflicts(device))


def test_a_reply_where_nothing_was_asked_is_a_conflict(database: Database) -> None:
    """A SADP reply recorded by the DHIP probe (which never asks for SADP) lowers the verdict."""
    device = judge(database, ev("sadp", SADP_FULL, "dhip"))
    assert device.verdict is Verdict.LIKELY
    assert any("never asks" in text for text in reply_conflicts(device))


def test_the_same_reply_repeated_is_not_a_flood(database: Database) -> None:
    """Multicast and unicast answers of one unit are the same reply: still CONFIRMED."""
    device = judge(database, *(ev("sadp", SADP_FULL, "sadp") for _ in range(5)))
    assert device.verdict is Verdict.CONFIRMED
    assert reply_conflicts(device) == []


@pytest.mark.parametrize(
    ("verdict", "steps", "expected"),
    [
        (Verdict.CONFIRMED, 1, Verdict.LIKELY),
        (Verdict.CONFIRMED, 5, Verdict.POSSIBLE),
        (Verdict.LIKELY, 0, Verdict.LIKELY),
        (Verdict.UNKNOWN, 2, Verdict.UNKNOWN),
    ],
)
def test_lowering_never_goes_below_possible(
    verdict: Verdict, steps: int, expected: Verdict
) -> None:
    """A named maker stays named; only the certainty drops."""
    assert lowered(verdict, steps) is expected


ONVIF_INFO = (
    '<tds:GetDeviceInformationResponse xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
    "<tds:Manufacturer>HIKVISION</tds:Manufacturer><tds:Model>DS-2CD2385G1-I</tds:Model>"
    "<tds:FirmwareVersion>V5.6.2 build 190701</tds:FirmwareVersion>"
    "<tds:SerialNumber>DS-2CD2385G1-I20200414AAWRE33842150</tds:SerialNumber>"
    "<tds:HardwareId>88</tds:HardwareId></tds:GetDeviceInformationResponse>"
)


def test_onvif_device_information_needs_manufacturer_and_model(database: Database) -> None:
    """The ONVIF spec makes Manufacturer and Model mandatory: without Model, only a hint."""
    full = judge(database, ev("onvif.device_information", ONVIF_INFO, "onvif"))
    assert (full.maker, full.verdict) == ("hikvision", Verdict.CONFIRMED)
    thin = ONVIF_INFO.replace("<tds:Model>DS-2CD2385G1-I</tds:Model>", "")
    assert decode.incompleteness("onvif.device_information", thin) == (
        "ONVIF device information without Model"
    )
    device = judge(database, ev("onvif.device_information", thin, "onvif"))
    assert (device.maker, device.verdict) == ("hikvision", Verdict.POSSIBLE)


def test_upnp_description_without_model_name_is_a_hint(database: Database) -> None:
    """A description without modelName (required by UPnP Device Architecture) cannot vouch."""
    text = "<root><device><manufacturer>Hikvision</manufacturer></device></root>"
    assert decode.incompleteness("upnp.description", text) == "UPnP description without modelName"
    device = judge(database, ev("upnp.description", text, "ssdp"))
    assert device.verdict is Verdict.POSSIBLE


def test_a_mac_reported_inside_dhip_is_not_unsolicited(database: Database) -> None:
    """The DHIP probe records the reply's MAC: an expected channel for it, no conflict."""
    device = judge(
        database,
        ev("dhip", DHIP_FULL, "dhip"),
        ev("mac", "4c:11:bf:c2:0b:9d", "dhip"),
        ev("mac", "4c:11:bf:c2:0b:9d", "arp"),
    )
    assert device.verdict is Verdict.CONFIRMED
    assert device.conflicts == ()


def test_several_upnp_descriptions_are_not_a_flood(database: Database) -> None:
    """A router serves one description per embedded service: not a spoof."""
    descriptions = [
        f"<root><device><manufacturer>NETGEAR</manufacturer><modelName>R7000</modelName>"
        f"<friendlyName>service {n}</friendlyName></device></root>"
        for n in range(5)
    ]
    device = judge(database, *(ev("upnp.description", text, "ssdp") for text in descriptions))
    assert reply_conflicts(device) == []

"""UUIDs whose last group is a covered maker's MAC, read through the IEEE registry itself.

Hikvision builds its WS-Discovery EPR from the unit's MAC (the Haicam sample
urn:uuid:aa85c000-6324-11b3-819e-5850ed1fe385, https://github.com/Haicam/Haicam/blob/HEAD/golang/libs/onvif/haicam_test/discoverytest.go),
and a device answering ssdp:all names its own uuid:<UDN>. The rules read the registrant of that
group, so a block IEEE assigned after the rules were written is still recognised; these tests pin
that, and that a random UUID's tail is not taken for a NIC.
"""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from camaudit.identify import decode, identify_hosts, oui
from camaudit.identify.loader import Database
from camaudit.models import Evidence, Verdict

CHANNELS = ("wsd.epr", "ssdp.st")
# fc:24:22 (Ezviz), b0:ff:0d (Hikvision) and 00:d9:8b (Huacheng) were missing from the OUI lists
# these rules used to carry; the registry shipped with camaudit has them.
LATE_BLOCKS = {"hikvision": ("fc2422", "b0ff0d"), "dahua": ("00d98b", "202c05")}


def judged(database: Database, channel: str, value: str) -> tuple[str | None, Verdict]:
    evidence = Evidence(host=IPv4Address("198.51.100.40"), channel=channel, value=value, probe="t")
    [device] = identify_hosts([evidence], database)
    return device.maker, device.verdict


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize(
    ("maker", "block"), [(m, b) for m, blocks in sorted(LATE_BLOCKS.items()) for b in blocks]
)
def test_a_covered_makers_block_is_read_from_the_registry(
    database: Database, channel: str, maker: str, block: str
) -> None:
    assert oui.lookup(block + "a1b2c3") is not None, "the shipped registry lacks the block"
    value = f"uuid:4e4f4d00-d0c9-41b3-8110-{block}a1b2c3"
    if channel == "wsd.epr":
        value = "urn:" + value
    assert judged(database, channel, value) == (maker, Verdict.LIKELY)


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_tail_with_the_multicast_bit_is_a_random_node_not_a_nic(
    database: Database, channel: str
) -> None:
    # 59:50:ed is 58:50:ed (Hikvision) with the multicast bit set: RFC 9562's random node ID.
    value = "urn:uuid:aa85c000-6324-11b3-819e-5950ed1fe385"
    assert not any(name == "tail_registrant" for name, _ in decode.facets(channel, value))
    assert judged(database, channel, value)[0] is None


@pytest.mark.parametrize("channel", CHANNELS)
def test_an_unregistered_or_locally_administered_tail_names_nobody(
    database: Database, channel: str
) -> None:
    for tail in ("5a50ed1fe385", "f847db4148a8"):
        value = f"urn:uuid:919108f7-52d1-4320-9bac-{tail}"
        assert judged(database, channel, value)[0] is None, tail


def test_a_usn_keeps_its_uuid_tail() -> None:
    """uuid:<UDN>::<type>, as an ST or USN is written, still has its tail read."""
    found = decode.facets("ssdp.st", "uuid:5f5a69c2-e0ae-504f-829b-4c11bfc20b9d::upnp:rootdevice")
    assert ("tail_registrant", "Zhejiang Dahua Technology Co., Ltd.") in found


def test_the_rules_read_the_same_registrants_on_both_channels(database: Database) -> None:
    patterns = {
        channel: sorted(
            rule.pattern
            for item in database.files_for(channel)
            for rule in item.rules
            if rule.field == "tail_registrant"
        )
        for channel in CHANNELS
    }
    assert patterns["wsd.epr"]
    assert patterns["wsd.epr"] == patterns["ssdp.st"]


def test_the_upnp_sdk_udn_tail_is_a_mac_too(database: Database) -> None:
    """uuid:Upnp-<device>-1_0-<MAC>, the UDN libupnp cameras build (an Axis USN in
    https://github.com/ivanempire/lighthouse/issues/4): a covered maker's block is read the same."""
    assert judged(database, "ssdp.st", "uuid:Upnp-BasicDevice-1_0-5850ED1FE385") == (
        "hikvision",
        Verdict.LIKELY,
    )
    maker, verdict = judged(database, "ssdp.st", "uuid:Upnp-BasicDevice-1_0-B8A44F26437D")
    assert (maker, verdict) == ("axis", Verdict.POSSIBLE)


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_random_uuids_tail_is_never_taken_for_the_units_mac(
    database: Database, channel: str
) -> None:
    """A version 4 UUID's last group is random: read as a MAC it would give the unit a second
    identity beside its real MAC and lower every verdict on it (a Dahua lab unit's EPR)."""
    value = "urn:uuid:8feff412-35c7-4089-8d7c-07fedfbb2853"
    evidence = Evidence(host=IPv4Address("198.51.100.40"), channel=channel, value=value, probe="t")
    [device] = identify_hosts([evidence], database)
    assert device.mac is None
    assert not device.conflicts

"""Device identity: the one MAC normaliser and the device keys every layer shares."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from camaudit.identify.judge import identify_hosts
from camaudit.identify.loader import load_database
from camaudit.identity import comparable_mac, device_key, normalise_mac, split_key
from camaudit.models import Device, Evidence


@pytest.mark.parametrize(
    "text", ["58-50-ED-1F-E3-85", "5850.ed1f.e385", "5850ED1FE385", "\t58:50:ed:1f:e3:85 "]
)
def test_every_device_spelling_is_one_mac(text: str) -> None:
    """SADP dashes, Cisco dots, bare hex and padded colon form are the same MAC."""
    assert normalise_mac(text) == "58:50:ed:1f:e3:85"


def test_the_unpadded_octets_macos_prints_are_the_same_mac() -> None:
    """`arp -an` on macOS and BSD drops leading zeros; the MAC is the same one."""
    assert normalise_mac("58:50:ed:1f:e3:5") == normalise_mac("58-50-ED-1F-E3-05")
    assert normalise_mac("0:c:29:4:37:a4") == "00:0c:29:04:37:a4"
    assert normalise_mac("0:0:0:0:0:0") is None


@pytest.mark.parametrize("text", [None, "", "00-00-00-00-00-00", "FF:FF:FF:FF:FF:FF", "58:50:ed"])
def test_blank_placeholder_and_short_values_are_no_mac(text: str | None) -> None:
    """Nothing, the all-zero and broadcast placeholders, and short values name no device."""
    assert normalise_mac(text) is None


def test_a_typed_value_that_is_no_mac_still_pairs_with_itself() -> None:
    """Staff may type anything in a MAC cell; it is compared trimmed and lower-cased."""
    assert comparable_mac(" 58-50-ED-1F-E3-85 ") == "58:50:ed:1f:e3:85"
    assert comparable_mac(" Unknown ") == "unknown"
    assert comparable_mac("   ") is None


def test_device_keys_prefer_mac_then_serial_then_address() -> None:
    """One string names a device, and split_key reads it back normalised."""
    ip = IPv4Address("198.51.100.5")
    assert device_key(Device(ip=ip, mac="58:50:ED:1F:E3:85", serial="SN1")) == (
        "mac:58:50:ed:1f:e3:85"
    )
    assert device_key(Device(ip=ip, serial=" SN1 ")) == "serial:SN1"
    assert device_key(Device(ip=ip)) == "ip:198.51.100.5"
    assert split_key("mac:58-50-ED-1F-E3-85") == ("mac", "58:50:ed:1f:e3:85")
    with pytest.raises(ValueError, match="device key"):
        split_key("name:x")


def test_identification_picks_the_mac_through_the_same_normaliser() -> None:
    """A device's MAC is the normalised one it was heard with; a zero MAC gives it none."""
    database = load_database()
    host = IPv4Address("198.51.100.9")
    heard = [Evidence(host=host, channel="mac", value="58-50-ED-00-00-09", probe="sadp")]
    (device,) = identify_hosts(heard, database)
    assert device.mac == "58:50:ed:00:00:09"
    zero = [Evidence(host=host, channel="mac", value="00:00:00:00:00:00", probe="sadp")]
    (nameless,) = identify_hosts(zero, database)
    assert nameless.mac is None

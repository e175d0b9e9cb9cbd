"""A serial any rule captures is read again by the serial grammars (serial.toml): a unit
numbered in its maker's grammar names that maker whichever document stated the serial."""

from __future__ import annotations

from ipaddress import IPv4Address

from camaudit.identify import identify_hosts
from camaudit.identify.loader import Database
from camaudit.models import Device, Evidence


def judged(database: Database, channel: str, value: str) -> Device:
    evidence = Evidence(host=IPv4Address("198.51.100.43"), channel=channel, value=value, probe="t")
    [device] = identify_hosts([evidence], database)
    return device


def test_a_serial_in_a_maker_grammar_names_the_maker_from_any_document(database: Database) -> None:
    upnp = "<root><device><serialNumber>AMC0957EE72D5819C5</serialNumber></device></root>"
    device = judged(database, "upnp.description", upnp)
    assert (device.maker, device.brand, device.serial) == ("dahua", "Amcrest", "AMC0957EE72D5819C5")
    isapi = "<serialNumber>DS-KH6320-WTDE10120230110WRQ18479253U</serialNumber>"
    device = judged(database, "http.body", isapi)
    assert (device.maker, device.model) == ("hikvision", "DS-KH6320-WTDE1")
    onvif = "<tds:SerialNumber>ND021808019141</tds:SerialNumber>"
    assert judged(database, "onvif.device_information", onvif).maker == "dahua"


def test_onvif_and_upnp_serials_are_judged_by_the_one_grammar(database: Database) -> None:
    """ONVIF SerialNumber and UPnP serialNumber carry no grammar of their own any more."""
    hikvision = "DS-2CD2385G1-I20200414AAWRE33842150"
    device = judged(
        database, "onvif.device_information", f"<tds:SerialNumber>{hikvision}</tds:SerialNumber>"
    )
    assert (device.maker, device.serial) == ("hikvision", hikvision)
    dahua = "<tds:SerialNumber>1F006E4PAX00075</tds:SerialNumber>"
    assert judged(database, "onvif.device_information", dahua).maker == "dahua"
    upnp = "<root><device><serialNumber>DS-2CD2722FWD-IZS20170321BBWR733050127</serialNumber>"
    device = judged(database, "upnp.description", upnp + "</device></root>")
    assert (device.maker, device.model) == ("hikvision", "DS-2CD2722FWD-IZS")


def test_a_serial_in_no_grammar_names_nobody_but_is_kept(database: Database) -> None:
    device = judged(database, "http.body", '{"SerialNumber": "X1Y2Z3W4"}')
    assert (device.maker, device.serial) == (None, "X1Y2Z3W4")

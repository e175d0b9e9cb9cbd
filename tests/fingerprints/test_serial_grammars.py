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


def test_a_serial_in_no_grammar_names_nobody_but_is_kept(database: Database) -> None:
    device = judged(database, "http.body", '{"SerialNumber": "X1Y2Z3W4"}')
    assert (device.maker, device.serial) == (None, "X1Y2Z3W4")

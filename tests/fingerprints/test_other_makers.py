"""Cameras of other makers are named through the generic captures (ONVIF, UPnP, scopes, DHIP,
mDNS, MAC) plus brand.toml/model.toml, and never flagged; the family's OEM lines still are."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from camaudit.identify import identify_hosts
from camaudit.identify.loader import Database
from camaudit.identify.policy import load_policy
from camaudit.models import Evidence

HOST = IPv4Address("198.51.100.40")
SCOPE = "onvif://www.onvif.org"


def onvif(manufacturer: str, model: str) -> str:
    """A GetDeviceInformation response body (ONVIF Core, tds namespace)."""
    return (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
        ' xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><s:Body>'
        f"<tds:GetDeviceInformationResponse><tds:Manufacturer>{manufacturer}</tds:Manufacturer>"
        f"<tds:Model>{model}</tds:Model><tds:FirmwareVersion>1.0</tds:FirmwareVersion>"
        "</tds:GetDeviceInformationResponse></s:Body></s:Envelope>"
    )


def upnp(manufacturer: str, url: str, model: str) -> str:
    """A UPnP device description (UPnP Device Architecture 1.1)."""
    return (
        '<root xmlns="urn:schemas-upnp-org:device-1-0"><device>'
        f"<manufacturer>{manufacturer}</manufacturer><manufacturerURL>{url}</manufacturerURL>"
        f"<modelName>{model}</modelName></device></root>"
    )


OTHER_MAKERS = [
    ("onvif.device_information", onvif("Bosch", "NBN-832V-IP"), "bosch"),
    ("onvif.device_information", onvif("AXIS", "P3225-LV Mk II"), "axis"),
    ("onvif.device_information", onvif("Hanwha Vision Co., Ltd.", "XNV-6080R"), "hanwha"),
    ("onvif.device_information", onvif("Milesight", "MS-C2963-PB"), "milesight"),
    ("onvif.device_information", onvif("TIANDY", "TC-C32GN"), "tiandy"),
    ("onvif.device_information", onvif("Canon", "VB-H43"), "canon"),
    ("upnp.description", upnp("IDIS Co., Ltd.", "http://idisglobal.com", "DC-D4212WRX"), "idis"),
    ("upnp.description", upnp("ACME", "http://www.boschsecurity.com", "NDE-3502-AL"), "bosch"),
    ("wsd.scopes", f"{SCOPE}/name/Pelco {SCOPE}/hardware/IME322-1ES", "pelco"),
    ("rtsp.www_authenticate", 'Basic realm="Arecont Vision"', "arecont"),
    ("mac", "00:40:8c:12:34:56", "axis"),
]


@pytest.mark.parametrize(("channel", "value", "maker"), OTHER_MAKERS)
def test_other_makers_are_named_and_not_flagged(
    database: Database, channel: str, value: str, maker: str
) -> None:
    """The real maker is named; no policy flags it."""
    [device] = identify_hosts(
        [Evidence(host=HOST, channel=channel, value=value, probe="input")], database
    )
    assert device.maker == maker
    assert not load_policy("ndaa-889").apply(device).flagged


FAMILY = [
    ("onvif.device_information", onvif("LOREX", "LNB8973B"), "dahua"),
    ("onvif.device_information", onvif("EZVIZ", "CS-H6c-R101-1G2WF"), "hikvision"),
    ("wsd.scopes", f"{SCOPE}/hardware/DS-2CD2043G2-I(B)", "hikvision"),
    ("wsd.scopes", f"{SCOPE}/hardware/HAC-HDW1200T", "dahua"),
]


@pytest.mark.parametrize(("channel", "value", "maker"), FAMILY)
def test_unseen_family_models_are_named(
    database: Database, channel: str, value: str, maker: str
) -> None:
    """An unseen model of a known series (or an OEM label) names the family maker."""
    [device] = identify_hosts(
        [Evidence(host=HOST, channel=channel, value=value, probe="input")], database
    )
    assert device.maker == maker

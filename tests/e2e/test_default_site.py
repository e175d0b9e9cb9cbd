"""The whole default site: every shipped persona judged against its ground truth in one scan.

This is the demo's site. Each persona's [expect] says who made it and whether the default policy
must flag it; the scan must agree for every device, cameras and ordinary devices alike.
"""

from __future__ import annotations

from typing import Any

import pytest

from camlab.site import SITES_DIR, load_site
from tests.e2e.conftest import LabHandle

pytestmark = pytest.mark.netns

SITE = load_site(SITES_DIR / "default.toml")
DEVICES = [d for d in SITE.devices if d.instance.channels == d.instance.persona.speaks() | {"arp"}]
COVERED = {"hikvision", "dahua"}


@pytest.fixture(scope="module")
def default_scan(default_lab: LabHandle) -> dict[str, Any]:
    """One scan of both subnets of the default site, with the default policy."""
    return default_lab.scan("198.51.100.0/24", "198.18.5.0/24", name="default")


def found(scan: dict[str, Any], ip: object) -> dict[str, Any]:
    devices = {device["ip"]: device for device in scan["devices"]}
    assert str(ip) in devices, f"{ip} was not found at all"
    return devices[str(ip)]


CAMERAS = {"ip-camera", "nvr", "dvr"}
CAMERA_PERSONAS = [d for d in DEVICES if d.instance.persona.expect.device_type in CAMERAS]
ORDINARY = [d for d in DEVICES if d.instance.persona.expect.device_type not in CAMERAS]


@pytest.mark.parametrize(
    "device", CAMERA_PERSONAS, ids=[f"{d.ip}-{d.instance.persona.id}" for d in CAMERA_PERSONAS]
)
def test_every_camera_gets_its_maker_and_flag(default_scan: dict[str, Any], device: Any) -> None:
    """Maker as the persona's ground truth says; flagged exactly when Hikvision/Dahua made it."""
    expect = device.instance.persona.expect
    seen = found(default_scan, device.ip)
    assert (seen["maker"] or "") == expect.maker, seen["evidence"][:5]
    assert seen["flagged"] == expect.flagged
    if expect.flagged:
        assert any(item["rule"] for item in seen["evidence"]), "a flagged device shows its evidence"


@pytest.mark.parametrize(
    "device", ORDINARY, ids=[f"{d.ip}-{d.instance.persona.id}" for d in ORDINARY]
)
def test_no_ordinary_device_is_called_a_camera(default_scan: dict[str, Any], device: Any) -> None:
    """Printers, routers, NAS, PCs, servers, door stations: never a camera, a covered maker or
    flagged (an unknown maker is fine; a wrong covered one is not)."""
    seen = found(default_scan, device.ip)
    assert seen["device_type"] not in CAMERAS
    assert seen["maker"] not in COVERED
    assert not seen["flagged"]


def test_oem_labels_on_the_wire_are_the_brand_and_the_maker_is_real(
    default_scan: dict[str, Any],
) -> None:
    """A unit sold under another label that shows that label on some channel is reported as
    "brand <label>, made by <Hikvision|Dahua>"."""
    checked = 0
    for device in CAMERA_PERSONAS:
        expect = device.instance.persona.expect
        if expect.maker not in COVERED or not expect.brand or expect.brand.lower() in COVERED:
            continue
        seen = found(default_scan, device.ip)
        on_the_wire = any(
            expect.brand.lower() in item["value"].lower() for item in seen["evidence"]
        )
        if on_the_wire:
            assert (seen["maker"], seen["brand"]) == (expect.maker, expect.brand)
            checked += 1
    assert checked >= 6

"""The whole default site: every shipped persona judged against its ground truth in one scan.

This is the demo's site. Each persona's [expect] says who made it and whether the default policy
must flag it; the scan must agree for every device, cameras and ordinary devices alike.
"""

from __future__ import annotations

import asyncio
import base64
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from camaudit import scanfile
from camaudit.reports import checklist
from camlab.site import SITES_DIR, load_site
from tests.chromium import ARTIFACTS, chromium, needs_chromium
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


# Paper sizes in inches, as Chromium's printToPDF takes them.
PAPERS = {"A4": (8.27, 11.69), "Letter": (8.5, 11.0)}
RAW_REPLY_MARKS = ("<?xml", "<ProbeMatch", "DeviceSN", "<root", '{"', "Envelope")


def pdf_text(pdf: Path) -> str:
    """The PDF's text as pdftotext lays it out, pages separated by form feeds."""
    done = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


@needs_chromium
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) missing")
@pytest.mark.parametrize("paper", sorted(PAPERS))
async def test_printed_checklist_reads_whole_on_paper(
    default_scan: dict[str, Any], tmp_path: Path, paper: str
) -> None:
    """The default site's checklist printed from Chromium to PDF, read back as text: every
    flagged address and MAC on one line, makers by display name, no raw protocol reply, 4 to 8
    devices a page, and the known-exploited CVE with its link on the affected unit's card."""
    result = scanfile.from_dict(default_scan)
    built = checklist.build(result)
    page_file = tmp_path / "checklist.html"
    page_file.write_text(checklist.render_html(built), encoding="utf-8")
    width, height = PAPERS[paper]
    async with chromium(tmp_path / "profile") as page:
        await page.call("Page.enable")
        await page.call("Page.navigate", url=page_file.as_uri())
        await page.wait_for("Page.loadEventFired")
        printed = await page.call(
            "Page.printToPDF", paperWidth=width, paperHeight=height, printBackground=True
        )
    pdf = tmp_path / f"checklist-{paper}.pdf"
    pdf.write_bytes(base64.b64decode(printed["data"]))
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(pdf, ARTIFACTS / pdf.name)
    text = await asyncio.to_thread(pdf_text, pdf)
    pages = text.count("\f") or 1

    flagged = [d for d in default_scan["devices"] if d["flagged"]]
    assert flagged
    for device in flagged:
        assert re.search(rf"(?<![\d.]){re.escape(device['ip'])}(?![\d.])", text), device["ip"]
        if device["mac"]:
            assert device["mac"] in text, device["mac"]
    assert "Hikvision" in text
    assert "Dahua" in text
    # Card titles ("3. Hikvision DS-2CD…") carry display names, never the ids ("hikvision").
    assert not re.search(r"\d+\. (hikvision|dahua)\b", text), "maker ids instead of names"
    for mark in RAW_REPLY_MARKS:
        assert mark not in text, f"raw reply on paper: {mark}"
    cards = len(built.rows) + len(built.verify)
    assert 4 <= cards / pages <= 8, f"{cards} cards on {pages} pages"
    exploited = [
        d
        for d in flagged
        if any(a["known_exploited"] and a["status"] == "affected" for a in d["advisories"])
    ]
    assert exploited, "the default site has a unit on firmware with a known-exploited CVE"
    advisory = next(a for a in exploited[0]["advisories"] if a["status"] == "affected")
    assert advisory["id"] in text
    assert advisory["links"]["nvd"] in text
    # Known-exploited units come first: the first card is one of them.
    assert built.rows[0].ip in {d["ip"] for d in exploited}

"""Issue 14's recorder case, end to end: `camaudit scan` of a camlab Hikvision NVR on loopback,
with credentials from the environment, lists each camera on its PoE ports as its own checklist
row under the recorder; without credentials the recorder says "channels not read"; and no
password (the recorder's, or the cameras' that its channel list carries) is written anywhere."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from camaudit.commands import main
from camlab.loopback import LoopbackSite, device, serving_in_thread
from tests.leaks import assert_nowhere, scan_one, written_by

NVR = "127.0.0.73"
PERSONA = "hikvision-ds-7608ni-i2-8p"
USER, PASSWORD = "auditor", "lab-Recorder-pass-7"  # noqa: S105 - the lab recorder's account
PROBES = ("http_banner", "vendor_http", "recorder_channels")
CAMERA_PASSWORDS = ("lab-camera-Secret-1", "lab-camera-Secret-2", "lab-camera-Secret-3")


@pytest.fixture
def nvr() -> Iterator[tuple[LoopbackSite, int]]:
    with serving_in_thread([device(PERSONA, NVR, channels={"http"})]) as site:
        yield site, site.devices[0].bound[("tcp", 80)]


def scan(port: int, report: Path, db: Path, env: dict[str, str]) -> Result:
    return scan_one(NVR, port, PROBES, report, db, env)


def checklist(report: Path, out: Path) -> str:
    result = CliRunner().invoke(main, ["checklist", str(report), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    return out.read_text(encoding="utf-8")


def test_each_camera_behind_the_recorder_gets_its_own_row_and_no_password_leaks(
    nvr: tuple[LoopbackSite, int], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _site, port = nvr
    report, db = tmp_path / "scan.json", tmp_path / "inventory.sqlite3"
    env = {"CAMAUDIT_ONVIF_USER": USER, "CAMAUDIT_ONVIF_PASSWORD": PASSWORD}
    result = scan(port, report, db, env)
    assert result.exit_code == 0, result.stderr
    (recorder,) = json.loads(report.read_text())["devices"]
    assert (recorder["maker"], recorder["flagged"], recorder["channels_read"]) == (
        "hikvision",
        True,
        True,
    )
    cameras = {camera["recorder_channel"]: camera for camera in recorder["attached"]}
    assert (cameras[1]["model"], cameras[1]["flagged"]) == ("DS-2CD2143G0-I", True)
    assert (cameras[3]["maker"], cameras[3]["flagged"]) == ("axis", False)

    markdown = checklist(report, tmp_path / "list.md")
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and NVR in line]
    # The recorder, then its two Hikvision cameras by channel; the Axis camera is not flagged.
    assert len(rows) == 3
    assert "| replace |" in rows[0]
    assert "2 flagged (rows below)" in rows[0]
    # The recorder's own name for each channel (often the place) comes with it, as text.
    assert f"{NVR} channel 1 (Loading bay)" in rows[1]
    assert "DS-2CD2143G0-I" in rows[1]
    assert f"{NVR} channel 2" in rows[2]
    assert "DS-2CD2387G2-LU" in rows[2]
    assert "AXIS P3245-LVE" not in markdown

    written = {
        **written_by(result, caplog, report, db),
        "checklist": markdown,
        "html checklist": checklist(report, tmp_path / "list.html"),
    }
    assert_nowhere([PASSWORD, *CAMERA_PASSWORDS], written)
    assert "Yard &lt;east&gt;" in written["html checklist"]
    assert "Yard <east>" not in written["html checklist"]


def test_without_credentials_the_recorder_says_its_channels_were_not_read(
    nvr: tuple[LoopbackSite, int], tmp_path: Path
) -> None:
    site, port = nvr
    report = tmp_path / "scan.json"
    result = scan(port, report, tmp_path / "inventory.sqlite3", env={})
    assert result.exit_code == 0, result.stderr
    (recorder,) = json.loads(report.read_text())["devices"]
    assert (recorder["channels_read"], recorder["attached"]) == (False, [])
    assert not any("InputProxy" in r["summary"] for r in site.asked(NVR))
    markdown = checklist(report, tmp_path / "list.md")
    assert "channels not read" in markdown


def test_the_html_report_lists_the_cameras_behind_the_recorder(
    nvr: tuple[LoopbackSite, int], tmp_path: Path
) -> None:
    _site, port = nvr
    report = tmp_path / "scan.json"
    env = {"CAMAUDIT_ONVIF_USER": USER, "CAMAUDIT_ONVIF_PASSWORD": PASSWORD}
    assert scan(port, report, tmp_path / "inventory.sqlite3", env).exit_code == 0
    html = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", str(report), "-f", "html", "-o", str(html)])
    assert result.exit_code == 0, result.stderr
    text = html.read_text(encoding="utf-8")
    assert "Cameras behind this recorder, as it lists them (3)" in text
    assert "channel 2: Hikvision DS-2CD2387G2-LU" in text
    for secret in (PASSWORD, *CAMERA_PASSWORDS):
        assert secret not in text


XVR = "127.0.0.75"
XVR_USER, XVR_PASSWORD = "auditor", "lab-Xvr-pass-3"  # noqa: S105 - the lab XVR's account
XVR_CAMERA_PASSWORDS = ("lab-xvr-Camera-1", "lab-xvr-Camera-2", "lab-xvr-Camera-3")


@pytest.fixture
def xvr() -> Iterator[tuple[LoopbackSite, int]]:
    with serving_in_thread([device("dahua-hcvr-xvr", XVR, channels={"http"})]) as site:
        yield site, site.devices[0].bound[("tcp", 80)]


def test_a_dahua_recorder_lists_its_cameras_on_the_checklist_too(
    xvr: tuple[LoopbackSite, int], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The Dahua XVR's RemoteDevice table: its Dahua camera gets a row under it with the
    channel's name, the switched-off slot none, and no password is written anywhere."""
    caplog.set_level(logging.DEBUG)
    _site, port = xvr
    report, db = tmp_path / "scan.json", tmp_path / "inventory.sqlite3"
    env = {"CAMAUDIT_ONVIF_USER": XVR_USER, "CAMAUDIT_ONVIF_PASSWORD": XVR_PASSWORD}
    result = scan_one(XVR, port, PROBES, report, db, env)
    assert result.exit_code == 0, result.stderr
    (recorder,) = json.loads(report.read_text())["devices"]
    assert (recorder["maker"], recorder["channels_read"]) == ("dahua", True)
    assert sorted(c["recorder_channel"] for c in recorder["attached"]) == [1, 2]
    markdown = checklist(report, tmp_path / "list.md")
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and XVR in line]
    assert any(f"{XVR} channel 1 (Car park)" in row and "IPC-HFW2431S-S-S2" in row for row in rows)
    written = {**written_by(result, caplog, report, db), "checklist": markdown}
    assert_nowhere([XVR_PASSWORD, *XVR_CAMERA_PASSWORDS], written)

"""ONVIF credentials from the environment are used once and appear nowhere: not in output, logs,
the JSON report or the inventory database (and the CLI has no option to pass them in argv)."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from camaudit.commands import main
from camlab.loopback import LoopbackSite, device, serving_in_thread
from camlab.persona import find_persona
from tests.leaks import assert_nowhere, scan_one, written_by

CAMERA = "127.0.0.63"
PASSWORD = "s3cret-Only-In-Env-7f1c"  # noqa: S105 - a test device's password
PERSONA = "selftest-hikvision-dome"  # GetDeviceInformation refused (401) without a valid token


@pytest.fixture
def onvif_device() -> Iterator[tuple[LoopbackSite, int]]:
    """A camlab ONVIF device whose account has PASSWORD, served from a thread; (site, port)."""
    persona = find_persona(PERSONA)
    onvif = {**persona.raw["onvif"], "password": PASSWORD}
    persona = dataclasses.replace(persona, raw={**persona.raw, "onvif": onvif})
    camera = device(PERSONA, CAMERA, channels={"onvif"}, persona=persona)
    with serving_in_thread([camera]) as site:
        yield site, site.devices[0].bound[("tcp", onvif["port"])]


def accepted_tokens(site: LoopbackSite) -> int:
    """How many GetDeviceInformation requests carried a token the device accepted."""
    return sum(
        1
        for record in site.asked(CAMERA)
        if record["channel"] == "onvif" and record["summary"].endswith("token=True")
    )


def test_the_password_is_used_once_and_found_nowhere(
    onvif_device: tuple[LoopbackSite, int], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One authenticated GetDeviceInformation works; no byte camaudit wrote holds the password."""
    caplog.set_level(logging.DEBUG)
    site, port = onvif_device
    report, db = tmp_path / "scan.json", tmp_path / "inventory.sqlite3"
    env = {"CAMAUDIT_ONVIF_USER": "admin", "CAMAUDIT_ONVIF_PASSWORD": PASSWORD}
    result = scan_one(CAMERA, port, ["onvif"], report, db, env)
    assert result.exit_code == 0, result.stderr
    assert accepted_tokens(site) == 1
    (found,) = json.loads(report.read_text())["devices"]
    assert "onvif.device_information" in {item["channel"] for item in found["evidence"]}
    assert_nowhere([PASSWORD], written_by(result, caplog, report, db))


def test_there_is_no_way_to_pass_a_password_on_the_command_line() -> None:
    """Passwords on argv end up in shell history and `ps`: the CLI offers no such option."""
    help_text = CliRunner().invoke(main, ["scan", "--help"]).stdout.lower()
    assert "--password" not in help_text
    assert "--onvif-credentials" in help_text  # a 0600 file instead

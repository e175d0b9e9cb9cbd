"""`camaudit scan` end to end on loopback, inside the private namespace: exit codes, saving."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from camaudit.commands import main
from camlab.loopback import device, serving_in_thread

CAMERA = "127.0.0.62"


@pytest.fixture
def camera_port() -> Iterator[int]:
    """An older Hikvision camera's web server (camlab persona, HTTP only); its port."""
    camera = device("hikvision-ds-2cd2722fwd-izs", CAMERA, channels={"http"})
    with serving_in_thread([camera]) as site:
        yield site.devices[0].bound[("tcp", 80)]


def scan(port: int, *extra: str) -> tuple[int, str, str]:
    args = ["scan", CAMERA, "--probe", "http_banner", "--http-port", str(port),
            "--https-port", "1", "--listen", "0.3", *extra]  # fmt: skip
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.stdout, result.stderr


def test_fail_on_flagged_exits_1_and_the_json_shows_why(camera_port: int, tmp_path: Path) -> None:
    """A flagged device with --fail-on flagged: exit 1, and the report names maker and evidence."""
    code, _, _ = scan(camera_port, "-f", "json", "-o", str(tmp_path / "scan.json"),
                      "--fail-on", "flagged")  # fmt: skip
    assert code == 1
    (device,) = json.loads((tmp_path / "scan.json").read_text())["devices"]
    assert (device["maker"], device["flagged"]) == ("hikvision", True)
    assert any(item["rule"] for item in device["evidence"])


def test_without_fail_on_a_flagged_scan_exits_0(camera_port: int) -> None:
    """Finding flagged devices is not an error unless asked."""
    code, out, _ = scan(camera_port, "-f", "csv")
    assert code == 0
    assert "hikvision" in out


def test_saving_twice_reports_what_changed(camera_port: int, tmp_path: Path) -> None:
    """The second saved scan says what changed since the first (here: nothing)."""
    db = tmp_path / "inventory.sqlite3"
    first = scan(camera_port, "-f", "json", "-o", str(tmp_path / "a.json"), "--db", str(db))
    second = scan(camera_port, "-f", "json", "-o", str(tmp_path / "b.json"), "--db", str(db))
    assert first[0] == second[0] == 0
    assert "Saved as scan 1" in first[2]
    assert "Changes since" not in first[2]
    assert "Saved as scan 2" in second[2]
    assert "Changes since the previous saved scan" in second[2]
    assert "no changes" in second[2]

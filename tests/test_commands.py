"""The command line: exit codes, one-line errors, offline identification, the README help."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from camaudit.commands import main

README = Path(__file__).resolve().parents[1] / "README.md"

HIKVISION_OBSERVATIONS = [
    {"host": "198.51.100.10", "channel": "http.server", "value": "DNVRS-Webs"},
    {
        "host": "198.51.100.10",
        "channel": "rtsp.www_authenticate",
        "value": 'Digest realm="IP Camera(A1B2C)", nonce="0123456789abcdef0123456789abcdef", '
        'stale="FALSE"',
    },
    {
        "host": "198.51.100.10",
        "channel": "wsd.scopes",
        "value": "onvif://www.onvif.org/type/video_encoder "
        "onvif://www.onvif.org/hardware/DS-2CD2143G2-I "
        "onvif://www.onvif.org/name/HIKVISION%20DS-2CD2143G2-I "
        "onvif://www.onvif.org/location/city/hangzhou",
    },
    {
        "host": "198.51.100.11",
        "channel": "http.www_authenticate",
        "value": 'Digest realm="AXIS_ACCC8E112233", '
        'nonce="00054cecY7165349339ae05f7017797d6b0aaad38f6ff45", stale=FALSE',
    },
    {
        "host": "198.51.100.11",
        "channel": "tls.subject",
        "value": "CN=axis-accc8e112233,O=Axis Communications AB",
    },
]


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


class TestIdentifyCommand:
    def test_observations_become_devices_with_hikvision_flagged_first(self) -> None:
        """Observations from elsewhere are judged like a scan: Hikvision flagged, Axis not."""
        lines = "\n".join(json.dumps(item) for item in HIKVISION_OBSERVATIONS)
        code, out, _ = run("identify", "-", input=lines)
        assert code == 0
        report = json.loads(out)
        assert report["schema"] == "camaudit.scan/1"
        first, second = report["devices"]
        assert (first["ip"], first["maker"], first["flagged"]) == (
            "198.51.100.10",
            "hikvision",
            True,
        )
        assert first["model"] == "DS-2CD2143G2-I"
        assert first["verdict"] == "confirmed"
        assert {item["channel"] for item in first["evidence"]} >= {"http.server", "wsd.scopes"}
        assert all("rule" in item for item in first["evidence"])
        assert (second["maker"], second["flagged"]) == ("axis", False)

    def test_a_bad_line_is_a_one_line_usage_error_naming_the_line(self) -> None:
        """Line 2 is not JSON: exit 2 and a single line saying so."""
        text = json.dumps(HIKVISION_OBSERVATIONS[0]) + "\n{not json\n"
        code, _, err = run("identify", "-", input=text)
        assert code == 2
        assert "line 2" in err
        assert len(err.strip().splitlines()) == 1

    def test_a_bad_address_is_a_usage_error(self) -> None:
        """A host that is not an IPv4 address is refused with exit 2."""
        code, _, err = run(
            "identify", "-", input='{"host": "camera", "channel": "mac", "value": "x"}\n'
        )
        assert code == 2
        assert "line 1" in err


class TestScanCommandErrors:
    def test_nonsense_target_exits_2_with_one_line(self) -> None:
        """A target that is not an address, network, range or name: exit 2, nothing sent."""
        code, _, err = run("scan", "198.51.100.300-2")
        assert code == 2
        assert len(err.strip().splitlines()) == 1

    def test_too_many_addresses_without_yes_exits_2(self) -> None:
        """More than 65,536 addresses needs --yes; the check runs before any packet."""
        code, _, err = run("scan", "198.18.0.0/15")
        assert code == 2
        assert "--yes" in err

    def test_unknown_policy_exits_2(self) -> None:
        """A policy that does not exist is the user's error."""
        code, _, err = run("scan", "198.51.100.7", "--policy", "no-such-policy")
        assert code == 2

    def test_bad_port_override_exits_2(self) -> None:
        """--port wants SERVICE=PORT."""
        code, _, err = run("scan", "198.51.100.7", "--port", "sadp=99999")
        assert code == 2
        assert "--port" in err


def test_readme_usage_block_is_current() -> None:
    """The README's `camaudit scan --help` block matches the real help text."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- scan-help -->\n```text\n(.*?)```\n<!-- /scan-help -->", text, re.S)
    assert block is not None, "README lacks the scan-help block"
    result = CliRunner().invoke(main, ["scan", "--help"], terminal_width=100, prog_name="camaudit")
    assert block.group(1).strip() == result.stdout.strip()


@pytest.mark.parametrize(
    "command", ["scan", "identify", "fingerprints", "checklist", "report", "history", "policies"]
)
def test_every_command_has_help(command: str) -> None:
    """Every command answers --help with exit 0."""
    code, out, _ = run(command, "--help")
    assert code == 0
    assert "Usage:" in out


def test_an_unwritable_output_is_refused_before_anything_is_scanned(tmp_path: Path) -> None:
    """-o into a folder that does not exist: exit 2 before a single packet (the target is in a
    documentation range no responder serves; the refusal comes first)."""
    code, _, err = run("scan", "198.51.100.7", "-o", str(tmp_path / "missing" / "scan.json"))
    assert code == 2
    assert "does not exist" in err


def test_identify_output_that_cannot_be_written_still_shows_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails after the work is done (here: a full disk, which root cannot arrange
    on a test machine, so it is injected) prints the report instead and exits 3."""

    def disk_full(_path: Path, _data: str | bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("camaudit.commands.common.write_atomic", disk_full)
    lines = json.dumps(HIKVISION_OBSERVATIONS[0]) + "\n"
    code, out, err = run("identify", "-", "-o", str(tmp_path / "out.json"), input=lines)
    assert code == 3
    assert '"schema": "camaudit.scan/1"' in out
    assert "the report is above" in err


def test_policies_lists_every_pack_with_what_it_flags() -> None:
    """`camaudit policies` names each shipped pack, its date, the makers it flags and sources."""
    result = CliRunner().invoke(main, ["policies"])
    assert result.exit_code == 0, result.output
    assert "uk-2022 (default), as of 2022-11-24" in result.output
    assert "fcc-covered, as of 2022-11-25" in result.output
    assert "flags: Hikvision, Hikrobot, Dahua, Hytera, Huawei, ZTE" in result.output
    assert "source: https://www.fcc.gov/supplychain/coveredlist" in result.output
    records = json.loads(CliRunner().invoke(main, ["policies", "-f", "json"]).output)
    by_id = {record["id"]: record for record in records}
    assert set(by_id) >= {"uk-2022", "ndaa-889", "fcc-covered"}
    assert by_id["uk-2022"]["default"] is True
    assert "huawei" in {flag["maker"] for flag in by_id["fcc-covered"]["flags"]}
    assert "huawei" not in {flag["maker"] for flag in by_id["uk-2022"]["flags"]}


def test_every_listed_command_imports_as_a_click_command() -> None:
    """Commands load lazily, so a wrong module or name in the table would only fail when run."""
    from camaudit.commands import COMMANDS

    context = click.Context(main)
    assert main.list_commands(context) == sorted(COMMANDS)
    for name in COMMANDS:
        assert isinstance(main.get_command(context, name), click.Command), name
    assert main.get_command(context, "no-such-command") is None

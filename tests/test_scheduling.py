"""docs/scheduling.md: the systemd units and the cron line are valid and run real options."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from camaudit.commands import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "scheduling.md"


def block(name: str) -> str:
    """The fenced block after <!-- name --> in the doc."""
    found = re.search(rf"<!-- {name} -->\n```[a-z]*\n(.*?)```", DOC.read_text("utf-8"), re.S)
    assert found is not None, f"docs/scheduling.md lacks the {name} block"
    return found.group(1)


def units() -> dict[str, str]:
    return {
        "camaudit-depot4.service": block("systemd-service"),
        "camaudit-depot4.timer": block("systemd-timer"),
    }


def parse_unit(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


def assert_scan_arguments_parse(argv: list[str]) -> None:
    """The camaudit command line is one click accepts (options exist, values are valid)."""
    assert Path(argv[0]).name == "camaudit"
    assert argv[1] == "scan"
    scan = main.get_command(click.Context(main), "scan")
    assert scan is not None
    context = scan.make_context("scan", argv[2:])  # raises on an unknown option or bad value
    assert context.params["config_file"] is not None
    assert "new-flagged" in context.params["fail_on"]


def test_units_parse_and_run_a_valid_scan() -> None:
    """The service is a oneshot running `camaudit scan --config`; the timer is persistent."""
    service, timer = (parse_unit(text) for text in units().values())
    assert service["Service"]["Type"] == "oneshot"
    assert_scan_arguments_parse(shlex.split(service["Service"]["ExecStart"]))
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not found")
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """systemd's own checker finds nothing to say (only ExecStart's path points at this venv)."""
    camaudit = Path(sys.executable).with_name("camaudit")
    assert camaudit.is_file()
    for name, text in units().items():
        (tmp_path / name).write_text(text.replace("/usr/local/bin/camaudit", str(camaudit)))
    done = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / name) for name in units())],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # verify exits 0 on warnings too (an unknown key, a key in the wrong section): none allowed.
    assert [line for line in done.stderr.splitlines() if "camaudit-depot4" in line] == []
    calendar = parse_unit(units()["camaudit-depot4.timer"])["Timer"]["OnCalendar"]
    checked = subprocess.run(["systemd-analyze", "calendar", calendar], capture_output=True,
                             text=True, timeout=30, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stderr


CRON_FIELDS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def test_cron_line_is_valid() -> None:
    """Five time fields in range, a user, then a camaudit scan command that parses."""
    [line] = [text for text in block("cron").splitlines() if text.strip()]
    fields = line.split(None, 6)
    for value, (low, high) in zip(fields[:5], CRON_FIELDS, strict=True):
        if value != "*":
            assert value.isdigit(), value
            assert low <= int(value) <= high
    assert re.fullmatch(r"[a-z_][a-z0-9_-]*", fields[5])
    assert_scan_arguments_parse(shlex.split(fields[6]))


def test_verify_would_catch_a_misplaced_key(tmp_path: Path) -> None:
    """The warning check above is not vacuous: a key in the wrong section is reported."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not found")
    bad = tmp_path / "camaudit-depot4.timer"
    bad.write_text(units()["camaudit-depot4.timer"] + "OnCalendar=daily\n")
    done = subprocess.run(["systemd-analyze", "verify", str(bad)], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert "camaudit-depot4" in done.stderr

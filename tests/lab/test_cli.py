"""The simulator's own command line (`python -m camlab`): every command answers --help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from camlab.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", ["up", "down", "status", "exec", "demo"])
def test_every_command_has_help(command: str) -> None:
    """Every command answers --help with exit 0 (the ones `camaudit lab`/`demo` had)."""
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.stdout


def test_python_dash_m_camlab_runs_from_the_checkout() -> None:
    """`python -m camlab` (what `make demo` runs) works with the checkout as the directory."""
    done = subprocess.run(
        [sys.executable, "-m", "camlab", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for command in ("up", "down", "status", "exec", "demo"):
        assert command in done.stdout

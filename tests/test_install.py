"""Installing for a laptop user: the built wheel through pipx into a fresh environment, then
`camaudit --help` and `camaudit identify` from the installed command (README "Install")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT_S = 600  # pipx fetches camaudit's dependencies from the package index

pytestmark = pytest.mark.slow


def run(*command: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
        env=env,
    )
    assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    return done.stdout


def test_the_wheel_installs_with_pipx_and_identifies_a_file(tmp_path: Path) -> None:
    """pip wheel --no-deps, pipx install of that wheel (PIPX_HOME and PIPX_BIN_DIR in a temp
    folder), then the installed command: help, version, and a Hikvision server name flagged
    with the fingerprints the wheel carries."""
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, ROOT)
    (wheel,) = dist.glob("camaudit-*.whl")
    tools = tmp_path / "pipx-venv"
    run(sys.executable, "-m", "venv", tools)
    run(tools / "bin" / "python", "-m", "pip", "install", "-q", "pipx")
    env = {
        **os.environ,
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(tmp_path / "bin"),
        "PIPX_MAN_DIR": str(tmp_path / "man"),
    }
    env.pop("PYTHONPATH", None)  # the installed command must not see this checkout
    run(tools / "bin" / "pipx", "install", wheel, env=env)
    camaudit = tmp_path / "bin" / "camaudit"
    assert "identify" in run(camaudit, "--help", env=env, cwd=tmp_path)
    assert "camaudit" in run(camaudit, "--version", env=env, cwd=tmp_path)
    observations = tmp_path / "observations.jsonl"
    observations.write_text(
        json.dumps({"host": "198.51.100.7", "channel": "http.server", "value": "DNVRS-Webs"}) + "\n"
    )
    scan = json.loads(run(camaudit, "identify", observations, env=env, cwd=tmp_path))
    (device,) = scan["devices"]
    assert (device["maker"], device["flagged"]) == ("hikvision", True)
    where = run(
        tmp_path / "pipx" / "venvs" / "camaudit" / "bin" / "python",
        "-c",
        "import camaudit; print(camaudit.__file__)",
        env=env,
        cwd=tmp_path,  # not the checkout: `python -c` puts the current folder on sys.path
    )
    assert str(ROOT) not in where, "the command ran the checkout, not the installed wheel"

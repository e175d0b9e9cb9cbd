"""The scan's progress display: drawn on a terminal, never in JSON mode or into a pipe.

Each scan runs `camaudit scan` as a child process with stderr on a pseudo-terminal (or a pipe),
against a camlab camera on loopback inside the private namespace."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from camlab.loopback import device, serving_in_thread

CAMERA = "127.0.0.66"


@pytest.fixture(scope="module")
def camera_port() -> Iterator[int]:
    camera = device("hikvision-ds-2cd2722fwd-izs", CAMERA, channels={"http"})
    with serving_in_thread([camera]) as site:
        yield site.devices[0].bound[("tcp", 80)]


def scan_args(port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "camaudit", "scan", "127.0.0.64/29", "--yes",
            "--probe", "http_banner", "--http-port", str(port), "--https-port", "1",
            "--listen", "0.3", *extra]  # fmt: skip


def stderr_on_a_terminal(args: list[str]) -> str:
    """Run with stderr on a pseudo-terminal (stdout to a pipe); everything written to it."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=follower, env=env)
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif child.poll() is not None:
            break
    child.communicate(timeout=30)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", errors="replace")


def test_a_terminal_sees_live_hosts_found_and_probes_done(camera_port: int) -> None:
    """Hosts found, addresses asked, host probes done and the time-left column all show."""
    shown = stderr_on_a_terminal(scan_args(camera_port, "-f", "table"))
    assert "addresses asked" in shown
    assert "live hosts found" in shown
    assert "host probes done" in shown
    assert "-:--:--" in shown or "0:00:0" in shown  # rich's time-remaining column


def test_json_mode_draws_no_progress_even_on_a_terminal(camera_port: int) -> None:
    shown = stderr_on_a_terminal(scan_args(camera_port, "-f", "json"))
    assert "addresses asked" not in shown
    assert "host probes done" not in shown


def test_a_pipe_gets_no_progress(camera_port: int) -> None:
    done = subprocess.run(
        scan_args(camera_port, "-f", "table"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "addresses asked" not in done.stderr
    assert "DS-2CD2722FWD" in done.stdout or "hikvision" in done.stdout.lower()

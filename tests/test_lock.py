"""The per-site lock: one run at a time, a bounded wait, and nothing left behind by kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from camaudit.lock import SiteBusy, lock_path, site_lock

HOLDER = """
import sys, time
from pathlib import Path
from camaudit.lock import site_lock
with site_lock(Path(sys.argv[1]), sys.argv[2]):
    print("held", flush=True)
    time.sleep(120)
"""


def hold_in_child(folder: Path, site: str) -> subprocess.Popen[str]:
    """A separate process holding the site's lock until it is killed."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder), site],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    return child


def test_second_run_of_a_site_is_refused_with_the_holder(tmp_path: Path) -> None:
    """While one process holds the lock, another gets SiteBusy naming the site and the pid."""
    child = hold_in_child(tmp_path, "Depot 4")
    try:
        with pytest.raises(SiteBusy) as caught, site_lock(tmp_path, "Depot 4"):
            pass
        assert "'Depot 4'" in str(caught.value)
        assert f"pid {child.pid}" in str(caught.value)
        with site_lock(tmp_path, "HQ"):
            pass  # another site is not held up
    finally:
        child.kill()
        child.wait(timeout=10)


def test_wait_is_bounded(tmp_path: Path) -> None:
    """--lock-wait: the second run waits about that long, then gives up."""
    child = hold_in_child(tmp_path, "HQ")
    try:
        started = time.monotonic()
        with pytest.raises(SiteBusy, match="waited 0.5 s"), site_lock(tmp_path, "HQ", wait_s=0.5):
            pass
        assert 0.45 <= time.monotonic() - started < 5
    finally:
        child.kill()
        child.wait(timeout=10)


def test_kill_9_frees_the_lock(tmp_path: Path) -> None:
    """A holder killed with SIGKILL leaves the lock free at once (the kernel drops it)."""
    child = hold_in_child(tmp_path, "HQ")
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    assert lock_path(tmp_path, "HQ").exists()  # the file stays; it is not what holds the lock
    started = time.monotonic()
    with site_lock(tmp_path, "HQ", wait_s=0):
        assert time.monotonic() - started < 1


def test_waiting_run_gets_the_lock_when_the_holder_ends(tmp_path: Path) -> None:
    """A run that is allowed to wait takes the lock as soon as the holder exits."""
    child = hold_in_child(tmp_path, "HQ")
    killer = subprocess.Popen(["sh", "-c", f"sleep 0.5; kill {child.pid}"])
    started = time.monotonic()
    with site_lock(tmp_path, "HQ", wait_s=10):
        waited = time.monotonic() - started
    assert 0.3 < waited < 10
    killer.wait(timeout=10)
    child.wait(timeout=10)

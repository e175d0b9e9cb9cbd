"""The simulated site for end-to-end tests: brought up once per session in its own namespaces.

Needs root and `ip netns`; skips with the reason otherwise. Everything is named cal-<random id>-
and removed in a finally, and the session refuses to start if a name would collide.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from camlab import control, topology
from camlab.site import SITES_DIR, Site, load_site

SITE_FILE = SITES_DIR / "selftest.toml"
SCAN_TIMEOUT_S = 180.0
# Short listening windows and a high rate: the lab answers at once and nothing else is on it.
FAST = ("--listen", "1", "--timeout", "2", "--rate", "5000")


def netns_unavailable() -> str | None:
    """Why namespace tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "iproute2 `ip` is not installed"
    name = f"cal-p{secrets.token_hex(4)}-probe"
    try:
        done = subprocess.run(
            ["ip", "netns", "add", name], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`ip netns add` failed: {exc}"
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10, check=False)
    if done.returncode != 0:
        return f"`ip netns add` failed: {done.stderr.strip()}"
    return None


def fresh_labid() -> str:
    """A random lab id whose names collide with nothing that exists (refuses to run otherwise)."""
    labid = "t" + secrets.token_hex(4)
    clash = topology.list_namespaces(labid)
    if clash or topology.run_dir(labid).exists():
        pytest.exit(
            f"namespace names for lab {labid} already exist ({clash}); refusing to run",
            returncode=3,
        )
    return labid


@dataclass
class LabHandle:
    """A running lab: its id, site, and helpers to scan from its scanner namespace."""

    labid: str
    site: Site
    workdir: Path

    def scan(self, *args: str, name: str = "scan") -> dict[str, Any]:
        """Run `camaudit scan ARGS --format json` inside the scanner namespace; the parsed JSON."""
        output = self.workdir / f"{name}.json"
        command = [
            sys.executable,
            "-m",
            "camaudit",
            "scan",
            *args,
            *FAST,
            "--format",
            "json",
            "-o",
            str(output),
        ]
        done = control.exec_in_scanner(
            self.labid, command, capture_output=True, text=True, timeout=SCAN_TIMEOUT_S
        )
        # Exit 1 would mean flagged devices only with --fail-on flagged, which is not passed here.
        assert done.returncode == 0, f"scan failed ({done.returncode}):\n{done.stderr[-3000:]}"
        result: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
        return result

    def requests(self) -> list[dict[str, Any]]:
        """Every request the devices logged so far."""
        return control.requests_seen(self.labid)


def running_lab(site_file: Path) -> Iterator[LabHandle]:
    """A site up in fresh namespaces for as long as the caller holds it, always taken down."""
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    labid = fresh_labid()
    # NOTE: not tmp_path_factory: concurrent pytest sessions on one machine prune each other's
    # numbered base temp folders, and the scans write into this folder from another process.
    workdir = Path(tempfile.mkdtemp(prefix=f"camaudit-e2e-{labid}-"))
    try:
        result = control.up(str(site_file), labid=labid)
        yield LabHandle(labid=labid, site=result.site, workdir=workdir)
    finally:
        control.down(labid)
        shutil.rmtree(workdir, ignore_errors=True)
    assert topology.list_namespaces(labid) == [], "namespaces left behind"


@pytest.fixture(scope="session")
def lab() -> Iterator[LabHandle]:
    """The self-test site, up for the whole session, always taken down afterwards."""
    yield from running_lab(SITE_FILE)


@pytest.fixture(scope="module")
def default_lab() -> Iterator[LabHandle]:
    """The default site (every shipped persona; what `camaudit demo` scans), up for one module."""
    yield from running_lab(SITES_DIR / "default.toml")


@pytest.fixture(scope="session")
def full_scan(lab: LabHandle) -> dict[str, Any]:
    """One scan of both subnets, shared by the channel-by-channel tests."""
    return lab.scan("198.51.100.0/24", "198.18.5.0/24", name="full")


def static_site() -> Site:
    """The self-test site as a file (for test parameters; needs no root)."""
    return load_site(SITE_FILE)

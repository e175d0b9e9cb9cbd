"""The simulated site for end-to-end tests: brought up once per session in its own namespaces.

The namespaces come from the suite's one `namespaces` fixture (tests/conftest.py): root and
`ip netns` or a skip with the reason, names cal-<random id>-, always removed.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from camlab import control
from camlab.site import SITES_DIR, Site, load_site
from tests.conftest import Namespaces

SITE_FILE = SITES_DIR / "selftest.toml"
SCAN_TIMEOUT_S = 180.0
# Short listening windows and a high rate: the lab answers at once and nothing else is on it.
FAST = ("--listen", "1", "--timeout", "2", "--rate", "5000")


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


@contextlib.contextmanager
def running_lab(namespaces: Namespaces, site_file: Path) -> Iterator[LabHandle]:
    """A site up in fresh namespaces for as long as the caller holds it, always taken down."""
    with namespaces.site(site_file) as result:
        # NOTE: not tmp_path_factory: concurrent pytest sessions on one machine prune each
        # other's numbered base temp folders, and the scans write here from another process.
        workdir = Path(tempfile.mkdtemp(prefix=f"camaudit-e2e-{result.labid}-"))
        try:
            yield LabHandle(labid=result.labid, site=result.site, workdir=workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def lab(namespaces: Namespaces) -> Iterator[LabHandle]:
    """The self-test site, up for the whole session, always taken down afterwards."""
    with running_lab(namespaces, SITE_FILE) as handle:
        yield handle


@pytest.fixture(scope="module")
def default_lab(namespaces: Namespaces) -> Iterator[LabHandle]:
    """The default site (every shipped persona; what the demo scans), up for one module."""
    with running_lab(namespaces, SITES_DIR / "default.toml") as handle:
        yield handle


@pytest.fixture(scope="session")
def full_scan(lab: LabHandle) -> dict[str, Any]:
    """One scan of both subnets, shared by the channel-by-channel tests."""
    return lab.scan("198.51.100.0/24", "198.18.5.0/24", name="full")


def static_site() -> Site:
    """The self-test site as a file (for test parameters; needs no root)."""
    return load_site(SITE_FILE)

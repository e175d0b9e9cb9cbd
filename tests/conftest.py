"""Suite-wide options, and the one way tests get network namespaces (`namespaces`).

Every namespace a test makes is made by camlab, named cal-<fresh random id>-..., and removed by
id when its user is done (and again, whatever happened, when the session ends), so parallel
runs on one machine never touch each other's. The area fixtures live in each folder's conftest.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from camlab import control, topology
from camlab.control import UpResult


def pytest_addoption(parser: pytest.Parser) -> None:
    """--update-golden rewrites tests/reports/golden/ from the current output (declared here so a
    bare `pytest --update-golden` works as well as `pytest tests/reports --update-golden`)."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/reports/golden/ instead of comparing",
    )


# The whole-scanner tests run only inside the loopback-only namespace test_private_netns.py
# makes (through `namespaces`), never in the host's own namespace.
collect_ignore = [] if os.environ.get("CAMAUDIT_PRIVATE_NETNS") == "1" else ["private_netns"]


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


class Namespaces:
    """Hands out fresh lab ids and builds namespaces under them; remembers every id it gave."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def new_id(self) -> str:
        """A random lab id whose names collide with nothing that exists (refuses otherwise)."""
        labid = "t" + secrets.token_hex(4)
        clash = topology.list_namespaces(labid)
        if clash or topology.run_dir(labid).exists():
            pytest.exit(
                f"namespace names for lab {labid} already exist ({clash}); refusing to run",
                returncode=3,
            )
        self.ids.append(labid)
        return labid

    @contextlib.contextmanager
    def site(self, site_file: Path) -> Iterator[UpResult]:
        """A camlab site up (namespaces and responder) for the block, always taken down."""
        labid = self.new_id()
        try:
            yield control.up(str(site_file), labid=labid)
        finally:
            control.down(labid)
        assert topology.list_namespaces(labid) == [], "namespaces left behind"

    @contextlib.contextmanager
    def loopback_only(self) -> Iterator[str]:
        """A namespace holding nothing but `lo`, for the block; yields its name."""
        labid = self.new_id()
        try:
            yield topology.build_isolated(labid)
        finally:
            control.down(labid)
        assert topology.list_namespaces(labid) == [], "namespaces left behind"

    def remove(self, labid: str) -> None:
        """Take down everything named for one id handed out (for namespaces a test built itself
        under that id's cal-<id>- prefix)."""
        control.down(labid)
        assert topology.list_namespaces(labid) == [], "namespaces left behind"

    def remove_all(self) -> None:
        """Take down whatever is left under any id handed out (a test that died half-way)."""
        for labid in self.ids:
            if topology.list_namespaces(labid) or topology.run_dir(labid).exists():
                control.down(labid)


@pytest.fixture(scope="session")
def namespaces() -> Iterator[Namespaces]:
    """The session's namespaces (root and `ip netns`; skips with the reason otherwise)."""
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    made = Namespaces()
    try:
        yield made
    finally:
        made.remove_all()

"""Run the whole-scanner tests inside a network namespace that holds nothing but loopback.

No scan with multicast or ARP ever runs in the host's own namespace: this test takes a
loopback-only namespace from the suite's one `namespaces` fixture (camlab builds it, named
cal-<random id>-solo, removed afterwards) and runs tests/private_netns there (the suite skips
that folder everywhere else).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Namespaces

ROOT = Path(__file__).resolve().parents[1]
INNER = "tests/private_netns"


@pytest.mark.netns
def test_whole_scanner_tests_pass_in_a_private_namespace(namespaces: Namespaces) -> None:
    """The inner suite passes; its output is shown when it does not."""
    env = {**os.environ, "CAMAUDIT_PRIVATE_NETNS": "1"}
    with namespaces.loopback_only() as namespace:
        done = subprocess.run(
            ["ip", "netns", "exec", namespace,
             sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", INNER],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
    assert " failed" not in done.stdout

"""Run the whole-scanner tests inside a private network namespace that has only loopback.

No scan ever runs in the host's own namespace: this test starts `unshare --net`, brings up `lo`
inside, and runs tests/private_netns there (the suite skips that folder everywhere else).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INNER = "tests/private_netns"


@pytest.mark.netns
def test_whole_scanner_tests_pass_in_a_private_namespace() -> None:
    """The inner suite passes; its output is shown when it does not."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs root, unshare (util-linux) and ip (iproute2)")
    script = f"ip link set lo up && exec {sys.executable} -m pytest -q -p no:cacheprovider {INNER}"
    env = {**os.environ, "CAMAUDIT_PRIVATE_NETNS": "1"}
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
    assert " failed" not in done.stdout

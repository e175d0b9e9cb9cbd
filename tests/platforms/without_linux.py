"""Run camaudit in a subprocess that looks like Windows to it: no `resource`, `fcntl`, `termios`,
no `socket.AF_PACKET` (nor `SO_BINDTODEVICE`, which macOS and Windows lack as well).

The blocking happens before camaudit is imported, with a meta path finder that refuses the
modules and by deleting the socket constants, so any import of them at start fails loudly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BLOCKED_MODULES = ("resource", "fcntl", "termios")
BLOCKED_SOCKET_NAMES = ("AF_PACKET", "PF_PACKET", "SO_BINDTODEVICE")

WRAPPER = f"""
import importlib.abc, sys

BLOCKED = {BLOCKED_MODULES!r}


class RefuseLinuxOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)
        return None


sys.meta_path.insert(0, RefuseLinuxOnly())
for name in BLOCKED:
    sys.modules.pop(name, None)
import socket

for name in {BLOCKED_SOCKET_NAMES!r}:
    if hasattr(socket, name):
        delattr(socket, name)
sys.argv = ["camaudit", *sys.argv[1:]]
if sys.argv[1:2] == ["--python"]:  # run a snippet instead of the CLI (the test's own checks)
    exec(sys.argv[2])
else:
    from camaudit.cli import main

    main()
"""


def run_camaudit(
    *args: str, timeout: float = 120, cwd: Path | None = None, preexec_user: int | None = None
) -> subprocess.CompletedProcess[str]:
    """`camaudit ARGS` with the Linux-only modules unavailable; text output captured."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-c", WRAPPER, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or ROOT,
        env=env,
        check=False,
        user=preexec_user,
    )

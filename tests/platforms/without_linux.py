"""Run camaudit in a subprocess that looks like Windows to it: no `resource`, `fcntl`, `termios`,
no `socket.AF_PACKET` (nor `SO_BINDTODEVICE`, which macOS and Windows lack as well).

The blocking happens before camaudit is imported, with a meta path finder that refuses the
modules and by deleting the socket constants, so any import of them at start fails loudly.
NOTE: psutil is imported first, unblocked: each OS has its own psutil backend, and the Linux
one this machine loads needs `resource` and AF_PACKET where the Windows one needs neither.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BLOCKED_MODULES = ("resource", "fcntl", "termios")
BLOCKED_SOCKET_NAMES = ("AF_PACKET", "PF_PACKET", "SO_BINDTODEVICE")

WRAPPER = f"""
import importlib.abc, sys

import psutil  # its per-OS backend, loaded as on the real system (see the module docstring)

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
    from camaudit.commands import main

    main()
"""


# As root, scans run with every capability dropped (root's own files stay readable, so the
# interpreter under /root still starts, but raw sockets and ports below 1024 are refused).
DROP_CAPABILITIES = ("setpriv", "--bounding-set=-all", "--inh-caps=-all", "--")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}


def run_camaudit(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`camaudit ARGS` with the Linux-only modules unavailable; text output captured."""
    return subprocess.run(
        [sys.executable, "-c", WRAPPER, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=_env(),
        check=False,
    )


@dataclass(frozen=True)
class Finished:
    """A finished camaudit process."""

    returncode: int
    stdout: str
    stderr: str


async def run_camaudit_async(
    *args: str, blocked: bool = True, unprivileged: bool = True, limit_s: float = 240
) -> Finished:
    """`camaudit ARGS` without blocking the event loop (responders in this process keep
    answering); with the Linux-only modules blocked, or as a normal run for comparison;
    without capabilities when the tests run as root."""
    program = ["-c", WRAPPER, *args] if blocked else ["-m", "camaudit", *args]
    drop = DROP_CAPABILITIES if unprivileged and os.geteuid() == 0 else ()
    process = await asyncio.create_subprocess_exec(
        *drop,
        sys.executable,
        *program,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=_env(),
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), limit_s)
    except TimeoutError:
        process.kill()  # never leave a scan running after its test
        await process.wait()
        raise
    return Finished(process.returncode or 0, out.decode(), err.decode())

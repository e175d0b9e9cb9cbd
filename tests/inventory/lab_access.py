"""The one place the inventory tests reach the lab (camaudit.lab today, camlab after the move)."""

from __future__ import annotations

import sys

from camaudit.lab import topology
from tests.e2e.conftest import FAST, SITE_FILE, LabHandle, netns_unavailable, running_lab

__all__ = ["FAST", "SITE_FILE", "LabHandle", "camaudit_in_scanner", "netns_unavailable",
           "running_lab"]  # fmt: skip


def camaudit_in_scanner(labid: str, *args: str) -> list[str]:
    """The argv that runs `camaudit ARGS` inside the lab's scanner namespace."""
    return ["ip", "netns", "exec", topology.ns_scanner(labid), sys.executable, "-m", "camaudit",
            *args]  # fmt: skip

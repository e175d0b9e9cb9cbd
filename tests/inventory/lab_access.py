"""The one place the inventory tests reach the lab (camlab)."""

from __future__ import annotations

import sys

from camlab import topology
from tests.conftest import Namespaces
from tests.e2e.conftest import FAST, SITE_FILE, LabHandle, running_lab

__all__ = ["FAST", "SITE_FILE", "LabHandle", "Namespaces", "camaudit_in_scanner",
           "running_lab"]  # fmt: skip


def camaudit_in_scanner(labid: str, *args: str) -> list[str]:
    """The argv that runs `camaudit ARGS` inside the lab's scanner namespace."""
    return ["ip", "netns", "exec", topology.ns_scanner(labid), sys.executable, "-m", "camaudit",
            *args]  # fmt: skip

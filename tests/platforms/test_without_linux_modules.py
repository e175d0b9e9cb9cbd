"""camaudit without the Linux-only modules (as on Windows): it starts, identifies, reports.

The scan itself runs in tests/private_netns/test_scan_without_linux_modules.py, because no scan
may run in the host's own namespace.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.platforms.without_linux import BLOCKED_MODULES, run_camaudit

OBSERVATIONS = [
    # An older Hikvision web server's name (fingerprints/http_server.toml cites its source).
    {"host": "198.51.100.7", "channel": "http.server", "value": "DNVRS-Webs"},
    {"host": "198.51.100.8", "channel": "http.server", "value": "nginx"},
]


@pytest.mark.parametrize("module", BLOCKED_MODULES)
def test_the_wrapper_really_blocks_each_module(module: str) -> None:
    """The check below would prove nothing if the modules could still be imported."""
    done = run_camaudit("--python", f"import {module}")
    assert done.returncode != 0
    assert f"No module named '{module}'" in done.stderr


def test_the_wrapper_removes_packet_sockets() -> None:
    """socket.AF_PACKET and SO_BINDTODEVICE are gone, as on macOS and Windows."""
    done = run_camaudit(
        "--python",
        "import socket; print(hasattr(socket, 'AF_PACKET'), hasattr(socket, 'SO_BINDTODEVICE'))",
    )
    assert done.stdout.strip() == "False False", done.stderr


def test_help_works_without_linux_modules() -> None:
    """`camaudit --help` and `camaudit scan --help` start without resource, fcntl, termios."""
    top = run_camaudit("--help")
    assert top.returncode == 0, top.stderr
    assert "identify" in top.stdout
    scan = run_camaudit("scan", "--help")
    assert scan.returncode == 0, scan.stderr
    assert "--dry-run" in scan.stdout


def test_identify_report_and_checklist_work_without_linux_modules(tmp_path: Path) -> None:
    """A file of observations is judged (the Hikvision server name flagged, nginx not), and its
    report and checklist are written."""
    source = tmp_path / "observations.jsonl"
    source.write_text("".join(json.dumps(item) + "\n" for item in OBSERVATIONS))
    scan_json = tmp_path / "scan.json"
    done = run_camaudit("identify", str(source), "-o", str(scan_json))
    assert done.returncode == 0, done.stderr
    devices = {d["ip"]: d for d in json.loads(scan_json.read_text())["devices"]}
    assert (devices["198.51.100.7"]["maker"], devices["198.51.100.7"]["flagged"]) == (
        "hikvision",
        True,
    )
    assert not devices["198.51.100.8"]["flagged"]
    report = run_camaudit("report", str(scan_json), "-f", "html", "-o", str(tmp_path / "r.html"))
    assert report.returncode == 0, report.stderr
    assert "198.51.100.7" in (tmp_path / "r.html").read_text()
    checklist = run_camaudit("checklist", str(scan_json), "-o", str(tmp_path / "c.csv"))
    assert checklist.returncode == 0, checklist.stderr
    assert "198.51.100.7" in (tmp_path / "c.csv").read_text()


IMPORT_EVERY_MODULE = """
import importlib, pkgutil, camaudit
names = sorted(
    m.name for m in pkgutil.walk_packages(camaudit.__path__, "camaudit.")
    if not m.name.endswith(".__main__")  # runs the program when imported
)
for name in names:
    importlib.import_module(name)
print(len(names), " ".join(names))
"""


def test_every_camaudit_module_imports_without_linux_modules() -> None:
    """No module of camaudit needs resource, fcntl, termios or AF_PACKET at import: the per-site
    lock, the inventory engines and the file inputs included (each takes what it needs lazily)."""
    done = run_camaudit("--python", IMPORT_EVERY_MODULE)
    assert done.returncode == 0, done.stderr
    count, _, names = done.stdout.strip().partition(" ")
    imported = set(names.split())
    assert {"camaudit.lock", "camaudit.inventory.store", "camaudit.inputs.pcap"} <= imported
    assert int(count) == len(imported) > 50

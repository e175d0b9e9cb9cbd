"""End to end: `camaudit scan --config` run inside the simulated site, into SQLite and PostgreSQL.

Two sites scan the lab; overlapping and killed runs; an unreachable inventory. The scans run in
the lab's scanner namespace; the inventory is a file or a unix socket, reachable from there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lab_access import FAST, SITE_FILE, LabHandle, Namespaces, camaudit_in_scanner, running_lab

from camaudit.inventory.store import open_store

pytestmark = [pytest.mark.netns, pytest.mark.slow]

LAN = "198.51.100.0/24"
SCAN_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def site_lab(namespaces: Namespaces) -> Iterator[LabHandle]:
    """The self-test site, up for this module (in the session's cal-<id>- namespaces)."""
    with running_lab(namespaces, SITE_FILE) as handle:
        yield handle


def config(tmp_path: Path, site: str, db: str) -> Path:
    path = tmp_path / f"{site}.toml"
    path.write_text(
        f'site = "{site}"\ntargets = ["{LAN}"]\ndb = "{db}"\n'
        f'[outputs]\nhtml = "reports/{{site}}-{{date}}.html"\n',
        encoding="utf-8",
    )
    (tmp_path / "reports").mkdir(exist_ok=True)
    return path


def env_for(tmp_path: Path) -> dict[str, str]:
    """Locks and the default spool in this test's folder."""
    return {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}


def scan_argv(lab: LabHandle, *args: str) -> list[str]:
    return camaudit_in_scanner(lab.labid, "scan", *args, *FAST, "-f", "json")


def scan(lab: LabHandle, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        scan_argv(lab, *args, "-o", str(tmp_path / "out.json")), env=env_for(tmp_path),
        capture_output=True, text=True, timeout=SCAN_TIMEOUT_S, check=False,
    )  # fmt: skip


def scans_of(db: str, site: str) -> int:
    with open_store(db) as store:
        return len(store.scans(site=site))


def test_two_sites_scan_the_lab_and_new_flagged_fails_only_once(
    site_lab: LabHandle, db_location: str, tmp_path: Path
) -> None:
    """Each site's first scan finds its flagged units new (exit 1); the next scan does not."""
    hq, depot = config(tmp_path, "HQ", db_location), config(tmp_path, "Depot", db_location)
    first = scan(site_lab, tmp_path, "--config", str(hq), "--fail-on", "new-flagged")
    assert first.returncode == 1, first.stderr
    assert "flagged device(s) new to site HQ" in first.stderr
    other = scan(site_lab, tmp_path, "--config", str(depot), "--fail-on", "new-flagged")
    assert other.returncode == 1, other.stderr
    again = scan(site_lab, tmp_path, "--config", str(hq), "--fail-on", "new-flagged")
    assert again.returncode == 0, again.stderr
    assert "Changes since the previous saved scan" in again.stderr
    assert (scans_of(db_location, "HQ"), scans_of(db_location, "Depot")) == (2, 1)
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert (tmp_path / "reports" / f"HQ-{today}.html").is_file()
    assert (tmp_path / "reports" / f"Depot-{today}.html").is_file()
    for done in (first, other, again):
        assert "Traceback" not in done.stderr


def test_overlapping_runs_scan_once_and_kill_9_leaves_the_lock_free(
    site_lab: LabHandle, db_location: str, tmp_path: Path
) -> None:
    """Two runs at once: one scans, one says why not. A run killed with -9 costs nothing."""
    hq = config(tmp_path, "HQ", db_location)
    runs = [
        subprocess.Popen(
            scan_argv(site_lab, "--config", str(hq), "-o", str(tmp_path / f"run{i}.json")),
            env=env_for(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for i in range(2)
    ]
    results = [(run.wait(timeout=SCAN_TIMEOUT_S), run.communicate()[1]) for run in runs]
    assert sorted(code for code, _ in results) == [0, 3], results
    [refused] = [err for code, err in results if code == 3]
    assert len(refused.strip().splitlines()) == 1, refused
    assert "another camaudit run is scanning site 'HQ'" in refused
    assert all("Traceback" not in err for _, err in results)
    assert scans_of(db_location, "HQ") == 1

    # Five requests a second keep the victim scanning a /24 for about a minute. The rate comes
    # after FAST, whose own --rate would otherwise win: at FAST's pace the scan is over in 2 s.
    slow = [
        *scan_argv(site_lab, "--config", str(hq), "-o", str(tmp_path / "k.json")),
        "--rate",
        "5",
    ]
    victim = subprocess.Popen(
        slow, env=env_for(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(2.0)  # well inside its scan
    os.kill(victim.pid, signal.SIGKILL)
    assert victim.wait(timeout=30) == -signal.SIGKILL
    after = scan(site_lab, tmp_path, "--config", str(hq))
    assert after.returncode == 0, after.stderr
    assert scans_of(db_location, "HQ") == 2


def test_unreachable_inventory_writes_the_report_and_spools_the_scan(
    site_lab: LabHandle, engine: str, db_location: str, tmp_path: Path
) -> None:
    """Server down: one warning line, the report, a spool file. Next run: both scans stored."""
    if engine == "postgres":
        down = f"postgresql://camaudit@/central?host={tmp_path / 'nobody'}"
    else:
        (tmp_path / "file").write_text("x")
        down = str(tmp_path / "file" / "inventory.sqlite3")
    spool = tmp_path / "spool"
    report = tmp_path / "out.json"
    missed = scan(site_lab, tmp_path, LAN, "--site", "HQ", "--db", down, "--spool", str(spool))
    assert missed.returncode == 0, missed.stderr
    warnings = [line for line in missed.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1, missed.stderr
    assert "scan not saved to the inventory" in warnings[0]
    assert "Traceback" not in missed.stderr
    assert report.stat().st_size > 0
    assert len(list(spool.glob("*.json"))) == 1
    back = scan(site_lab, tmp_path, LAN, "--site", "HQ", "--db", db_location, "--spool", str(spool))
    assert back.returncode == 0, back.stderr
    assert "Sent spooled scan" in back.stderr
    assert list(spool.glob("*.json")) == []
    assert scans_of(db_location, "HQ") == 2

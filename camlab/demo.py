"""The demo (`python -m camlab demo`, `make demo`): the site up, a camaudit scan of it, reports.

camaudit runs as a separate process (`python -m camaudit`), exactly as a user would run it.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from camlab import control
from camlab.errors import LabError
from camlab.loopback import serving, site_instances
from camlab.site import load_site, site_path

log = logging.getLogger(__name__)

DEMO_LABID = "demo"
SCAN_TIMEOUT_S = 300.0  # the default site scans in well under a minute
REPORT_TIMEOUT_S = 60.0
Echo = Callable[[str], None]


def _camaudit(*args: str) -> list[str]:
    return [sys.executable, "-m", "camaudit", *args]


def run_demo(output_dir: Path, site_name: str = "default", *, echo: Echo = print) -> Path:
    """As root: lab up (replacing a stale one), scan from the scanner namespace, down, reports."""
    control.require_root()
    output_dir = output_dir.resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    if control.status(DEMO_LABID).namespaces:
        echo("removing a stale demo lab first")
        control.down(DEMO_LABID)
    started = time.monotonic()
    result = control.up(site_name, labid=DEMO_LABID)
    scan_json = output_dir / "scan.json"
    try:
        echo(
            f"lab up: {len(result.site.devices)} devices in "
            f"{result.seconds_topology + result.seconds_responder:.1f} s; "
            "scanning from inside the scanner namespace..."
        )
        targets = [str(subnet.network) for subnet in result.site.subnets]
        command = _camaudit(
            "scan", *targets, "--format", "json", "-o", str(scan_json), "--site", "demo"
        )
        done = control.exec_in_scanner(DEMO_LABID, command, timeout=SCAN_TIMEOUT_S)
        _check_scan(done.returncode, scan_json)
    except subprocess.TimeoutExpired:
        raise LabError(f"the scan did not finish in {SCAN_TIMEOUT_S:.0f} s") from None
    finally:
        control.down(DEMO_LABID)
        echo("lab down")
    write_reports(scan_json, output_dir, echo=echo)
    echo(f"demo finished in {time.monotonic() - started:.1f} s; reports in {output_dir}")
    return scan_json


def _check_scan(code: int, scan_json: Path) -> None:
    """LabError unless the scan finished (0, or 1 for flagged devices) and wrote its report;
    a camaudit that cannot even start exits 1 too, so the report file is what proves it ran."""
    if code not in (0, 1):
        raise LabError(f"the scan failed with exit code {code}")
    if not scan_json.is_file():
        raise LabError(f"the scan exited {code} without writing {scan_json.name}")


def write_reports(scan_json: Path, output_dir: Path, *, echo: Echo = print) -> list[Path]:
    """The table on the terminal and every report format that this camaudit has, from scan.json."""
    subprocess.run(
        _camaudit("report", str(scan_json), "--format", "table"),
        check=False,
        timeout=REPORT_TIMEOUT_S,
    )
    written = [scan_json]
    jobs = [
        ("report.html", ["report", str(scan_json), "--format", "html", "-o"]),
        ("checklist.csv", ["checklist", str(scan_json), "-o"]),
        ("checklist.xlsx", ["checklist", str(scan_json), "-o"]),
        ("checklist.md", ["checklist", str(scan_json), "-o"]),
        ("checklist.html", ["checklist", str(scan_json), "-o"]),
    ]
    for name, args in jobs:
        target = output_dir / name
        done = subprocess.run(
            _camaudit(*args, str(target)),
            capture_output=True,
            text=True,
            check=False,
            timeout=REPORT_TIMEOUT_S,
        )
        if done.returncode == 0 and target.exists():
            written.append(target)
        else:  # a report command still being written must not spoil the demo
            echo(
                f"skipped {name}: "
                f"{(done.stderr or done.stdout).strip().splitlines()[-1:] or ['no output']}"
            )
    echo("wrote " + ", ".join(path.name for path in written))
    return written


def run_loopback_demo(output_dir: Path, site_name: str = "default", *, echo: Echo = print) -> Path:
    """Without root: the same devices on 127.0.0.x, unicast only, on ports the kernel picks."""
    output_dir = output_dir.resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    instances = site_instances(load_site(site_path(site_name)))
    scan_json = output_dir / "scan.json"

    async def serve_and_scan() -> int:
        async with serving(instances) as site:
            command = _camaudit(
                "scan", *site.targets(), "--no-multicast", *site.scan_options(),
                "--skip-probe", "arp", "--format", "json", "-o", str(scan_json),
                "--site", "demo-loopback",
            )  # fmt: skip
            echo(f"serving {len(site.devices)} devices on {site.first}-{site.last}; scanning...")
            process = await asyncio.create_subprocess_exec(*command)
            try:
                async with asyncio.timeout(SCAN_TIMEOUT_S):
                    return await process.wait()
            except TimeoutError:
                process.kill()  # never leave a scan running after the demo
                await process.wait()
                raise LabError(f"the scan did not finish in {SCAN_TIMEOUT_S:.0f} s") from None

    _check_scan(asyncio.run(serve_and_scan()), scan_json)
    write_reports(scan_json, output_dir, echo=echo)
    return scan_json

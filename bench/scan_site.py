"""Benchmark: time a full scan of the simulated site (every probe on) and its peak memory.

Needs root (the site lives in network namespaces it creates and removes). Usage:
    python bench/scan_site.py                   # the default site's /24, every probe
    python bench/scan_site.py --scale 200       # plus 200 filler devices on 198.18.16.0/20
Prints one line per run and a summary; nothing leaves the namespaces.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import cast

LAB_ID = "bench"
REPO = Path(__file__).resolve().parents[1]  # camlab sits here, beside camaudit


def camlab(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the simulator's CLI (camlab, from the repository) with this interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "camlab", *args],
        cwd=REPO,
        check=check,
        text=True,
        capture_output=True,
        timeout=600,
    )


def timed_scan(targets: list[str], output: Path) -> tuple[float, float, dict[str, object]]:
    """One scan in the scanner namespace: wall seconds, peak RSS of the scan in MiB, the report."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    camlab(
        "exec",
        "--id",
        LAB_ID,
        "--",
        sys.executable,
        "-m",
        "camaudit",
        "scan",
        *targets,
        "--yes",
        "-f",
        "json",
        "-o",
        str(output),
    )
    wall = time.monotonic() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest single child so far; the scan is by far the largest.
    peak_mib = max(peak_kib, before) / 1024
    return wall, peak_mib, json.loads(output.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=0, help="filler devices on 198.18.16.0/20")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench: needs root to build the simulated site", file=sys.stderr)
        return 2
    targets = ["198.51.100.0/24"] + (["198.18.16.0/20"] if args.scale else [])
    up_started = time.monotonic()
    up = ["up", "--id", LAB_ID, "--replace"] + (["--scale", str(args.scale)] if args.scale else [])
    camlab(*up)
    print(f"lab up: {time.monotonic() - up_started:.2f} s")
    walls: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for run in range(args.runs):
                wall, peak, report = timed_scan(targets, Path(folder) / f"scan{run}.json")
                devices = cast(list[dict[str, object]], report["devices"])  # the JSON schema
                flagged = sum(1 for device in devices if device["flagged"])
                walls.append(wall)
                print(
                    f"run {run + 1}: {wall:.2f} s wall, peak RSS {peak:.0f} MiB, "
                    f"{len(devices)} devices, {flagged} flagged, targets {' '.join(targets)}"
                )
    finally:
        camlab("down", "--id", LAB_ID, check=False)
    print(
        f"median {statistics.median(walls):.2f} s over {len(walls)} runs "
        "(target: under 10 s for a /24)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

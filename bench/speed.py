"""Benchmark (issue 13): camaudit against nmap -sV on three simulated sites, side by side.

Needs root: each site lives in network namespaces camlab builds and removes; nothing leaves
them. nmap comes from Debian's package (installed here when missing). Sites, built from the
default site's personas:

    lan24     a /24 with 50 devices on the scanner's own segment, every probe on
    sparse20  a routed /20 with 60 devices in four /24s, the other 4,030 addresses silent
    sparse16  a routed /16 with 50 devices, one in every fifth /24, the rest silent

For each: wall seconds, peak memory, devices found, flagged (Hikvision/Dahua family) and named
(a maker given), for camaudit and for `nmap -sV` over the same camera ports with its
broadcast-wsdd-discover script (WS-Discovery); then the ratios, which hold on a noisy machine
where the absolute times do not. Usage:

    python bench/speed.py                       # all three sites, camaudit and nmap
    python bench/speed.py --sites lan24 --no-nmap
    python bench/speed.py --nmap-cap 900        # stop nmap after 900 s (reported as a floor)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path
from xml.etree import ElementTree

REPO = Path(__file__).resolve().parents[1]
LAB_ID = os.environ.get("CAMAUDIT_BENCH_LAB", "bspeed")  # another id lets two runs coexist
DEFAULT_SITE = REPO / "camlab" / "sites" / "default.toml"
MAKERS = REPO / "fingerprints" / "identifiers" / "makers.txt"
CAMERA_PORTS = "80,443,554,8000,8080,8443,37777"
FAMILY = re.compile(r"hikvision|dahua", re.IGNORECASE)
# Runs a command and prints, on its last line, its own wall seconds (from start to exit, so
# the lab's `camlab exec` start-up is not counted against either tool) and the peak RSS (KiB)
# of it and its descendants.
PEAK_WRAPPER = (
    "import resource, subprocess, sys, time; started = time.monotonic(); "
    "done = subprocess.run(sys.argv[1:]); wall = time.monotonic() - started; "
    "print(f'{wall:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', "
    "file=sys.stderr); sys.exit(done.returncode)"
)


@dataclass(frozen=True)
class SiteSpec:
    name: str
    targets: tuple[str, ...]
    blocks: tuple[str, ...]  # routed /24s holding devices ("" = the scanner's own segment)
    per_block: int


SITES = {
    "lan24": SiteSpec("lan24", ("198.51.100.0/24",), ("",), 50),
    "sparse20": SiteSpec(
        "sparse20",
        ("198.18.16.0/20",),
        tuple(str(n) for n in list(IPv4Network("198.18.16.0/20").subnets(new_prefix=24))[:4]),
        15,
    ),
    "sparse16": SiteSpec(
        "sparse16",
        ("198.19.0.0/16",),
        tuple(str(n) for n in list(IPv4Network("198.19.0.0/16").subnets(new_prefix=24))[::5][:50]),
        1,
    ),
}


@dataclass(frozen=True)
class Run:
    tool: str
    wall_s: float
    peak_mib: float
    found: int
    flagged: int
    named: int
    capped: bool = False


def default_personas() -> list[str]:
    raw = tomllib.loads(DEFAULT_SITE.read_text(encoding="utf-8"))
    return [str(item["persona"]) for item in raw["device"]]


def site_toml(spec: SiteSpec) -> str:
    """The site file: the scanner's segment first, then the routed blocks, personas in turn."""
    personas = default_personas()
    lines = [f'name = "{spec.name}"', "", "[[subnet]]", 'name = "lan"',
             'cidr = "198.51.100.0/24"', ""]  # fmt: skip
    names = {block: f"b{index}" for index, block in enumerate(spec.blocks) if block}
    for block, name in names.items():
        lines += ["[[subnet]]", f'name = "{name}"', f'cidr = "{block}"', "routed = true", ""]
    turn = 0
    for block in spec.blocks:
        subnet = names.get(block, "lan")
        for slot in range(spec.per_block):
            persona = personas[turn % len(personas)]
            turn += 1
            lines += ["[[device]]", f'persona = "{persona}"', f'subnet = "{subnet}"',
                      f"host = {10 + slot}", ""]  # fmt: skip
    return "\n".join(lines)


def camlab(
    *args: str, check: bool = True, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "camlab", *args],
        cwd=REPO,
        check=check,
        text=True,
        capture_output=True,
        timeout=timeout,
    )


def in_scanner(argv: list[str], timeout: float) -> tuple[float, float, int, bool]:
    """Run argv in the scanner namespace: its wall seconds, peak MiB, exit code, whether capped
    (at the cap, the wall is the time waited)."""
    started = time.monotonic()
    try:
        done = camlab(
            "exec", "--id", LAB_ID, "--", sys.executable, "-c", PEAK_WRAPPER, *argv,
            check=False, timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return time.monotonic() - started, 0.0, -1, True
    wall = time.monotonic() - started
    tail = done.stderr.strip().splitlines()
    figures = tail[-1].split() if tail else []
    if len(figures) == 2 and figures[1].isdigit():
        return float(figures[0]), int(figures[1]) / 1024, done.returncode, False
    return wall, 0.0, done.returncode, False


def run_camaudit(spec: SiteSpec, folder: Path) -> Run:
    report = folder / f"{spec.name}-camaudit.json"
    argv = [sys.executable, "-m", "camaudit", "scan", *spec.targets, "--yes", "-f", "json",
            "-o", str(report)]  # fmt: skip
    wall, peak, code, _ = in_scanner(argv, timeout=900)
    if code not in (0, 1):
        raise SystemExit(f"bench: camaudit scan of {spec.name} exited {code}")
    devices = json.loads(report.read_text())["devices"]
    return Run(
        tool="camaudit",
        wall_s=wall,
        peak_mib=peak,
        found=len(devices),
        flagged=sum(1 for d in devices if d["flagged"]),
        named=sum(1 for d in devices if d.get("maker")),
    )


def maker_words() -> re.Pattern[str]:
    names = []
    for line in MAKERS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            names += [part for part in line.split("\t") if len(part) > 3]
    return re.compile("|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True)),
                      re.IGNORECASE)  # fmt: skip


def run_nmap(spec: SiteSpec, folder: Path, cap_s: float) -> Run:
    xml = folder / f"{spec.name}-nmap.xml"
    argv = ["nmap", "-sV", "-p", CAMERA_PORTS, "--script", "broadcast-wsdd-discover",
            "-oX", str(xml), *spec.targets]  # fmt: skip
    wall, peak, code, capped = in_scanner(argv, timeout=cap_s)
    found = flagged = named = 0
    if xml.exists() and not capped:
        makers = maker_words()
        try:
            root = ElementTree.parse(xml).getroot()  # noqa: S314 - nmap's own output, here
        except ElementTree.ParseError as exc:
            print(f"  nmap exited {code} with an incomplete report: {exc}", file=sys.stderr)
            return Run("nmap -sV", wall, peak, 0, 0, 0, capped=True)
        for host in root.iter("host"):
            status = host.find("status")
            ports = [
                port
                for port in host.iter("port")
                if (state := port.find("state")) is not None and state.get("state") == "open"
            ]
            if status is None or status.get("state") != "up" or not ports:
                continue
            found += 1
            text = " ".join(
                " ".join(s.get(k, "") for k in ("product", "version", "extrainfo", "devicetype"))
                for s in host.iter("service")
            )
            flagged += bool(FAMILY.search(text))
            named += bool(makers.search(text))
    return Run("nmap -sV", wall, peak, found, flagged, named, capped)


def describe(run: Run) -> str:
    if run.capped:
        return f"  {run.tool:<9} > {run.wall_s:7.1f} s (stopped at the cap)"
    return (
        f"  {run.tool:<9} {run.wall_s:7.1f} s  peak {run.peak_mib:5.0f} MiB  "
        f"{run.found:3d} found  {run.flagged:3d} flagged  {run.named:3d} named"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", nargs="+", choices=sorted(SITES), default=list(SITES))
    parser.add_argument("--no-nmap", action="store_true")
    parser.add_argument("--nmap-cap", type=float, default=1200.0, help="seconds per nmap run")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench: needs root to build the simulated sites", file=sys.stderr)
        return 2
    if not args.no_nmap and shutil.which("nmap") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "nmap"], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in args.sites:
            spec = SITES[name]
            site_file = folder / f"{name}.toml"
            site_file.write_text(site_toml(spec), encoding="utf-8")
            camlab("up", "--id", LAB_ID, "--replace", "--site", str(site_file))
            try:
                ours = run_camaudit(spec, folder)
                print(f"{name}: {' '.join(spec.targets)}")
                print(describe(ours), flush=True)
                if not args.no_nmap:
                    theirs = run_nmap(spec, folder, args.nmap_cap)
                    print(describe(theirs))
                    bound = ">= " if theirs.capped else ""
                    print(f"  nmap/camaudit wall: {bound}{theirs.wall_s / ours.wall_s:.1f}x; "
                          f"camaudit takes {ours.wall_s / theirs.wall_s:.3f} of nmap's time",
                          flush=True)  # fmt: skip
            finally:
                camlab("down", "--id", LAB_ID, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Real artefacts for the input tests: an nmap XML and a tcpdump capture of the simulated site.

The site comes up once per session in its own namespaces (tests/e2e's fixture); nmap and
tcpdump run only inside its scanner namespace, against 198.51.100.0/24 lab addresses.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import Namespaces
from tests.e2e.conftest import LabHandle, running_lab

# NOTE: the simulated lab moves to a top-level `camlab` package; this is the one line to change.
LAB_PACKAGE = "camlab"


def lab_module(name: str) -> ModuleType:
    """A module of the simulated lab (`site`, `topology`, `control`, ...)."""
    return importlib.import_module(f"{LAB_PACKAGE}.{name}")


LAN = "198.51.100.0/24"
ANNEX = "198.18.5.0/24"
COVERED = frozenset({"hikvision", "dahua"})
# The ports and scripts docs/offline.md recommends; -T5, one retry and --version-light (the lab
# answers at once, and the light probes still draw every banner) keep it near a minute.
NMAP_COMMAND = [
    *("nmap", "-n", "-sV", "--version-light", "-T5", "--max-retries", "1"),
    *("--script-timeout", "20s"),
    *("-p", "80,443,554,8000,8080,8443,37777"),
    *("--script", "http-headers,http-title,http-auth,ssl-cert,rtsp-methods"),
]
# The segment-wide scripts offline.md suggests, and unicast DNS-SD (UDP 5353): inside the lab's
# scanner namespace, its multicast reaches only the lab's bridge.
NMAP_BROADCAST_COMMAND = [
    *("nmap", "-n", "-T5", "-e", "eth0", "-sU", "-p", "5353", "--script"),
    "broadcast-wsdd-discover,broadcast-upnp-info,broadcast-dns-service-discovery,"
    "dns-service-discovery",
]
TOOL_TIMEOUT_S = 600.0
# A TLS 1.2 client, as an older browser or VMS would connect: it makes the handshake carry the
# certificate in the clear. Run inside the scanner namespace, against lab addresses only.
TLS12_CLIENT = """
import socket, ssl, sys
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
context.maximum_version = ssl.TLSVersion.TLSv1_2
context.set_ciphers("DEFAULT:@SECLEVEL=0")
for address in sys.argv[1:]:
    try:
        with socket.create_connection((address, 443), timeout=2) as raw:
            with context.wrap_socket(raw) as tls:
                pass
    except OSError:
        pass
"""


@dataclass(frozen=True)
class SiteArtefacts:
    """What the session recorded of the default site."""

    labid: str
    site: Any  # the lab's Site: devices with their personas' ground truth
    nmap_xml: Path
    nmap_broadcast_xml: Path
    capture: Path
    scan: dict[str, Any]  # camaudit's own scan, taken while tcpdump ran
    http_rtsp_scan: dict[str, Any]  # camaudit limited to what nmap's ports and scripts see
    workdir: Path


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (make system-test-deps installs it)")


def _in_scanner(lab: LabHandle) -> list[str]:
    return ["ip", "netns", "exec", lab_module("topology").ns_scanner(lab.labid)]


# --immediate-mode: without it libpcap hands packets over a ring block at a time (or after a
# second's timeout), and the block still open when tcpdump is stopped is lost; that dropped the
# TLS handshakes sent in the capture's last second. -U then writes each packet as it comes.
# -B: a 64 MiB kernel buffer (the default is 2 MiB). The scan sends at 5,000 packets a second and
# tcpdump, starved of CPU on a busy CI machine, lost whole replies from a full default buffer.
TCPDUMP = ("tcpdump", "-n", "-s", "0", "--immediate-mode", "-U", "-B", "65536")


def _start_tcpdump(lab: LabHandle, capture: Path) -> subprocess.Popen[bytes]:
    # -Z root: tcpdump would otherwise drop to its own user, who cannot write our temp folder.
    command = [*_in_scanner(lab), *TCPDUMP, "-i", "eth0", "-Z", "root"]
    process = subprocess.Popen(
        [*command, "-w", str(capture)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    wait_until_listening(process)
    return process


def wait_until_listening(process: subprocess.Popen[bytes]) -> None:
    """Block until tcpdump says "listening on ..." (it may say a line or two before that)."""
    assert process.stderr is not None
    for _line in range(5):
        line = process.stderr.readline()
        if b"listening on" in line:
            return
    raise AssertionError(f"tcpdump did not start: {line!r}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _dropped(process: subprocess.Popen[bytes]) -> int:
    """Packets the kernel dropped before tcpdump read them, from its closing statistics."""
    assert process.stderr is not None
    statistics = process.stderr.read().decode("utf-8", "replace")
    found = re.search(r"(\d+) packets? dropped by kernel", statistics)
    return int(found[1]) if found else 0


def _tls12_handshakes(lab: LabHandle, site: Any) -> None:
    addresses = [str(d.ip) for d in site.devices if "https" in d.instance.channels]
    subprocess.run(
        [*_in_scanner(lab), sys.executable, "-c", TLS12_CLIENT, *addresses],
        check=True,
        timeout=120,
    )


def _lab_addresses(site: Any) -> list[str]:
    return [str(d.ip) for d in site.devices if str(d.ip).startswith("198.51.100.")]


@pytest.fixture(scope="session")
def default_site_lab(namespaces: Namespaces) -> Iterator[LabHandle]:
    """The default site (every shipped persona), up for the whole session."""
    with running_lab(namespaces, lab_module("site").SITES_DIR / "default.toml") as handle:
        yield handle


@pytest.fixture(scope="session")
def artefacts(default_site_lab: LabHandle) -> SiteArtefacts:
    """A tcpdump capture of camaudit scanning the site, and nmap's XML of the same site."""
    _need("tcpdump")
    _need("nmap")
    lab = default_site_lab
    workdir = lab.workdir
    capture = workdir / "site.pcap"
    tcpdump = _start_tcpdump(lab, capture)
    try:
        scan = lab.scan(LAN, ANNEX, name="captured")
        _tls12_handshakes(lab, lab.site)
        time.sleep(0.5)  # the last replies are still on the wire when the scan returns
    finally:
        _stop(tcpdump)
    # A capture with holes would fail the tests below for the recorder's fault, not the reader's.
    assert _dropped(tcpdump) == 0, "tcpdump lost packets: the capture is incomplete"
    http_rtsp_scan = lab.scan(
        LAN, "--probe", "http_banner", "--probe", "rtsp", "--probe", "arp", name="http-rtsp"
    )
    nmap_xml = workdir / "site.xml"
    done = subprocess.run(
        [*_in_scanner(lab), *NMAP_COMMAND, "-oX", str(nmap_xml), *_lab_addresses(lab.site)],
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    broadcast_xml = workdir / "broadcast.xml"
    done = subprocess.run(
        [*_in_scanner(lab), *NMAP_BROADCAST_COMMAND, "-oX", str(broadcast_xml)]
        + _lab_addresses(lab.site),
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return SiteArtefacts(
        labid=lab.labid,
        site=lab.site,
        nmap_xml=nmap_xml,
        nmap_broadcast_xml=broadcast_xml,
        capture=capture,
        scan=scan,
        http_rtsp_scan=http_rtsp_scan,
        workdir=workdir,
    )


def identify(*args: str, stdin: bytes | None = None) -> tuple[int, dict[str, Any] | None, str]:
    """`camaudit identify ARGS` in a fresh process: exit code, parsed JSON (if any), stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "camaudit", "identify", *args],
        input=stdin,
        capture_output=True,
        timeout=300,
        check=False,
    )
    out = done.stdout.decode("utf-8", errors="replace")
    report = json.loads(out) if done.returncode == 0 and out.strip() else None
    return done.returncode, report, done.stderr.decode("utf-8", errors="replace")


def flagged(report: dict[str, Any]) -> set[str]:
    """Addresses of the devices a report flags."""
    return {device["ip"] for device in report["devices"] if device["flagged"]}


# NOTE: nmap's rtsp-methods sends OPTIONS only, so the realm of a DESCRIBE 401 (which camaudit's
# RTSP probe reads) is never in nmap's XML; a unit flagged on that realm alone is out of its reach.
OUT_OF_NMAP_REACH = frozenset({"rtsp.www_authenticate", "rtsp.status"})


def _source_channel(item: dict[str, Any]) -> str:
    """The channel an evidence item was read from: a derived item's is its source rule's file
    ("derived:rtsp_www_authenticate::<id>" came from rtsp.www_authenticate)."""
    probe = str(item.get("probe") or "")
    if probe.startswith("derived:"):
        return probe.removeprefix("derived:").split("::")[0].replace("_", ".", 1)
    return str(item["channel"])


def flagged_on_nmap_channels(report: dict[str, Any]) -> set[str]:
    """Flagged devices whose flag needs no evidence nmap's ports and scripts cannot record."""
    return {
        device["ip"]
        for device in report["devices"]
        if device["flagged"]
        and any(
            item.get("rule")
            and _source_channel(item) not in OUT_OF_NMAP_REACH
            and (item.get("confidence") or 0) >= 0.5
            for item in device["evidence"]
        )
    }


def expected_flagged(site: Any) -> set[str]:
    """Addresses of the units the site's ground truth says must be flagged."""
    return {str(d.ip) for d in site.devices if d.instance.persona.expect.flagged}


def never_flagged(site: Any) -> set[str]:
    """Addresses of the devices that must never be flagged."""
    return {str(d.ip) for d in site.devices if not d.instance.persona.expect.flagged}

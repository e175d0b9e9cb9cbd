"""Network namespaces for the simulated site: build, enter, list and remove them (root only).

Layout for lab id X (every name starts with "cal-X-", so `down` can find them after a crash):

    cal-X-br    one Linux bridge per subnet (b0, b1, ...), with every other namespace's peer
    cal-X-rtr   the router: one leg per subnet at .1, ip_forward=1, no multicast routing
    cal-X-scan  the scanner: eth0 at .2 on the first subnet
    cal-X-dN    device N: eth0 with the persona's MAC and the device's address

Veth pairs are created inside a namespace with their peer sent straight into the bridge
namespace, so no interface ever exists in the host's namespace. Nothing is linked to the host.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from camlab.errors import LabError
from camlab.site import Site

log = logging.getLogger(__name__)

CLONE_NEWNET = 0x40000000  # <linux/sched.h>; setns(2) nstype for network namespaces
NETNS_DIR = Path("/run/netns")  # where `ip netns add` bind-mounts named namespaces
RUN_DIR = Path("/run/camaudit-lab")  # pid file, plan, logs per lab id
IP_TIMEOUT_S = 60.0  # a single `ip -batch` of a few hundred lines takes well under a second
LABID = re.compile(r"^[a-z0-9]{1,10}$")
PARALLEL_IP = 16  # concurrent `ip -n NS -batch` processes while bringing devices up


def check_labid(labid: str) -> str:
    """A lab id is 1-10 lower-case letters or digits (names must stay short and unambiguous)."""
    if not LABID.match(labid):
        raise LabError(f"lab id {labid!r}: use 1-10 lower-case letters or digits")
    return labid


def prefix(labid: str) -> str:
    """The name prefix of everything lab `labid` creates."""
    return f"cal-{check_labid(labid)}-"


def ns_bridge(labid: str) -> str:
    """The bridge namespace's name."""
    return prefix(labid) + "br"


def ns_router(labid: str) -> str:
    """The router namespace's name."""
    return prefix(labid) + "rtr"


def ns_scanner(labid: str) -> str:
    """The scanner namespace's name."""
    return prefix(labid) + "scan"


def ns_isolated(labid: str) -> str:
    """The name of a lab's lone namespace that holds nothing but loopback."""
    return prefix(labid) + "solo"


def ns_device(labid: str, number: int) -> str:
    """Device N's namespace name."""
    return prefix(labid) + f"d{number}"


def run_dir(labid: str) -> Path:
    """Where the responder's pid file, plan and logs live."""
    return RUN_DIR / check_labid(labid)


def is_root() -> bool:
    """True when namespaces can be created here."""
    return os.geteuid() == 0


def _ip(args: list[str], batch: list[str] | None = None) -> None:
    """Run `ip` (optionally feeding -batch lines); LabError with its message on failure."""
    ip = shutil.which("ip")
    if ip is None:
        raise LabError("the `ip` command (iproute2) is not installed")
    command = [ip, *args] + (["-batch", "-"] if batch is not None else [])
    text = "\n".join(batch) + "\n" if batch is not None else None
    try:
        done = subprocess.run(
            command, input=text, capture_output=True, text=True, timeout=IP_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise LabError(f"`{' '.join(command)}` timed out") from None
    if done.returncode != 0:
        raise LabError(
            f"`{' '.join(command)}` failed: {done.stderr.strip() or done.stdout.strip()}"
        )


def list_namespaces(labid: str | None = None) -> list[str]:
    """Named namespaces of one lab (or of every lab, when labid is None)."""
    start = prefix(labid) if labid is not None else "cal-"
    if not NETNS_DIR.is_dir():
        return []
    return sorted(entry.name for entry in NETNS_DIR.iterdir() if entry.name.startswith(start))


def _setns(fd: int) -> None:
    # Loaded here, not at import: `camaudit --help` on Windows must not need a C library by name.
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise LabError(f"setns failed: {os.strerror(errno)}")


@contextlib.contextmanager
def inside(namespace: str) -> Iterator[None]:
    """Run the body with this thread in a named network namespace; sockets made there stay there."""
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(NETNS_DIR / namespace, os.O_RDONLY)
    except OSError as exc:
        os.close(original)
        raise LabError(f"no namespace {namespace}: {exc.strerror}") from None
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(original)
    finally:
        os.close(target)
        os.close(original)


def _device_batch(site: Site, labid: str, index: int) -> list[str]:
    device = site.devices[index]
    return [
        f"link add eth0 address {device.instance.mac} type veth"
        f" peer name d{device.number} netns {ns_bridge(labid)}",
        f"addr add {device.ip}/{device.subnet.network.prefixlen} dev eth0",
        "link set lo up",
        "link set eth0 up",
        f"route add default via {device.subnet.router}",
    ]


def build(site: Site, labid: str) -> None:
    """Create every namespace, bridge, veth, address and route of `site` (LabError if any exist)."""
    existing = list_namespaces(labid)
    if existing:
        raise LabError(
            f"lab {labid!r} already exists ({len(existing)} namespaces); "
            f"run `python -m camlab down --id {labid}`"
        )
    bridge, router, scanner = ns_bridge(labid), ns_router(labid), ns_scanner(labid)
    names = [bridge, router, scanner] + [ns_device(labid, d.number) for d in site.devices]
    _ip([], [f"netns add {name}" for name in names])
    bridge_lines: list[str] = []
    router_lines = ["link set lo up"]
    for subnet in site.subnets:
        # Snooping off: the bridge floods multicast like a plain switch, so every device hears
        # the scanner's discovery without IGMP state (and nothing depends on querier timing).
        bridge_lines += [
            f"link add b{subnet.index} type bridge mcast_snooping 0 forward_delay 0",
            f"link set b{subnet.index} up",
        ]
        router_lines += [
            f"link add r{subnet.index} type veth peer name q{subnet.index} netns {bridge}",
            f"addr add {subnet.router}/{subnet.network.prefixlen} dev r{subnet.index}",
            f"link set r{subnet.index} up",
        ]
    # The router knows its devices' MACs for good, as a real one that has talked to them for
    # months does. A sweep of a routed /20 makes it ARP for thousands of silent addresses; the
    # kernel's table holds 1,024 entries by default ("neighbor table overflow"), and without
    # this a live device's resolution would be dropped among them, at random.
    router_lines += [
        f"neigh replace {d.ip} lladdr {d.instance.mac} dev r{d.subnet.index} nud permanent"
        for d in site.devices
    ]
    _ip(["-n", bridge], bridge_lines)
    _ip(["-n", router], router_lines)
    lan = site.lan
    _ip(
        ["-n", scanner],
        [
            f"link add eth0 type veth peer name s0 netns {bridge}",
            f"addr add {site.scanner_ip}/{lan.network.prefixlen} dev eth0",
            "link set lo up",
            "link set eth0 up",
            f"route add 198.18.0.0/15 via {lan.router}",
            # A default route like any LAN host's, so limited broadcast (255.255.255.255) has a way
            # out; it leads only to the lab router, which has no link beyond the site.
            f"route add default via {lan.router}",
        ],
    )
    with ThreadPoolExecutor(max_workers=PARALLEL_IP) as pool:
        jobs = [
            pool.submit(
                _ip, ["-n", ns_device(labid, device.number)], _device_batch(site, labid, index)
            )
            for index, device in enumerate(site.devices)
        ]
        for job in jobs:
            job.result()
    ports = [f"q{s.index}:b{s.index}" for s in site.subnets] + [f"s0:b{lan.index}"]
    ports += [f"d{d.number}:b{d.subnet.index}" for d in site.devices]
    lines: list[str] = []
    for port in ports:
        name, master = port.split(":")
        lines += [f"link set {name} master {master}", f"link set {name} up"]
    _ip(["-n", bridge], lines)
    # The router forwards unicast between subnets; with no multicast routing daemon the kernel
    # never forwards multicast or broadcast, as on a real routed LAN.
    _sysctl(router, "net/ipv4/ip_forward", "1")


def build_isolated(labid: str) -> str:
    """One namespace with only `lo` (up) and no link anywhere: a host with no network at all,
    where a whole scan may run and reach nothing but its own loopback. Returns its name."""
    existing = list_namespaces(labid)
    if existing:
        raise LabError(f"lab {labid!r} already exists ({len(existing)} namespaces)")
    name = ns_isolated(labid)
    _ip([], [f"netns add {name}"])
    _ip(["-n", name], ["link set lo up"])
    return name


def _sysctl(namespace: str, key: str, value: str) -> None:
    """Write a per-namespace sysctl from inside it (/proc/sys/net follows the thread's netns)."""
    with inside(namespace):
        Path("/proc/sys", key).write_text(value)


def _is_lab_responder(pid: int, labid: str) -> bool:
    """Whether process `pid` is this lab's responder (its argv names this lab's plan file)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    plan = str(run_dir(labid) / "plan.json").encode()
    return b"camlab.responder" in argv and plan in argv


def _responder_pids(labid: str) -> set[int]:
    """This lab's responders: the one its pid file names, and any other found in /proc."""
    # NOTE: pids are reused, so every candidate is checked by its argv; the /proc search finds a
    # responder whose pid file was lost (`lab up` killed before writing it, /run cleaned...).
    candidates: set[int] = set()
    with contextlib.suppress(OSError, ValueError):
        candidates.add(int((run_dir(labid) / "responder.pid").read_text().strip()))
    with contextlib.suppress(OSError):
        candidates.update(
            int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()
        )
    return {pid for pid in candidates if _is_lab_responder(pid, labid)}


def stop_responder(labid: str) -> bool:
    """Kill the lab's responder(s), found by pid file or by argv; True if there was one."""
    pids = _responder_pids(labid)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in pids:
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            if _reap(pid):
                break
            time.sleep(0.02)
        if Path(f"/proc/{pid}").exists() and not _reap(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _reap(pid)
    (run_dir(labid) / "responder.pid").unlink(missing_ok=True)
    return bool(pids)


def _reap(pid: int) -> bool:
    """Collect our own child if it has exited (True when gone)."""
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return not Path(f"/proc/{pid}").exists() or _is_zombie(pid)
    return done == pid


def _is_zombie(pid: int) -> bool:
    try:
        return " Z " in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True


def teardown(labid: str) -> list[str]:
    """Stop the responder and delete every namespace named for this lab; returns their names."""
    stop_responder(labid)
    names = list_namespaces(labid)
    if names:
        _ip([], [f"netns del {name}" for name in names])
    leftover = list_namespaces(labid)
    if leftover:
        raise LabError(f"could not delete namespaces: {', '.join(leftover)}")
    with contextlib.suppress(OSError):
        shutil.rmtree(run_dir(labid))
    return names

"""Run ArpProbe inside a test's own network namespace and print what it found as JSON.

test_arp.py calls this through `ip netns exec <ns> python arp_in_netns.py ...`. It refuses to
run unless the chosen interface sits in 198.51.100.0/24 (TEST-NET-2), so a slip can never
sweep a real network.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures.thread  # noqa: F401 - see --drop-root below
import json
import os
import resource
import socket
from ipaddress import IPv4Network

from camaudit.errors import ProbeUnavailable
from camaudit.net import list_interfaces
from camaudit.options import ScanOptions
from camaudit.probes.arp import ArpProbe
from camaudit.probes.base import ProbeContext
from camaudit.targets import build_scope

ALLOWED = IPv4Network("198.51.100.0/24")
NOBODY = 65534


def main() -> None:
    """Parse arguments, run the probe once, print {"macs": {...}} or {"unavailable": "..."}."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--scope", required=True)
    parser.add_argument("--interface", required=True)
    parser.add_argument("--no-interfaces", action="store_true", help="neighbour table only")
    parser.add_argument("--drop-root", action="store_true", help="run the probe as nobody")
    parser.add_argument(
        "--high-fds", action="store_true", help="hold 1,100 descriptors first, as a full scan does"
    )
    args = parser.parse_args()
    held = hold_descriptors(1100) if args.high_fds else []

    interfaces = tuple(i for i in list_interfaces() if i.name == args.interface)
    scope = build_scope([args.scope], resolve=False)
    if not interfaces or any(not i.network.subnet_of(ALLOWED) for i in interfaces):
        raise SystemExit(f"refusing: {args.interface} is not an interface in {ALLOWED}")
    if any(not network.subnet_of(ALLOWED) for network in scope.networks):
        raise SystemExit(f"refusing: scope {args.scope} is outside {ALLOWED}")

    options = ScanOptions(arp_listen_s=1.0, rate=200.0)
    ctx = ProbeContext(
        options=options, scope=scope, interfaces=() if args.no_interfaces else interfaces
    )
    if args.drop_root:
        # NOTE: after this, nobody may not read the interpreter's own lib directory (here under
        # /root), so modules the probe loads lazily (to_thread's executor) are imported above.
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    try:
        evidence = asyncio.run(ArpProbe().discover(ctx))
    except ProbeUnavailable as exc:
        print(json.dumps({"unavailable": str(exc)}))  # noqa: T201 - the test reads stdout
        return
    macs = {str(item.host): item.value for item in evidence if item.channel == "mac"}
    print(json.dumps({"macs": macs}))  # noqa: T201
    for handle in held:
        handle.close()


def hold_descriptors(count: int) -> list[socket.socket]:
    """Open `count` sockets so the probe's own descriptors are numbered above 1023."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    return [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]


if __name__ == "__main__":
    main()

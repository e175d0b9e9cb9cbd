"""The judge: evidence + fingerprints + policy in, devices out (pure; no I/O beyond data files).

The scanner and `camaudit identify` both call `judge`, so a scan and observations collected
elsewhere are judged the same way and come out in the same order (scanfile.order_devices).
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address
from typing import TYPE_CHECKING

from camaudit.identify.advisories import attach_advisories, load_advisories
from camaudit.identify.engine import match_host
from camaudit.identify.loader import Database
from camaudit.identify.merge import merge_host
from camaudit.identify.policy import Policy
from camaudit.models import Device, Evidence
from camaudit.scanfile import order_devices

if TYPE_CHECKING:  # targets resolves host names (socket); identify stays pure
    from camaudit.targets import Scope


def judge(
    evidence: Iterable[Evidence],
    database: Database,
    policy: Policy,
    scope: Scope | None = None,
) -> list[Device]:
    """One Device per host, with the policy's flag and the published firmware advisories that may
    concern it, in the one device order.

    Hosts outside `scope` (heard by multicast, never probed) are kept with in_scope False;
    without a scope every host counts as in scope.
    """
    identified = identify_hosts(evidence, database, scope=scope)
    judged = attach_advisories((policy.apply(device) for device in identified), load_advisories())
    return order_devices(judged)


def identify_hosts(
    evidence: Iterable[Evidence], database: Database, *, scope: Scope | None = None
) -> list[Device]:
    """Group evidence by host, match and merge; one Device per host by address, no policy yet."""
    by_host: dict[IPv4Address, list[Evidence]] = {}
    for item in evidence:
        by_host.setdefault(item.host, []).append(item)
    devices = []
    for host in sorted(by_host):
        items = by_host[host]
        hits = match_host(items, database)
        devices.append(
            merge_host(
                host,
                items,
                hits,
                database.identifiers,
                in_scope=scope is None or host in scope,
            )
        )
    return devices

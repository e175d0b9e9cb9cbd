"""Identification: evidence in, one Device per host out (pure; no I/O beyond reading data files)."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address
from typing import TYPE_CHECKING

from camaudit.identify.engine import match_host
from camaudit.identify.loader import Database
from camaudit.identify.merge import merge_host
from camaudit.models import Device, Evidence

if TYPE_CHECKING:  # targets resolves host names (socket); identify stays pure
    from camaudit.targets import Scope

__all__ = ["identify_hosts"]


def identify_hosts(
    evidence: Iterable[Evidence], database: Database, *, scope: Scope | None = None
) -> list[Device]:
    """Group evidence by host, match and merge; one Device per host, sorted by address."""
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

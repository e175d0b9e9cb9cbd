"""Every site at a glance: flagged units now, removed since the scan before, not seen since."""

from __future__ import annotations

from datetime import datetime

from camaudit.identity import Identity, device_identity, identity, pair_up, unpaired
from camaudit.inventory.diff import diff
from camaudit.inventory.store import Sighting, Store
from camaudit.models import Missing, SiteRollup


def _key(ident: Identity) -> str:
    if ident.mac:
        return f"mac:{ident.mac}"
    if ident.serial:
        return f"serial:{ident.serial}"
    return f"ip:{ident.ip}"


def _newest_per_unit(sightings: list[Sighting]) -> dict[str, tuple[Identity, datetime]]:
    units: dict[str, tuple[Identity, datetime]] = {}
    for s in sightings:
        ident = identity(mac=s.mac, serial=s.serial, ip=s.ip)
        key = _key(ident)
        if key not in units or units[key][1] < s.last_seen:
            units[key] = (ident, s.last_seen)
    return units


def site_rollup(store: Store, site: str | None) -> SiteRollup | None:
    """The roll-up line of one site; None when it has no scan."""
    summaries = store.scans(site)
    if not summaries:
        return None
    ids = store.latest_ids(2, site)
    latest = store.load(ids[0])
    removed = 0
    if len(ids) > 1:
        removed = sum(1 for d in diff(store.load(ids[1]), latest).removed if d.flagged)
    units = list(_newest_per_unit(store.flagged_sightings(site)).items())
    pairs = pair_up(units, list(latest.devices), lambda u: u[1][0], device_identity)
    missing = [
        Missing(key=units[i][0], last_seen=units[i][1][1])
        for i in unpaired(len(units), pairs, side=0)
    ]
    return SiteRollup(
        site=site,
        scans=len(summaries),
        latest_scan=ids[0],
        latest_at=latest.started_at,
        flagged=sum(1 for d in latest.devices if d.flagged),
        removed=removed,
        not_seen=tuple(sorted(missing, key=lambda m: (m.last_seen, m.key))),
    )


def rollup(store: Store) -> list[SiteRollup]:
    """Every site's line, by site name."""
    lines = (site_rollup(store, site) for site in store.sites())
    return [line for line in lines if line is not None]

"""Site-aware history: which two scans a diff compares, and the diff as a JSON document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from camaudit.errors import ConfigError, StoreError
from camaudit.inventory.diff import ScanDiff, diff
from camaudit.inventory.document import device_documents
from camaudit.inventory.store import ALL_SITES, SiteFilter, Store
from camaudit.models import ScanResult


@dataclass(frozen=True, slots=True, kw_only=True)
class ComparedScans:
    """Two scans of one site, older first, with their ids and what changed between them."""

    old_id: int
    new_id: int
    old: ScanResult
    new: ScanResult
    changes: ScanDiff


def newest_site(store: Store) -> str | None:
    """The site of the most recent scan (what `history diff` compares by default)."""
    newest = store.latest_ids(1)
    if not newest:
        raise StoreError(f"need two saved scans to compare; {store.location} has 0")
    return store.load(newest[0]).site


def compare(
    store: Store, *, site: str | None = None, ids: tuple[int, int] | None = None
) -> ComparedScans:
    """Scans `ids` (both of `site` when one is named), else the site's last two."""
    if ids is None:
        chosen = newest_site(store) if site is None else site
        newest = store.latest_ids(2, site=chosen)
        if len(newest) < 2:
            raise StoreError(
                f"need two saved scans to compare; {store.location} has {len(newest)}"
                + (f" for site {chosen!r}" if chosen is not None else "")
            )
        ids = (newest[1], newest[0])
    old, new = store.load(ids[0]), store.load(ids[1])
    for scan_id, result in zip(ids, (old, new), strict=True):
        if site is not None and (result.site or "") != site:
            raise ConfigError(f"scan {scan_id} is of site {result.site!r}, not {site!r}")
    return ComparedScans(old_id=ids[0], new_id=ids[1], old=old, new=new, changes=diff(old, new))


def diff_document(compared: ComparedScans) -> dict[str, Any]:
    """{"new": [...], "gone": [...], "changed": [...]} with the scans it compares."""
    changes = compared.changes
    return {
        "site": compared.new.site,
        "old_scan": compared.old_id,
        "new_scan": compared.new_id,
        "new": device_documents(changes.added),
        "gone": device_documents(changes.removed),
        "changed": [
            {
                "device": device_documents([c.new])[0],
                "was": device_documents([c.old])[0],
                "changes": [{"field": f.field, "old": f.old, "new": f.new} for f in c.changes],
            }
            for c in changes.changed
        ],
    }


def all_or(site: str | None) -> SiteFilter:
    """The store's site filter for an optional --site."""
    return ALL_SITES if site is None else site

"""After a scan: store it (or spool it), write the reports, raise the alarms, pick the exit code.

Order matters: the scan is stored or spooled first (nothing lost), then the reports are written
(the result never waits on a webhook), then webhooks go out, one per stored scan with new
flagged units, spooled scans from earlier runs included (their alarm was never raised).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

from camaudit.alerts import Delivery, new_flagged_event, post_event
from camaudit.config import SiteConfig, Webhook
from camaudit.errors import CamauditError, ConfigError, StoreError
from camaudit.exitcodes import EXIT_CANNOT, EXIT_FLAGGED, EXIT_INTERRUPTED, EXIT_OK
from camaudit.identity import device_identity, pair_up
from camaudit.inventory.diff import ScanDiff, diff
from camaudit.inventory.document import device_documents
from camaudit.inventory.spool import default_spool, done, pending, spool_scan
from camaudit.inventory.store import Store, default_path, open_store
from camaudit.lock import site_lock
from camaudit.models import Device, ScanResult
from camaudit.scanfile import iso_utc

log = logging.getLogger(__name__)

FAIL_ON = ("never", "flagged", "new-flagged", "webhook", "spooled")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordPlan:
    """Where scans go: the inventory (None: no inventory), the spool, the webhook."""

    db: str | None
    save: bool
    spool_dir: Path
    webhook: Webhook | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanRecord:
    """One scan as stored: its id, the site's scan before it, and the flagged units it adds."""

    uid: str
    result: ScanResult
    scan_id: int | None = None
    previous: ScanResult | None = None
    changes: ScanDiff | None = None
    new_flagged: tuple[Device, ...] = ()
    webhook: Delivery | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """Everything the scan command tells its caller after the scan."""

    current: ScanRecord
    earlier: tuple[ScanRecord, ...] = ()  # spooled scans of past runs, stored by this one
    location: str = ""
    spooled: Path | None = None
    problem: str | None = None  # why the inventory did not take the scan

    @property
    def records(self) -> tuple[ScanRecord, ...]:
        return (*self.earlier, self.current)

    def exit_code(self, fail_on: Collection[str]) -> int:
        """The documented exit code for what happened and what the caller asked to fail on."""
        if self.current.result.interrupted:
            return EXIT_INTERRUPTED
        if "spooled" in fail_on and self.spooled is not None:
            return EXIT_CANNOT
        if "webhook" in fail_on and any(r.webhook and not r.webhook.ok for r in self.records):
            return EXIT_CANNOT
        if "new-flagged" in fail_on and any(r.new_flagged for r in self.records):
            return EXIT_FLAGGED
        if "flagged" in fail_on and any(d.flagged for d in self.current.result.devices):
            return EXIT_FLAGGED
        return EXIT_OK


def record_plan(settings: SiteConfig, *, save: bool, fail_on: Collection[str]) -> RecordPlan:
    """Where this run's scan goes; ConfigError when an alarm is asked for without an inventory."""
    keep = save or settings.db is not None
    if not keep and (settings.webhook or "new-flagged" in fail_on or "spooled" in fail_on):
        raise ConfigError(
            "new flagged devices are found against the site's previous scan: "
            "give --db (or db in the config) or --save"
        )
    spool = Path(settings.spool) if settings.spool else default_spool()
    return RecordPlan(db=settings.db, save=keep, spool_dir=spool, webhook=settings.webhook)


def lock_folder() -> Path:
    """Where the per-site lock files live: beside the local inventory."""
    return default_path().parent / "locks"


def run_lock(settings: SiteConfig, plan: RecordPlan) -> AbstractContextManager[object]:
    """The site's lock for a run that names a site or keeps its scan; else nothing to hold."""
    if settings.site is None and not plan.save:
        return nullcontext()
    return site_lock(lock_folder(), settings.site, wait_s=settings.lock_wait_s or 0.0)


def newly_flagged(previous: ScanResult | None, result: ScanResult) -> tuple[Device, ...]:
    """Flagged units of `result` that `previous` (the site's scan before) lacked or did not flag.

    Devices are paired by MAC, then serial, then IP, so a unit that only moved is not new.
    """
    flagged = [d for d in result.devices if d.flagged]
    if previous is None:
        return tuple(flagged)
    before = list(previous.devices)
    pairs = {j: i for i, j in pair_up(before, flagged, device_identity, device_identity)}
    return tuple(d for j, d in enumerate(flagged) if j not in pairs or not before[pairs[j]].flagged)


def _store_one(store: Store, result: ScanResult, uid: str) -> ScanRecord:
    previous = next(iter(store.latest(1, site=result.site)), None)
    scan_id = store.save(result, uid=uid)
    return ScanRecord(
        uid=uid, result=result, scan_id=scan_id, previous=previous,
        changes=diff(previous, result) if previous else None,
        new_flagged=newly_flagged(previous, result),
    )  # fmt: skip


def store_or_spool(result: ScanResult, plan: RecordPlan, uid: str | None = None) -> Outcome:
    """Send this site's spooled scans, then this one; spool it if the inventory fails."""
    uid = uid or uuid.uuid4().hex
    if not plan.save:
        return Outcome(current=ScanRecord(uid=uid, result=result))
    earlier: list[ScanRecord] = []
    location = plan.db or "the local inventory"
    try:
        with open_store(plan.db) as store:
            location = store.location
            for item in pending(plan.spool_dir, result.site):
                earlier.append(_store_one(store, item.result, item.uid))
                done(item)
            current = _store_one(store, result, uid)
    except StoreError as exc:
        spooled = spool_scan(plan.spool_dir, result, uid)
        log.info("scan spooled as %s", spooled)
        return Outcome(current=ScanRecord(uid=uid, result=result), earlier=tuple(earlier),
                       location=location, spooled=spooled, problem=str(exc))  # fmt: skip
    return Outcome(current=current, earlier=tuple(earlier), location=location)


def _alert(record: ScanRecord, webhook: Webhook) -> ScanRecord:
    event = new_flagged_event(
        site=record.result.site, scan_id=record.scan_id, scan_uid=record.uid,
        started_at=iso_utc(record.result.started_at),
        devices=device_documents(record.new_flagged),
    )  # fmt: skip
    delivery = post_event(webhook.url, event, timeout_s=webhook.timeout_s, retries=webhook.retries)
    if not delivery.ok:
        log.warning("webhook %s failed after %d attempts: %s", webhook.url, delivery.attempts,
                    delivery.detail)  # fmt: skip
    return replace(record, webhook=delivery)


def send_alerts(outcome: Outcome, webhook: Webhook | None) -> Outcome:
    """One webhook POST per stored scan that found new flagged units."""
    if webhook is None:
        return outcome
    sent = [_alert(r, webhook) if r.new_flagged else r for r in outcome.records]
    return replace(outcome, earlier=tuple(sent[:-1]), current=sent[-1])


def finish_scan(result: ScanResult, plan: RecordPlan, write_reports: Callable[[], None]) -> Outcome:
    """Store or spool, then write the reports, then alert: see the module docstring."""
    try:
        outcome = store_or_spool(result, plan)
    except CamauditError:
        write_reports()  # not even the spool took it: the report is all that is left
        raise
    try:
        write_reports()
    except Exception:
        # The reports failed (the scan is stored or spooled); still raise the alarms, then fail.
        send_alerts(outcome, plan.webhook)
        raise
    return send_alerts(outcome, plan.webhook)

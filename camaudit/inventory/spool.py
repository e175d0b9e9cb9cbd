"""Scans waiting for an inventory that could not be reached: one JSON file each, sent next run.

A file is removed only after the inventory has committed its scan; the scan's uid makes sending
it again harmless (a run killed between the two stores it once).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from camaudit.errors import CamauditError, ConfigError
from camaudit.fileio import write_atomic
from camaudit.inventory.document import decode_scan, encode_scan
from camaudit.inventory.store import default_path
from camaudit.models import ScanResult

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{8}T\d{6}Z)-([0-9a-f]{32})\.json$")
MAX_SPOOL_FILE_BYTES = 256 * 1024 * 1024


def default_spool() -> Path:
    """The spool folder beside the default SQLite inventory."""
    return default_path().parent / "spool"


@dataclass(frozen=True, slots=True, kw_only=True)
class Spooled:
    """One waiting scan: its uid, file and content."""

    uid: str
    path: Path
    result: ScanResult


def spool_scan(folder: Path, result: ScanResult, uid: str) -> Path:
    """Keep a scan until the inventory can take it; the file written."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = result.started_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = folder / f"{stamp}-{uid}.json"
        payload = json.dumps({"uid": uid, "scan": json.loads(encode_scan(result))})
        write_atomic(path, payload)
    except OSError as exc:
        raise CamauditError(f"cannot spool the scan in {folder}: {exc.strerror or exc}") from exc
    return path


def pending(folder: Path, site: str | None) -> list[Spooled]:
    """One site's waiting scans, oldest first; an unreadable file is renamed *.bad, not lost.

    Only the site's own: the caller holds that site's lock, so no other run sends them too.
    """
    if not folder.is_dir():
        return []
    waiting = []
    for path in sorted(folder.iterdir()):
        found = _NAME.match(path.name)
        if found is None:
            continue
        try:
            result = _read(path)
        except (OSError, ConfigError, ValueError) as exc:
            log.warning("spooled scan %s unreadable (%s); kept as %s.bad", path, exc, path.name)
            os.replace(path, path.with_name(path.name + ".bad"))
            continue
        if (result.site or "") == (site or ""):
            waiting.append(Spooled(uid=found.group(2), path=path, result=result))
    return waiting


def _read(path: Path) -> ScanResult:
    with path.open("rb") as handle:
        raw = handle.read(MAX_SPOOL_FILE_BYTES + 1)
    if len(raw) > MAX_SPOOL_FILE_BYTES:
        raise ValueError("too large")
    data = json.loads(raw.decode("utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("scan"), dict):
        raise ValueError("not a spooled scan")
    return decode_scan(json.dumps(data["scan"]))


def done(item: Spooled) -> None:
    """Forget a scan the inventory has committed."""
    item.path.unlink(missing_ok=True)

"""The inventory interface: one set of queries over two engines (SQLite file, PostgreSQL server).

Each scan is kept whole (the camaudit.scan/1 document) plus one row per device, so sightings need
no JSON parsing. Engines only connect, migrate and run SQL; every query lives here, written once
with `?` placeholders.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

from camaudit import scanfile
from camaudit.errors import ConfigError, StoreError
from camaudit.identity import device_identity, split_key
from camaudit.inventory.document import decode_scan, encode_scan
from camaudit.models import Device, ScanResult

_MIGRATION_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+(?:\.(sqlite|postgres))?\.sql$")
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def default_path() -> Path:
    """~/.local/share/camaudit/inventory.sqlite3, honouring XDG_DATA_HOME (XDG Base Dir spec)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "camaudit" / "inventory.sqlite3"


def migrations(engine: str) -> list[tuple[int, str]]:
    """The numbered schema/ files for one engine ("sqlite" or "postgres"), in order.

    A number has either one file for both engines (NNNN_name.sql) or one per engine
    (NNNN_name.sqlite.sql and NNNN_name.postgres.sql): the same schema, spelt per dialect.
    """
    chosen: dict[int, str] = {}
    folder = resources.files("camaudit.inventory").joinpath("schema")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        found = _MIGRATION_FILE.match(entry.name)
        if found is None or found.group(2) not in (None, engine):
            continue
        number = int(found.group(1))
        assert number not in chosen, f"two schema files numbered {number} for {engine}"
        chosen[number] = entry.read_text("utf-8")
    assert sorted(chosen) == list(range(1, len(chosen) + 1)), "schema files out of order"
    return sorted(chosen.items())


SCHEMA_VERSION = len(migrations("sqlite"))


def bindable(text: str | None) -> str | None:
    """Text either engine can bind: lone surrogates and NUL become "?"."""
    # NOTE: a device's strings may hold "\udfff" and --site may carry undecodable argv bytes;
    # both drivers raise UnicodeEncodeError on those, and PostgreSQL text refuses NUL.
    if text is None:
        return None
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "?")


class AllSites(Enum):
    """The site filter that keeps every site."""

    ALL = "all"


ALL_SITES = AllSites.ALL
SiteFilter = str | None | AllSites


def _site_where(site: SiteFilter, column: str = "s.site") -> tuple[str, tuple[object, ...]]:
    # NOTE: coalesce makes "no site" one value both engines compare with `=`.
    if site is ALL_SITES:
        return "", ()
    return f" AND coalesce({column}, '') = ?", (bindable(site) or "",)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanSummary:
    """One line of `camaudit history list`."""

    id: int
    started_at: datetime
    finished_at: datetime
    site: str | None
    policy: str
    interrupted: bool
    devices: int
    flagged: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Sighting:
    """A flagged device's identifiers at one site and the last time a scan there saw them."""

    mac: str | None
    serial: str | None
    ip: str
    last_seen: datetime


class Store(ABC):
    """An open inventory; opening one creates or upgrades its schema, or refuses it."""

    engine: ClassVar[str]
    location: str  # what error messages and `history` call this inventory

    # -- what an engine provides -------------------------------------------------------------
    @abstractmethod
    def _run(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (in the open transaction, if any); its rows, if it returns any."""

    @abstractmethod
    def _run_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        """Run one statement once per row."""

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[None]:
        """A write transaction: committed at the end, rolled back on any exception."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection."""

    @property
    @abstractmethod
    def version(self) -> int:
        """The schema version of the open database."""

    # -- the shared queries ------------------------------------------------------------------
    def _refuse_newer(self, current: int) -> None:
        """A database from a newer camaudit is left alone: this one cannot know its schema."""
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"{self.location}: inventory schema {current} is newer than this camaudit "
                f"understands ({SCHEMA_VERSION}); upgrade camaudit"
            )

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def save(self, result: ScanResult, *, uid: str | None = None) -> int:
        """Store a scan in one transaction; its id. A uid already stored returns that scan's id."""
        if uid is not None and (known := self._run("SELECT id FROM scans WHERE uid = ?", (uid,))):
            return int(known[0][0])
        document = encode_scan(result)
        with self._transaction():
            rows = self._run(
                "INSERT INTO scans (started_at, finished_at, site, policy, interrupted, json, uid)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (scanfile.iso_utc(result.started_at), scanfile.iso_utc(result.finished_at),
                 bindable(result.site), bindable(result.policy), int(result.interrupted), document,
                 uid),
            )  # fmt: skip
            scan_id = int(rows[0][0])
            self._run_many(
                "INSERT INTO devices (scan_id, ip, mac, serial, maker, flagged)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scan_id, ip) DO NOTHING",
                [_device_row(scan_id, d) for d in result.devices],
            )
        return scan_id

    def scans(self, site: SiteFilter = ALL_SITES) -> list[ScanSummary]:
        """Stored scans (of one site, or all), oldest first."""
        where, args = _site_where(site)
        rows = self._run(
            "SELECT s.id, s.started_at, s.finished_at, s.site, s.policy, s.interrupted,"  # noqa: S608
            " count(d.ip), coalesce(sum(d.flagged), 0)"
            f" FROM scans s LEFT JOIN devices d ON d.scan_id = s.id WHERE 1 = 1{where}"
            " GROUP BY s.id, s.started_at, s.finished_at, s.site, s.policy, s.interrupted"
            " ORDER BY s.started_at, s.id",
            args,
        )
        return [
            ScanSummary(id=int(r[0]), started_at=datetime.fromisoformat(r[1]),
                        finished_at=datetime.fromisoformat(r[2]), site=r[3], policy=r[4],
                        interrupted=bool(r[5]), devices=int(r[6]), flagged=int(r[7]))
            for r in rows
        ]  # fmt: skip

    def sites(self) -> list[str | None]:
        """Every site with a stored scan, by name (no site first)."""
        rows = self._run("SELECT DISTINCT site FROM scans")
        return sorted((r[0] for r in rows), key=lambda s: (s is not None, s or ""))

    def load(self, scan_id: int) -> ScanResult:
        """One stored scan; StoreError if there is no such id or it does not parse."""
        rows = self._run("SELECT json FROM scans WHERE id = ?", (scan_id,))
        if not rows:
            raise StoreError(f"{self.location}: no scan with id {scan_id}")
        try:
            return decode_scan(rows[0][0])
        except ConfigError as exc:
            raise StoreError(f"{self.location}: scan {scan_id} is damaged: {exc}") from exc

    def latest_ids(self, n: int = 1, site: SiteFilter = ALL_SITES) -> list[int]:
        """Ids of the n most recent scans (of one site, or all), newest first."""
        where, args = _site_where(site)
        rows = self._run(
            f"SELECT s.id FROM scans s WHERE 1 = 1{where}"  # noqa: S608 - no user text in SQL
            " ORDER BY s.started_at DESC, s.id DESC LIMIT ?",
            (*args, n),
        )
        return [int(r[0]) for r in rows]

    def latest(self, n: int = 1, site: SiteFilter = ALL_SITES) -> list[ScanResult]:
        """The n most recent scans (of one site, or all), newest first."""
        return [self.load(i) for i in self.latest_ids(n, site)]

    def first_last_seen(
        self, key: str, site: SiteFilter = ALL_SITES
    ) -> tuple[datetime, datetime] | None:
        """When a device (a `device_key`: "mac:…", "serial:…" or "ip:…") was first and last seen."""
        kind, value = split_key(key)
        where, args = _site_where(site)
        rows = self._run(
            f"SELECT min(s.started_at), max(s.started_at) FROM devices d"  # noqa: S608
            f" JOIN scans s ON s.id = d.scan_id WHERE d.{kind} = ?{where}",
            (bindable(value) or value, *args),
        )
        first, last = rows[0]
        if first is None:
            return None
        return datetime.fromisoformat(first), datetime.fromisoformat(last)

    def flagged_sightings(self, site: SiteFilter) -> list[Sighting]:
        """Every flagged (MAC, serial, IP) ever stored for a site, with when it was last seen."""
        where, args = _site_where(site)
        rows = self._run(
            "SELECT d.mac, d.serial, d.ip, max(s.started_at) FROM devices d"  # noqa: S608
            f" JOIN scans s ON s.id = d.scan_id WHERE d.flagged = 1{where}"
            " GROUP BY d.mac, d.serial, d.ip",
            args,
        )
        return [Sighting(mac=r[0], serial=r[1], ip=r[2], last_seen=datetime.fromisoformat(r[3]))
                for r in rows]  # fmt: skip


def _device_row(scan_id: int, device: Device) -> tuple[object, ...]:
    # The MAC and serial are normalised exactly as device_key() does, so lookups find them.
    ident = device_identity(device)
    return (scan_id, str(device.ip), bindable(ident.mac), bindable(ident.serial),
            bindable(device.maker), int(device.flagged))  # fmt: skip


def is_postgres(location: str | Path | None) -> bool:
    """True for a postgresql:// (or postgres://) URL."""
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


def open_store(location: str | Path | None = None, *, upgrade_to: int | None = None) -> Store:
    """The inventory at a SQLite path (default: default_path()) or a postgresql:// URL."""
    if is_postgres(location):
        from camaudit.inventory.postgres import PostgresStore

        return PostgresStore(str(location), upgrade_to=upgrade_to)
    from camaudit.inventory.sqlite import SQLiteStore

    return SQLiteStore(Path(location) if location else default_path(), upgrade_to=upgrade_to)

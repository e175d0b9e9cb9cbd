"""The local history of scans: an SQLite file with the full scan JSON and a devices index."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

from camaudit import scanfile
from camaudit.errors import ConfigError, StoreError
from camaudit.identity import device_identity, split_key
from camaudit.models import Device, ScanResult

log = logging.getLogger(__name__)

_MIGRATION_MARK = re.compile(r"^-- migration (\d+)\s*$", re.MULTILINE)


def default_path() -> Path:
    """~/.local/share/camaudit/inventory.sqlite3, honouring XDG_DATA_HOME (XDG Base Dir spec)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "camaudit" / "inventory.sqlite3"


def migrations() -> list[tuple[int, str]]:
    """The numbered migration blocks of schema.sql, in order."""
    text = resources.files("camaudit.inventory").joinpath("schema.sql").read_text("utf-8")
    parts = _MIGRATION_MARK.split(text)
    # split gives [preamble, "1", block1, "2", block2, ...]
    numbered = [(int(parts[i]), parts[i + 1]) for i in range(1, len(parts), 2)]
    assert [n for n, _ in numbered] == list(range(1, len(numbered) + 1)), "migrations out of order"
    return numbered


SCHEMA_VERSION = len(migrations())


def _bindable(text: str | None) -> str | None:
    """Text sqlite3 can bind: lone surrogates become "?"."""
    # NOTE: a device's JSON may hold "\\udfff" and --site may carry undecodable argv bytes;
    # sqlite3 raises UnicodeEncodeError (not sqlite3.Error) on either.
    return None if text is None else text.encode("utf-8", "replace").decode("utf-8")


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


class Store:
    """The inventory database; opening it creates or upgrades the schema."""

    def __init__(self, path: str | Path | None = None, *, upgrade_to: int | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        target = SCHEMA_VERSION if upgrade_to is None else upgrade_to
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._db = sqlite3.connect(self.path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open inventory {self.path}: {exc}") from exc
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate(target)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(f"{self.path}: not a camaudit inventory or corrupt ({exc})") from exc
        except StoreError:
            self._db.close()
            raise

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    @property
    def version(self) -> int:
        """The schema version of the open file."""
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self, target: int) -> None:
        current = self.version
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: inventory schema {current} is newer than this camaudit "
                f"understands ({SCHEMA_VERSION}); upgrade camaudit"
            )
        if current == 0 and self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise StoreError(f"{self.path}: an SQLite file, but not a camaudit inventory")
        for number, sql in migrations():
            if current < number <= target:
                log.info("upgrading inventory %s to schema %d", self.path, number)
                try:
                    # PRAGMA user_version is part of the transaction, so a failed block leaves
                    # the file at the previous version.
                    script = f"BEGIN;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;"
                    self._db.executescript(script)
                except sqlite3.Error:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise

    def save(self, result: ScanResult) -> int:
        """Store a scan; returns its id."""
        document = scanfile.dumps(result)
        try:
            with self._transaction():
                cursor = self._db.execute(
                    "INSERT INTO scans (started_at, finished_at, site, policy, interrupted, json)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (scanfile.iso_utc(result.started_at), scanfile.iso_utc(result.finished_at),
                     _bindable(result.site), _bindable(result.policy), int(result.interrupted),
                     document),
                )  # fmt: skip
                scan_id = cursor.lastrowid
                assert scan_id is not None
                self._db.executemany(
                    "INSERT OR REPLACE INTO devices (scan_id, ip, mac, serial, maker, flagged)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [self._device_row(scan_id, d) for d in result.devices],
                )
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: could not save the scan: {exc}") from exc
        return scan_id

    @staticmethod
    def _device_row(scan_id: int, device: Device) -> tuple[object, ...]:
        # The MAC and serial are normalised exactly as device_key() does, so lookups find them.
        ident = device_identity(device)
        return (scan_id, str(device.ip), _bindable(ident.mac), _bindable(ident.serial),
                _bindable(device.maker), int(device.flagged))  # fmt: skip

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def scans(self) -> list[ScanSummary]:
        """Every stored scan, oldest first."""
        rows = self._query(
            "SELECT s.id, s.started_at, s.finished_at, s.site, s.policy, s.interrupted,"
            " count(d.ip), coalesce(sum(d.flagged), 0)"
            " FROM scans s LEFT JOIN devices d ON d.scan_id = s.id"
            " GROUP BY s.id ORDER BY s.started_at, s.id"
        )
        return [
            ScanSummary(id=r[0], started_at=datetime.fromisoformat(r[1]),
                        finished_at=datetime.fromisoformat(r[2]), site=r[3], policy=r[4],
                        interrupted=bool(r[5]), devices=r[6], flagged=r[7])
            for r in rows
        ]  # fmt: skip

    def load(self, scan_id: int) -> ScanResult:
        """One stored scan; StoreError if there is no such id or it does not parse."""
        rows = self._query("SELECT json FROM scans WHERE id = ?", (scan_id,))
        if not rows:
            raise StoreError(f"{self.path}: no scan with id {scan_id}")
        try:
            return scanfile.loads(rows[0][0])
        except ConfigError as exc:
            raise StoreError(f"{self.path}: scan {scan_id} is damaged: {exc}") from exc

    def latest(self, n: int = 1) -> list[ScanResult]:
        """The n most recent scans, newest first."""
        rows = self._query("SELECT id FROM scans ORDER BY started_at DESC, id DESC LIMIT ?", (n,))
        return [self.load(r[0]) for r in rows]

    def latest_ids(self, n: int = 1) -> list[int]:
        """Ids of the n most recent scans, newest first."""
        rows = self._query("SELECT id FROM scans ORDER BY started_at DESC, id DESC LIMIT ?", (n,))
        return [int(r[0]) for r in rows]

    def first_last_seen(self, key: str) -> tuple[datetime, datetime] | None:
        """When a device (a `device_key`: "mac:…", "serial:…" or "ip:…") was first and last seen."""
        kind, value = split_key(key)
        value = _bindable(value) or value
        rows = self._query(
            f"SELECT min(s.started_at), max(s.started_at) FROM devices d"  # noqa: S608
            f" JOIN scans s ON s.id = d.scan_id WHERE d.{kind} = ?",
            (value,),
        )
        first, last = rows[0]
        if first is None:
            return None
        return datetime.fromisoformat(first), datetime.fromisoformat(last)

    def _query(self, sql: str, args: tuple[object, ...] = ()) -> list[Any]:
        try:
            return list(self._db.execute(sql, args).fetchall())
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc


class _Transaction:
    """BEGIN … COMMIT, or ROLLBACK on error (the connection runs in autocommit mode)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")

"""The embedded engine: one SQLite file in WAL mode, schema version in PRAGMA user_version."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from camaudit.errors import StoreError
from camaudit.inventory.store import SCHEMA_VERSION, Store, migrations

log = logging.getLogger(__name__)

# Another run may be writing (WAL allows one writer); wait for it rather than fail.
BUSY_TIMEOUT_S = 30.0


class SQLiteStore(Store):
    """The inventory in a local SQLite file."""

    engine = "sqlite"

    def __init__(self, path: Path, *, upgrade_to: int | None = None) -> None:
        self.path = path
        self.location = str(path)
        target = SCHEMA_VERSION if upgrade_to is None else upgrade_to
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open inventory {self.path}: {exc}") from exc
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            self._check_and_migrate(target)
            # NOTE: only after the checks: switching to WAL rewrites the header of a refused file.
            self._db.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(f"{self.path}: not a camaudit inventory or corrupt ({exc})") from exc
        except StoreError:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    @property
    def version(self) -> int:
        """The schema version of the open file."""
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _check_and_migrate(self, target: int) -> None:
        current = self.version
        self._refuse_newer(current)
        if current == 0 and self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise StoreError(f"{self.path}: an SQLite file, but not a camaudit inventory")
        for number, sql in migrations(self.engine):
            if current < number <= target:
                log.info("upgrading inventory %s to schema %d", self.path, number)
                try:
                    # PRAGMA user_version is part of the transaction, so a failed block leaves
                    # the file at the previous version.
                    script = f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;"
                    self._db.executescript(script)
                except sqlite3.Error:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise

    def _run(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        try:
            return list(self._db.execute(sql, tuple(args)).fetchall())
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    def _run_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        try:
            self._db.executemany(sql, [tuple(r) for r in rows])
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        # IMMEDIATE takes the write lock at once, so two writers queue instead of deadlocking.
        self._run("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._run("COMMIT")

"""The central engine: a PostgreSQL database shared by every site (psycopg 3).

The schema version is the one row of camaudit_schema. Migrations run under an advisory lock, so
two sites opening a fresh database at once upgrade it once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from camaudit.errors import StoreError, StoreUnreachable
from camaudit.inventory.store import SCHEMA_VERSION, Store, migrations

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10
# pg_advisory_xact_lock key for schema upgrades: "camaudit" in ASCII, as a bigint.
MIGRATION_LOCK = 0x63616D6175646974
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return _PASSWORD.sub(r"\1***@", url)


def _placeholders(sql: str) -> str:
    # The shared queries use sqlite's `?`; psycopg wants %s. No query holds a literal ? or %.
    return sql.replace("?", "%s")


class PostgresStore(Store):
    """The inventory in a PostgreSQL database."""

    engine = "postgres"

    def __init__(self, url: str, *, upgrade_to: int | None = None) -> None:
        import psycopg

        self._psycopg = psycopg
        self.location = redacted(url)
        target = SCHEMA_VERSION if upgrade_to is None else upgrade_to
        try:
            self._db = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            raise StoreUnreachable(
                f"cannot reach inventory {self.location}: {_first_line(exc)}"
            ) from exc
        try:
            self._check_and_migrate(target)
        except psycopg.Error as exc:
            self._db.close()
            raise StoreError(f"{self.location}: {_first_line(exc)}") from exc
        except StoreError:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    @property
    def version(self) -> int:
        """The schema version of the open database (0: empty)."""
        return self._read_version()

    def _read_version(self) -> int:
        exists = self._db.execute("SELECT to_regclass('camaudit_schema')").fetchone()
        if exists is None or exists[0] is None:
            tables = self._db.execute(
                "SELECT count(*) FROM information_schema.tables"
                " WHERE table_schema = current_schema()"
            ).fetchone()
            if tables is not None and tables[0]:
                raise StoreError(
                    f"{self.location}: a PostgreSQL database, but not a camaudit inventory"
                )
            return 0
        rows = self._db.execute("SELECT version FROM camaudit_schema").fetchall()
        if len(rows) != 1 or not isinstance(rows[0][0], int):
            raise StoreError(f"{self.location}: camaudit_schema is damaged ({len(rows)} rows)")
        return int(rows[0][0])

    def _check_and_migrate(self, target: int) -> None:
        self._refuse_newer(self._read_version())
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            current = self._read_version()  # again, under the lock: another run may have won
            for number, sql in migrations(self.engine):
                if current < number <= target:
                    log.info("upgrading inventory %s to schema %d", self.location, number)
                    self._db.execute(sql.encode("utf-8"))
                    self._set_version(number)

    def _set_version(self, number: int) -> None:
        self._db.execute("CREATE TABLE IF NOT EXISTS camaudit_schema (version INTEGER NOT NULL)")
        self._db.execute("DELETE FROM camaudit_schema")
        self._db.execute("INSERT INTO camaudit_schema (version) VALUES (%s)", (number,))

    def _run(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        try:
            cursor = self._db.execute(_placeholders(sql), tuple(args))
            return list(cursor.fetchall()) if cursor.description else []
        except self._psycopg.OperationalError as exc:
            raise StoreUnreachable(f"{self.location}: {_first_line(exc)}") from exc
        except self._psycopg.Error as exc:
            raise StoreError(f"{self.location}: {_first_line(exc)}") from exc

    def _run_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        if not rows:
            return
        try:
            with self._db.cursor() as cursor:
                cursor.executemany(_placeholders(sql), [tuple(r) for r in rows])
        except self._psycopg.Error as exc:
            raise StoreError(f"{self.location}: {_first_line(exc)}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._db.transaction():
            yield


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

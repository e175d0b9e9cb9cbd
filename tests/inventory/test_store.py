"""The inventory on both engines: saving, loading, first/last seen, migrations, damaged files."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from inventory_samples import device, scan

from camaudit.commands.history import history_group
from camaudit.errors import StoreError
from camaudit.inventory import store as store_module
from camaudit.inventory.store import SCHEMA_VERSION, default_path, open_store


def test_save_and_load_round_trip(db_location: str) -> None:
    """A saved scan loads back equal (devices in report order) and gets increasing ids."""
    with open_store(db_location) as store:
        first = store.save(scan(1, device("198.51.100.5", mac="58:50:ED:00:00:05")))
        second = store.save(scan(2))
        assert second > first
        loaded = store.load(first)
        assert loaded.devices[0].mac == "58:50:ED:00:00:05"
        assert loaded.started_at == datetime(2024, 5, 1, 9, tzinfo=UTC)
        assert [s.id for s in store.scans()] == [first, second]
        assert store.scans()[0].devices == 1
        assert store.scans()[0].flagged == 1
        assert [r.started_at.day for r in store.latest(2)] == [2, 1]


def test_first_last_seen_by_mac_serial_and_ip(db_location: str) -> None:
    """Sightings are found by normalised MAC, by serial, or by IP."""
    with open_store(db_location) as store:
        store.save(scan(1, device("198.51.100.5", mac="58-50-ED-00-00-05", serial="SN1")))
        store.save(scan(3, device("198.51.100.6", mac="58:50:ed:00:00:05", serial="SN1")))
        store.save(scan(9, device("198.51.100.9")))
        first, last = store.first_last_seen("mac:58:50:ed:00:00:05") or (None, None)
        assert (first.day, last.day) == (1, 3)  # type: ignore[union-attr]
        assert store.first_last_seen("serial:SN1") is not None
        assert store.first_last_seen("ip:198.51.100.9") is not None
        assert store.first_last_seen("mac:00:00:00:00:00:01") is None
        with pytest.raises(ValueError, match="device key"):
            store.first_last_seen("name; DROP TABLE scans")


def test_hostile_strings_are_saved_and_found_by_device_key(db_location: str) -> None:
    """A lone surrogate (valid in a device's JSON) or padded serial neither crashes nor hides."""
    from camaudit.identity import device_key

    odd = device("198.51.100.5", serial=" SN\udfff ", maker="hik\ud800")
    with open_store(db_location) as store:
        scan_id = store.save(scan(2, odd, site="Depot \udcff"))
        assert store.load(scan_id).devices[0].serial == " SN\udfff "
        assert store.first_last_seen(device_key(odd)) is not None
        assert store.scans()[0].site == "Depot ?"


def test_missing_scan_is_a_store_error(db_location: str) -> None:
    """Loading an id that does not exist raises StoreError."""
    with open_store(db_location) as store, pytest.raises(StoreError, match="no scan"):
        store.load(42)


def test_version_one_database_is_upgraded_and_backfilled(tmp_path: Path) -> None:
    """A schema-1 file (scans only) gains the devices table, filled from the stored JSON."""
    path = tmp_path / "old.sqlite3"
    with open_store(path, upgrade_to=1) as old:
        assert old.version == 1
        old._db.execute(
            "INSERT INTO scans (started_at, finished_at, site, policy, interrupted, json)"
            " VALUES ('2024-05-01T09:00:00Z', '2024-05-01T09:01:00Z', 'HQ', 'p', 0, ?)",
            ('{"devices": [{"ip": "198.51.100.5", "mac": "AA:BB:CC:00:00:05", "flagged": true}]}',),
        )
    with open_store(path) as upgraded:
        assert upgraded.version == SCHEMA_VERSION == 3
        assert upgraded.first_last_seen("mac:aa:bb:cc:00:00:05") is not None
        assert upgraded.scans()[0].flagged == 1


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A file written by a newer camaudit raises StoreError and is not changed."""
    path = tmp_path / "new.sqlite3"
    open_store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer"):
        open_store(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "content", [b"this is not sqlite at all" * 100, b"SQLite format 3\x00" + b"\xff" * 200]
)
def test_corrupt_file_is_refused(tmp_path: Path, content: bytes) -> None:
    """A file that is not an SQLite database raises StoreError."""
    path = tmp_path / "bad.sqlite3"
    path.write_bytes(content)
    with pytest.raises(StoreError):
        open_store(path)


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    """Another program's SQLite file is not taken over."""
    path = tmp_path / "other.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="not a camaudit inventory"):
        open_store(path)


def test_default_path_honours_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """XDG_DATA_HOME moves the default database; without it, ~/.local/share is used."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_path() == tmp_path / "camaudit" / "inventory.sqlite3"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / ".local/share/camaudit/inventory.sqlite3"


@pytest.mark.parametrize("engine_name", ["sqlite", "postgres"])
def test_migrations_are_numbered_in_order(engine_name: str) -> None:
    """schema/ holds files 1..N for each engine and SCHEMA_VERSION is N."""
    numbers = [n for n, _ in store_module.migrations(engine_name)]
    assert numbers == list(range(1, SCHEMA_VERSION + 1))


def _pg_tables(url: str) -> list[str]:
    import psycopg

    with psycopg.connect(url) as db:
        rows = db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            " ORDER BY table_name"
        ).fetchall()
    return [r[0] for r in rows]


def test_postgres_is_migrated_once_and_versioned(postgres: Any) -> None:
    """A fresh PostgreSQL database gets every migration; reopening it changes nothing."""
    url = postgres.new_database()
    with open_store(url) as store:
        assert store.version == SCHEMA_VERSION
    with open_store(url) as again:
        assert again.version == SCHEMA_VERSION
    assert _pg_tables(url) == ["camaudit_schema", "devices", "scans"]


def test_postgres_newer_schema_is_refused_unchanged(postgres: Any) -> None:
    """A PostgreSQL inventory from a newer camaudit raises StoreError and keeps its version."""
    import psycopg

    url = postgres.new_database()
    open_store(url).close()
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("UPDATE camaudit_schema SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer"):
        open_store(url)
    with psycopg.connect(url) as db:
        assert db.execute("SELECT version FROM camaudit_schema").fetchall() == [
            (SCHEMA_VERSION + 1,)
        ]


@pytest.mark.parametrize(
    "setup",
    ["CREATE TABLE t (x int)", "CREATE TABLE camaudit_schema (version int)"],
    ids=["foreign", "damaged-version"],
)
def test_postgres_foreign_or_damaged_database_is_refused(postgres: Any, setup: str) -> None:
    """Another program's database, or one with no version row, is refused and left alone."""
    import psycopg

    url = postgres.new_database()
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(setup)
    before = _pg_tables(url)
    with pytest.raises(StoreError, match="not a camaudit inventory|damaged"):
        open_store(url)
    assert _pg_tables(url) == before


def test_unreachable_postgres_is_store_unreachable(tmp_path: Path) -> None:
    """No server behind the socket: StoreUnreachable, one line, password not shown."""
    from camaudit.errors import StoreUnreachable

    url = f"postgresql://camaudit:s3cret@/inv?host={tmp_path}"
    with pytest.raises(StoreUnreachable) as caught:
        open_store(url)
    assert "s3cret" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_same_uid_is_stored_once(db_location: str) -> None:
    """Saving a scan again under the same uid (a spooled scan sent twice) keeps one copy."""
    with open_store(db_location) as store:
        first = store.save(scan(1, device("198.51.100.5")), uid="abc")
        again = store.save(scan(1, device("198.51.100.5")), uid="abc")
        assert first == again
        assert len(store.scans()) == 1


def test_history_is_per_site(db_location: str) -> None:
    """latest/scans/first_last_seen filtered by site never return another site's scans."""
    with open_store(db_location) as store:
        store.save(scan(1, device("198.51.100.5", mac="58:50:ed:00:00:05"), site="HQ"))
        store.save(scan(2, device("198.51.100.9", mac="58:50:ed:00:00:09"), site="Depot"))
        assert [r.site for r in store.latest(1, site="HQ")] == ["HQ"]
        assert [s.site for s in store.scans(site="Depot")] == ["Depot"]
        assert store.first_last_seen("mac:58:50:ed:00:00:05", site="Depot") is None
        assert store.first_last_seen("mac:58:50:ed:00:00:05", site="HQ") is not None
        assert store.sites() == ["Depot", "HQ"]


def test_a_failed_save_leaves_nothing_behind(db_location: str) -> None:
    """A scan whose device rows fail is not half-stored: one transaction per scan."""
    with open_store(db_location) as store:
        store.save(scan(1, device("198.51.100.5")), uid="taken")
        store._run_many = _explode  # type: ignore[method-assign]
        with pytest.raises(StoreError):
            store.save(scan(2, device("198.51.100.6")))
        assert [s.started_at.day for s in store.scans()] == [1]


def _explode(sql: str, rows: object) -> None:
    raise StoreError("device rows refused")


def test_killed_writer_leaves_earlier_scans(db_location: str, tmp_path: Path) -> None:
    """A process killed with SIGKILL in the middle of saving leaves every earlier scan intact."""
    with open_store(db_location) as store:
        store.save(scan(1, device("198.51.100.5")))
    script = tmp_path / "writer.py"
    script.write_text(
        "import os, signal, sys\n"
        f"sys.path[:0] = [{str(Path(__file__).parent)!r}]\n"
        "from inventory_samples import device, scan\n"
        "from camaudit.inventory.store import open_store\n"
        "store = open_store(sys.argv[1])\n"
        "def die(*a, **k):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "store._run_many = die\n"
        "store.save(scan(2, device('198.51.100.6')))\n"
    )
    done = subprocess.run([sys.executable, str(script), db_location], timeout=60, check=False)
    assert done.returncode == -9
    with open_store(db_location) as store:
        assert [s.started_at.day for s in store.scans()] == [1]
        assert store.save(scan(3)) > 0


class TestHistoryCommands:
    def test_list_show_and_diff(self, tmp_path: Path) -> None:
        """history list/show/diff read the database; diff defaults to the last two scans."""
        db = tmp_path / "inv.sqlite3"
        with open_store(db) as store:
            store.save(scan(1, device("198.51.100.5", mac="58:50:ed:00:00:05")))
            store.save(scan(2, device("198.51.100.5", mac="58:50:ed:00:00:05", firmware="V5.5"),
                            device("198.51.100.6", mac="58:50:ed:00:00:06")))  # fmt: skip
        runner = CliRunner()
        listed = runner.invoke(history_group, ["list", "--db", str(db)])
        assert listed.exit_code == 0
        assert "2 saved scans" in listed.output
        shown = runner.invoke(history_group, ["show", "1", "--db", str(db)])
        assert shown.exit_code == 0
        assert "198.51.100.5" in shown.output
        changed = runner.invoke(history_group, ["diff", "--db", str(db)])
        assert changed.exit_code == 0, changed.output
        assert "+ 198.51.100.6" in changed.output
        assert "firmware: V5.4.0 -> V5.5" in changed.output

    def test_errors_exit_3_in_one_line(self, tmp_path: Path) -> None:
        """A missing scan or a too-short history exits 3 with one line."""
        db = tmp_path / "inv.sqlite3"
        runner = CliRunner()
        missing = runner.invoke(history_group, ["show", "7", "--db", str(db)])
        assert missing.exit_code == 3
        assert "no scan with id 7" in missing.output
        too_few = runner.invoke(history_group, ["diff", "--db", str(db)])
        assert too_few.exit_code == 3
        assert "need two saved scans" in too_few.output

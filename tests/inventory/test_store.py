"""The SQLite inventory: saving, loading, first/last seen, migrations and damaged files."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from inventory_samples import device, scan

from camaudit.commands.history import history_group
from camaudit.errors import StoreError
from camaudit.inventory import store as store_module
from camaudit.inventory.store import SCHEMA_VERSION, Store, default_path


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    """A saved scan loads back equal (devices in report order) and gets increasing ids."""
    with Store(tmp_path / "inv.sqlite3") as store:
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


def test_first_last_seen_by_mac_serial_and_ip(tmp_path: Path) -> None:
    """Sightings are found by normalised MAC, by serial, or by IP."""
    with Store(tmp_path / "inv.sqlite3") as store:
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


def test_hostile_strings_are_saved_and_found_by_device_key(tmp_path: Path) -> None:
    """A lone surrogate (valid in a device's JSON) or padded serial neither crashes nor hides."""
    from camaudit.identity import device_key

    odd = device("198.51.100.5", serial=" SN\udfff ", maker="hik\ud800")
    with Store(tmp_path / "inv.sqlite3") as store:
        scan_id = store.save(scan(2, odd, site="Depot \udcff"))
        assert store.load(scan_id).devices[0].serial == " SN\udfff "
        assert store.first_last_seen(device_key(odd)) is not None
        assert store.scans()[0].site == "Depot ?"


def test_missing_scan_is_a_store_error(tmp_path: Path) -> None:
    """Loading an id that does not exist raises StoreError."""
    with Store(tmp_path / "inv.sqlite3") as store, pytest.raises(StoreError, match="no scan"):
        store.load(42)


def test_version_one_database_is_upgraded_and_backfilled(tmp_path: Path) -> None:
    """A schema-1 file (scans only) gains the devices table, filled from the stored JSON."""
    path = tmp_path / "old.sqlite3"
    with Store(path, upgrade_to=1) as old:
        assert old.version == 1
        old._db.execute(
            "INSERT INTO scans (started_at, finished_at, site, policy, interrupted, json)"
            " VALUES ('2024-05-01T09:00:00Z', '2024-05-01T09:01:00Z', 'HQ', 'p', 0, ?)",
            ('{"devices": [{"ip": "198.51.100.5", "mac": "AA:BB:CC:00:00:05", "flagged": true}]}',),
        )
    with Store(path) as upgraded:
        assert upgraded.version == SCHEMA_VERSION == 2
        assert upgraded.first_last_seen("mac:aa:bb:cc:00:00:05") is not None
        assert upgraded.scans()[0].flagged == 1


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A file written by a newer camaudit raises StoreError and is not changed."""
    path = tmp_path / "new.sqlite3"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer"):
        Store(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "content", [b"this is not sqlite at all" * 100, b"SQLite format 3\x00" + b"\xff" * 200]
)
def test_corrupt_file_is_refused(tmp_path: Path, content: bytes) -> None:
    """A file that is not an SQLite database raises StoreError."""
    path = tmp_path / "bad.sqlite3"
    path.write_bytes(content)
    with pytest.raises(StoreError):
        Store(path)


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    """Another program's SQLite file is not taken over."""
    path = tmp_path / "other.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="not a camaudit inventory"):
        Store(path)


def test_default_path_honours_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """XDG_DATA_HOME moves the default database; without it, ~/.local/share is used."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_path() == tmp_path / "camaudit" / "inventory.sqlite3"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / ".local/share/camaudit/inventory.sqlite3"


def test_migrations_are_numbered_in_order() -> None:
    """schema.sql holds blocks 1..N and SCHEMA_VERSION is N."""
    assert [n for n, _ in store_module.migrations()] == list(range(1, SCHEMA_VERSION + 1))


class TestHistoryCommands:
    def test_list_show_and_diff(self, tmp_path: Path) -> None:
        """history list/show/diff read the database; diff defaults to the last two scans."""
        db = tmp_path / "inv.sqlite3"
        with Store(db) as store:
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

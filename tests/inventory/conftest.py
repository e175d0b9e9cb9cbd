"""Inventory fixtures: the same tests run against SQLite and against a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pg_server
import pytest
from receiver import Hook, serve


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg_server.PostgresServer]:
    """One PostgreSQL server for the whole session (the Makefile installs Debian's package)."""
    binaries = pg_server.server_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries not installed (make system-test-deps)")
    server = pg_server.start(binaries)
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> str:
    """Which engine this run of a test uses."""
    return str(request.param)


@pytest.fixture
def db_location(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty inventory for this test: a SQLite path, or a fresh PostgreSQL database URL."""
    if engine == "sqlite":
        return str(tmp_path / "inventory.sqlite3")
    server: pg_server.PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.fixture
def webhook() -> Iterator[Hook]:
    """A real HTTP server on an ephemeral loopback port, answering 204 to each POST."""
    yield from serve()

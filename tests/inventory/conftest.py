"""Inventory fixtures: the same tests run against SQLite and against a real PostgreSQL server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pg_server
import pytest


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


@dataclass
class Hook:
    """A webhook receiver on 127.0.0.1: its URL and every JSON body POSTed to it."""

    url: str
    events: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def webhook() -> Iterator[Hook]:
    """A real HTTP server on an ephemeral loopback port, answering 204 to each POST."""
    hook = Hook(url="")

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server spelling
            length = min(int(self.headers.get("Content-Length", "0")), 16 * 1024 * 1024)
            hook.events.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

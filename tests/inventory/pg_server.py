"""A throw-away PostgreSQL server for the test session: initdb in a temporary folder, listening on
a unix socket in that folder only (no TCP port), as the postgres user when run as root."""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 30.0


def server_binaries() -> Path | None:
    """The folder holding initdb and postgres (Debian keeps them out of PATH), or None."""
    found = shutil.which("initdb")
    if found and shutil.which("postgres"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _as_owner(owner: pwd.struct_passwd | None) -> Callable[[], None] | None:
    if owner is None:
        return None

    def drop() -> None:
        os.setgid(owner.pw_gid)
        os.setuid(owner.pw_uid)

    return drop


@dataclass
class PostgresServer:
    """A running server; `url(db)` names a database on it."""

    folder: Path
    process: subprocess.Popen[bytes]
    user: str

    @property
    def socket_dir(self) -> Path:
        return self.folder / "sock"

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@/{database}?host={self.socket_dir}"

    def new_database(self) -> str:
        """A fresh empty database; its URL."""
        import psycopg

        name = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def start(binaries: Path) -> PostgresServer:
    """initdb + postgres in a new temporary folder; returns once it accepts connections."""
    folder = Path(tempfile.mkdtemp(prefix="camaudit-pg-"))
    (folder / "sock").mkdir()
    owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    if owner is not None:
        for path in (folder, folder / "sock"):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    user = owner.pw_name if owner else pwd.getpwuid(os.geteuid()).pw_name
    log = (folder / "server.log").open("wb")
    subprocess.run(
        [str(binaries / "initdb"), "-D", str(folder / "data"), "-U", user, "--auth=trust",
         "-E", "UTF8", "--locale=C", "--no-sync"],
        check=True, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_as_owner(owner),
        timeout=120,
    )  # fmt: skip
    process = subprocess.Popen(
        [str(binaries / "postgres"), "-D", str(folder / "data"), "-k", str(folder / "sock"),
         "-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
         "-c", "full_page_writes=off"],
        stdout=log, stderr=subprocess.STDOUT, preexec_fn=_as_owner(owner),
    )  # fmt: skip
    server = PostgresServer(folder=folder, process=process, user=user)
    _wait_ready(server, log.name)
    return server


def _wait_ready(server: PostgresServer, log_name: str) -> None:
    import psycopg

    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            psycopg.connect(server.url("postgres"), connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if server.process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"postgres did not start; see {log_name}") from None
            time.sleep(0.05)

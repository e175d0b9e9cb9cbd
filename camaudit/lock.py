"""One run per site at a time: an OS file lock, freed by the kernel when its holder dies.

fcntl.flock on POSIX, msvcrt.locking on Windows, each imported only on its platform. A run killed
with kill -9 leaves nothing to clean up: the next run takes the lock at once.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from camaudit.config import site_slug
from camaudit.errors import CamauditError

POLL_S = 0.1


class SiteBusy(CamauditError):
    """Another run holds this site's lock and did not let go in time."""


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(path: Path) -> str:
    try:
        text = path.read_text("ascii", errors="replace").strip()[:20]
    except OSError:
        return ""
    return f" (pid {text})" if text.isdigit() else ""


def lock_path(folder: Path, site: str | None) -> Path:
    """The lock file of one site."""
    return folder / f"{site_slug(site)}.lock"


@contextmanager
def site_lock(folder: Path, site: str | None, *, wait_s: float = 0.0) -> Iterator[Path]:
    """Hold the site's lock for the block; SiteBusy after wait_s seconds of someone else's."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = lock_path(folder, site)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise CamauditError(f"cannot open lock file {path}: {exc.strerror or exc}") from None
    try:
        deadline = time.monotonic() + wait_s
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                name = site if site else "(no site)"
                raise SiteBusy(
                    f"another camaudit run is scanning site {name!r}{_holder(path)}; "
                    f"not scanning it twice (waited {wait_s:g} s; --lock-wait to wait longer)"
                )
            time.sleep(POLL_S)
        # NOTE: the pid is only for the message above; the lock itself is the kernel's.
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock

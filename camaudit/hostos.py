"""What this operating system offers a scan: privileges, packet sockets, the descriptor limit.

camaudit runs on Linux, macOS and Windows laptops. Linux-only modules (`resource`, `fcntl`) and
socket families (`AF_PACKET`) are imported here, where they are used and only when present, so
nothing Linux-only is needed to start the program.
"""

from __future__ import annotations

import ctypes
import logging
import os
import socket
import sys

log = logging.getLogger(__name__)

IS_WINDOWS = sys.platform == "win32"
IS_MACOS = sys.platform == "darwin"
IS_LINUX = sys.platform.startswith("linux")
FALLBACK_FILE_LIMIT = 65_536  # what to ask for when the hard limit is "unlimited"


def has_packet_sockets() -> bool:
    """Whether raw Ethernet frames can be sent here (Linux AF_PACKET; the ARP sweep needs it)."""
    return IS_LINUX and hasattr(socket, "AF_PACKET")


def is_privileged() -> bool:
    """Root on POSIX, an elevated administrator on Windows."""
    geteuid = getattr(os, "geteuid", None)
    if geteuid is not None:
        return bool(geteuid() == 0)
    shell32 = getattr(getattr(ctypes, "windll", None), "shell32", None)
    if shell32 is None:
        return False
    try:
        return bool(shell32.IsUserAnAdmin())
    except OSError:
        return False


def raise_file_limit() -> int | None:
    """Lift the soft descriptor limit to the hard one (a /24 sweep holds ~1,000 sockets at once).

    Returns the new soft limit, or None where there is no such limit to lift (Windows: the
    Proactor event loop has no select() ceiling and no RLIMIT_NOFILE).
    """
    try:
        import resource  # noqa: PLC0415 - POSIX only; absent on Windows
    except ImportError:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else FALLBACK_FILE_LIMIT
    if soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError) as exc:  # macOS refuses above kern.maxfilesperproc
            log.debug("cannot raise the descriptor limit to %d: %s", wanted, exc)
            return soft
        return wanted
    return soft


def platform_label() -> str:
    """A short name of this system for the dry-run plan and the docs ("linux", "macos"...)."""
    if IS_WINDOWS:
        return "windows"
    if IS_MACOS:
        return "macos"
    return "linux" if IS_LINUX else sys.platform

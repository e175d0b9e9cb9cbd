"""ONVIF credentials from the environment or a private file; never from argv, never printed."""

from __future__ import annotations

import dataclasses
import logging
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from camaudit.errors import ConfigError
from camaudit.hostos import IS_WINDOWS
from camaudit.options import ScanOptions

log = logging.getLogger(__name__)

ENV_USER = "CAMAUDIT_ONVIF_USER"
ENV_PASSWORD = "CAMAUDIT_ONVIF_PASSWORD"  # noqa: S105 - the variable's name, not a password
MAX_FILE_BYTES = 4096  # two short lines; anything bigger is not a credentials file


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    """One ONVIF user name and password, for a single authenticated attempt per host."""

    user: str
    password: str

    def __repr__(self) -> str:
        # NOTE: reprs end up in logs and tracebacks; the password must not.
        return f"Credentials(user={self.user!r}, password='***')"

    __str__ = __repr__

    def apply_to(self, options: ScanOptions) -> ScanOptions:
        """A copy of `options` carrying these credentials (the CLI's way in)."""
        return dataclasses.replace(options, onvif_user=self.user, onvif_password=self.password)


def load_onvif_credentials(env: Mapping[str, str], file: Path | None) -> Credentials | None:
    """Credentials from `file` when given, else from the environment; None when neither has any."""
    if file is not None:
        return _from_file(file)
    return _from_env(env)


def _from_env(env: Mapping[str, str]) -> Credentials | None:
    user = env.get(ENV_USER)
    password = env.get(ENV_PASSWORD)
    if user is None and password is None:
        return None
    if not user:
        raise ConfigError(f"{ENV_PASSWORD} is set but {ENV_USER} is not; set both or neither")
    if password is None:
        raise ConfigError(f"{ENV_USER} is set but {ENV_PASSWORD} is not; set both or neither")
    log.debug("ONVIF credentials for user %r taken from the environment", user)
    return Credentials(user=user, password=password)


def _from_file(file: Path) -> Credentials:
    text = _read_private_file(file)
    values: dict[str, str] = {}
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        key, equals, value = line.partition("=")
        key = key.strip().lower()
        # NOTE: error messages name the line and key only; a typo line may hold the password.
        if not equals or key not in {"user", "password"}:
            raise ConfigError(f"{file}:{number}: expected 'user=...' or 'password=...'")
        if key in values:
            raise ConfigError(f"{file}:{number}: '{key}' given twice")
        values[key] = value.strip()
    if not values.get("user") or "password" not in values:
        raise ConfigError(f"{file}: needs both a 'user=...' and a 'password=...' line")
    log.debug("ONVIF credentials for user %r read from %s", values["user"], file)
    return Credentials(user=values["user"], password=values["password"])


def mode_is_private(mode: int, *, windows: bool = IS_WINDOWS) -> bool:
    """Whether a file's mode keeps it from everyone but its owner (POSIX 0600 or stricter).

    NOTE: Windows reports every writable file as 0666, having no such bits: what protects a
    file there is its ACL (a user's profile folder is private by default), so no mode is refused.
    """
    return windows or not mode & 0o077


def _read_private_file(file: Path) -> str:
    try:
        info = file.stat()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the credentials file: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{file}: the credentials file is not a regular file")
    if not mode_is_private(info.st_mode):
        raise ConfigError(
            f"{file}: the credentials file is readable by others (mode "
            f"{stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {file}"
        )
    if info.st_size > MAX_FILE_BYTES:
        raise ConfigError(f"{file}: {info.st_size} bytes is too big for a credentials file")
    try:
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the credentials file: {exc.strerror}") from None
    except UnicodeDecodeError:
        # The codec's message quotes the offending byte, which may belong to the password.
        raise ConfigError(f"{file}: the credentials file is not UTF-8 text") from None

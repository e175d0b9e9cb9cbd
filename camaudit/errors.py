"""camaudit's exceptions.

CamauditError
├── ConfigError          bad options, targets or config file (the user can fix it)
├── FingerprintError     a fingerprint file failed to load (carries path and rule id)
├── ProbeError           a probe could not finish
│   └── ProbeUnavailable missing privilege, interface or optional extra
├── StoreError           history database unreadable or from a newer version
│   └── StoreUnreachable the database server did not answer (the scan is spooled)
└── DecodeError          a reply is not the wire format of its channel (carries the channel)
"""

from __future__ import annotations


class CamauditError(Exception):
    """Base of every error camaudit raises on purpose."""


class ConfigError(CamauditError):
    """Bad options, targets or configuration."""


class FingerprintError(CamauditError):
    """A fingerprint file failed to load or verify."""

    def __init__(self, message: str, *, path: str | None = None, rule: str | None = None) -> None:
        where = ":".join(part for part in (path, rule) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.rule = rule


class ProbeError(CamauditError):
    """A probe could not finish; the scan goes on and reports it as failed."""


class ProbeUnavailable(ProbeError):
    """A probe cannot run here (privilege, interface, extra); reported as skipped."""


class StoreError(CamauditError):
    """The history database is unreadable or from a newer camaudit."""


class StoreUnreachable(StoreError):
    """The inventory's server could not be reached; nothing about the database is known."""


class DecodeError(CamauditError, ValueError):
    """A reply is not the wire format its channel speaks; the probe logs it and moves on.

    `channel` names the wire format ("sadp", "dhip", "wsd", "ssdp", "rtsp", "onvif", "tls"),
    so one except clause serves every codec and the log still says which one refused.
    """

    def __init__(self, channel: str, message: str) -> None:
        super().__init__(message)
        self.channel = channel

"""camaudit's exceptions.

CamauditError
├── ConfigError          bad options, targets or config file (the user can fix it)
├── FingerprintError     a fingerprint file failed to load (carries path and rule id)
├── ProbeError           a probe could not finish
│   └── ProbeUnavailable missing privilege, interface or optional extra
├── StoreError           history database unreadable or from a newer version
│   └── StoreUnreachable the database server did not answer (the scan is spooled)
└── LabError             the simulated site could not be built or torn down
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


class LabError(CamauditError):
    """The simulated site could not be built or torn down."""

"""The simulator's one error type (camaudit's own errors stay in camaudit.errors)."""

from __future__ import annotations


class LabError(Exception):
    """The simulated site could not be loaded, built, served or torn down."""

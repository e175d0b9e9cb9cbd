"""Fixtures for the data-driven fingerprint tests: the shipped database, loaded leniently."""

from __future__ import annotations

import pytest

from camaudit.identify.loader import Database, lenient_database


@pytest.fixture(scope="session")
def database() -> Database:
    """Every shipped fingerprint file; problems are reported per rule rather than raised here."""
    return lenient_database()

"""Every shipped fingerprint passes the checks behind `camaudit fingerprints verify`."""

from __future__ import annotations

from operator import attrgetter

import pytest

from camaudit.identify import verify
from camaudit.identify.loader import (
    Database,
    FingerprintFile,
    Rule,
    lenient_database,
    load_database,
)
from camaudit.identify.vocabulary import fingerprints_dir

SHIPPED = lenient_database()
ALLOWED_SUFFIXES = {".toml", ".txt", ".md"}  # the wheel copies the folder verbatim


@pytest.mark.parametrize("rule", list(SHIPPED.rules()), ids=attrgetter("ref"))
def test_fingerprint_is_sound(rule: Rule, database: Database) -> None:
    """The rule passes every verify check (keys, naming, pattern, examples, shadowing, speed)."""
    assert verify.problems(rule, database) == []


@pytest.mark.parametrize("item", SHIPPED.files, ids=lambda f: f.path.name)
def test_fingerprint_file_is_readable(item: FingerprintFile, database: Database) -> None:
    """The file parses and holds at least one rule."""
    assert verify.file_problems(item, database) == []


def test_shipped_database_loads_strictly() -> None:
    """The strict loader, as the scanner uses it, accepts the shipped files."""
    load_database()


def test_fingerprints_folder_holds_only_data_files() -> None:
    """Nothing but data goes into the wheel's camaudit/fingerprints folder."""
    unexpected = [
        path
        for path in fingerprints_dir().rglob("*")
        if path.is_file() and path.suffix not in ALLOWED_SUFFIXES
    ]
    assert unexpected == []

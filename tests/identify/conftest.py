"""Helpers for engine tests: small fingerprint files under tmp_path, not the shipped data."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from camaudit.identify.loader import Database, fingerprint_paths, parse_file
from camaudit.identify.vocabulary import load_identifiers
from camaudit.models import Evidence

WriteFiles = Callable[..., Database]


@pytest.fixture
def write_db(tmp_path: Path) -> WriteFiles:
    """Write {file name: TOML text} under tmp_path and load exactly those files (leniently)."""

    def write(**files: str) -> Database:
        for name, text in files.items():
            (tmp_path / f"{name}.toml").write_text(textwrap.dedent(text), encoding="utf-8")
        files = [parse_file(p) for p in fingerprint_paths(tmp_path)]
        return Database.build(files, load_identifiers())

    return write


def ev(channel: str, value: str, *, host: str = "198.51.100.10", probe: str = "test") -> Evidence:
    """One piece of evidence for a documentation-range host (nothing is ever sent to it)."""
    return Evidence(host=IPv4Address(host), channel=channel, value=value, probe=probe)

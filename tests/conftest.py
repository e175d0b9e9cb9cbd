"""Suite-wide options; the area fixtures live in each folder's conftest."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """--update-golden rewrites tests/reports/golden/ from the current output (declared here so a
    bare `pytest --update-golden` works as well as `pytest tests/reports --update-golden`)."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/reports/golden/ instead of comparing",
    )

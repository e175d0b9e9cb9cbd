"""Suite-wide options; the area fixtures live in each folder's conftest."""

from __future__ import annotations

import os

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


# The whole-scanner tests run only inside the private namespace test_private_netns.py makes.
collect_ignore = [] if os.environ.get("CAMAUDIT_PRIVATE_NETNS") == "1" else ["private_netns"]

"""The documented exit codes and how a CamauditError becomes one line and one of them.

0 done; 1 flagged devices found with --fail-on flagged (or new to the site with --fail-on
new-flagged); 2 usage error (bad targets, options, config or input file: a ConfigError); 3 could
not do it (any other CamauditError; with --fail-on webhook|spooled, a failed webhook or a scan
only spooled); 130 interrupted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from camaudit.errors import CamauditError, ConfigError

EXIT_OK = 0
EXIT_FLAGGED = 1
EXIT_USAGE = 2
EXIT_CANNOT = 3
EXIT_INTERRUPTED = 130


class CannotDo(click.ClickException):
    """One line on stderr, exit 3: the command could not be carried out."""

    exit_code = EXIT_CANNOT


class BadInput(CannotDo):
    """One line on stderr, exit 2: the user's targets, options or input are wrong."""

    exit_code = EXIT_USAGE


def fail(error: CamauditError) -> NoReturn:
    """Leave with a one-line reason and the documented exit code."""
    raise (BadInput if isinstance(error, ConfigError) else CannotDo)(str(error))


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn a CamauditError raised inside into its one-line exit; anything else is a bug."""
    try:
        yield
    except CamauditError as exc:
        fail(exc)

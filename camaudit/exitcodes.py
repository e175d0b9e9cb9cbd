"""The documented exit codes, and which one a CamauditError leaves with.

0 done; 1 flagged devices found with --fail-on flagged (or new to the site with --fail-on
new-flagged); 2 usage error (bad targets, options, config or input file: a ConfigError); 3 could
not do it (any other CamauditError; with --fail-on webhook|spooled, a failed webhook or a scan
only spooled); 130 interrupted.
The command layer (camaudit/commands/common.py) turns an error into one line and this code.
"""

from __future__ import annotations

from camaudit.errors import CamauditError, ConfigError

EXIT_OK = 0
EXIT_FLAGGED = 1
EXIT_USAGE = 2
EXIT_CANNOT = 3
EXIT_INTERRUPTED = 130


def exit_code_for(error: CamauditError) -> int:
    """EXIT_USAGE for what the user can fix (ConfigError), EXIT_CANNOT for the rest."""
    return EXIT_USAGE if isinstance(error, ConfigError) else EXIT_CANNOT

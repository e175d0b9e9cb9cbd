"""Where `camaudit.cli:main` pointed before the command layer moved to camaudit/commands/.

Kept only so scripts and tests that import it still run; new code imports camaudit.commands.
"""

from __future__ import annotations

from camaudit.commands import main

__all__ = ["main"]

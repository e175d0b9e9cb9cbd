"""The command line, and the only home of click: one module per command group, each thin.

Options are parsed here and handed on; the work happens in the scanner, identify, reports and
the inventory, which never import click.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from camaudit import __version__

__all__ = ["main"]

# Each command's module, imported only when that command runs (or when --help lists them all):
# a scan need not pay for the report, checklist and inventory code, and the startup it saves is
# wall time on every scheduled run.
COMMANDS = {
    "scan": "camaudit.commands.scan:scan",
    "identify": "camaudit.commands.identify:identify",
    "fingerprints": "camaudit.commands.fingerprints:fingerprints_group",
    "checklist": "camaudit.commands.checklist:checklist_command",
    "report": "camaudit.commands.report:report_command",
    "history": "camaudit.commands.history:history_group",
    "policies": "camaudit.commands.policies:policies_command",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="camaudit")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv for debug).")
def main(verbose: int) -> None:
    """Find the IP cameras on a network; flag Hikvision and Dahua hardware, whatever the label."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )

"""The command line, and the only home of click: one module per command group, each thin.

Options are parsed here and handed on; the work happens in the scanner, identify, reports and
the inventory, which never import click.
"""

from __future__ import annotations

import logging
import sys

import click

from camaudit import __version__
from camaudit.commands.checklist import checklist_command
from camaudit.commands.fingerprints import fingerprints_group
from camaudit.commands.history import history_group
from camaudit.commands.identify import identify
from camaudit.commands.policies import policies_command
from camaudit.commands.report import report_command
from camaudit.commands.scan import scan

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="camaudit")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv for debug).")
def main(verbose: int) -> None:
    """Find the IP cameras on a network; flag Hikvision and Dahua hardware, whatever the label."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


main.add_command(scan)
main.add_command(identify)
main.add_command(fingerprints_group)
main.add_command(checklist_command)
main.add_command(report_command)
main.add_command(history_group)
main.add_command(policies_command)

"""PLACEHOLDER: `camaudit checklist` and `camaudit report` (being written)."""

import click


@click.command("checklist")
def checklist_command() -> None:
    """Write the removal checklist."""


@click.command("report")
def report_command() -> None:
    """Render a saved scan in another format."""

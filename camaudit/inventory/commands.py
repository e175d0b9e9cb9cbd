"""PLACEHOLDER: `camaudit history ...` (being written)."""

import click


@click.group("history")
def history_group() -> None:
    """Scans remembered in the local inventory, and what changed."""

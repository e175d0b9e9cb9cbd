"""PLACEHOLDER: `camaudit fingerprints ...` commands (being written)."""

import click


@click.group("fingerprints")
def fingerprints_group() -> None:
    """Check and try the fingerprint database."""

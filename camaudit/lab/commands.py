"""PLACEHOLDER: `camaudit lab ...` and `camaudit demo` (being written)."""

import click


@click.group("lab")
def lab_group() -> None:
    """The simulated site (root; network namespaces)."""


@click.command("demo")
def demo_command() -> None:
    """Bring up the simulated site, audit it, write reports, tear it down."""

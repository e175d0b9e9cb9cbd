"""`camaudit fingerprints verify|match`: check fingerprint files and try them on a value."""

from __future__ import annotations

from pathlib import Path

import click

from camaudit.errors import FingerprintError
from camaudit.identify import engine, verify
from camaudit.identify.loader import lenient_database, load_database
from camaudit.identify.vocabulary import CHANNELS
from camaudit.models import Evidence


@click.group("fingerprints")
def fingerprints_group() -> None:
    """Check and try the fingerprint database."""


@fingerprints_group.command("verify")
@click.argument("files", nargs=-1, type=click.Path(exists=True, path_type=Path))
def verify_command(files: tuple[Path, ...]) -> None:
    """Check fingerprint FILES (default: every shipped file); exit 1 if any problem is found."""
    lines = verify.verify_paths(files) if files else verify.verify_database(lenient_database())
    for line in lines:
        click.echo(line)
    if lines:
        click.echo(f"{len(lines)} problem(s) found", err=True)
        raise SystemExit(1)
    click.echo("all fingerprints are sound", err=True)


@fingerprints_group.command("match")
@click.argument("channel", type=click.Choice(sorted(CHANNELS)))
@click.argument("value")
@click.option(
    "--fingerprints",
    "extra",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Extra directory of fingerprint files (repeatable).",
)
def match_command(channel: str, value: str, extra: tuple[Path, ...]) -> None:
    """Show which rules match VALUE on CHANNEL, with the facts they yield (and derived matches)."""
    try:
        database = load_database(extra)
    except FingerprintError as exc:
        raise click.ClickException(str(exc)) from None
    from ipaddress import IPv4Address

    # NOTE: a placeholder address; nothing is sent anywhere.
    item = Evidence(host=IPv4Address(0), channel=channel, value=value, probe="input")
    hits = engine.match_host([item], database)
    if not hits:
        click.echo("no match")
        raise SystemExit(1)
    for hit in hits:
        match = hit.match
        via = f" (derived from {hit.via})" if hit.via else ""
        field = f" field {match.field}" if match.field else ""
        facts = ", ".join(f"{k}={v!r}" for k, v in sorted(match.facts.items()))
        click.echo(f"{match.rule}{via}{field}: confidence {match.confidence:.2f}")
        click.echo(f"    facts: {facts}")
        click.echo(f"    source: {match.source}")

"""`camaudit identify`: evidence gathered elsewhere, judged exactly as a scan judges it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from camaudit.commands.common import FORMATS, check_writable, emit, fail
from camaudit.errors import CamauditError
from camaudit.models import ScanResult


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--policy", default="uk-2022", show_default=True)
@click.option(
    "-f", "--format", "output_format", type=click.Choice(FORMATS), default="json", show_default=True
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
def identify(files: tuple[str, ...], policy: str, output_format: str, output: Path | None) -> None:
    """Judge evidence gathered elsewhere: camaudit JSON lines, nmap XML (-oX), pcap or pcapng.

    FILE... are files (gzip too) or - for standard input, told apart by their content and judged
    together. Sends nothing. Prints the same devices JSON as a scan.
    """
    from camaudit.identify.judge import judge
    from camaudit.identify.loader import load_database
    from camaudit.identify.policy import load_policy
    from camaudit.inputs import read_inputs

    started = datetime.now(UTC)
    try:
        check_writable(output)
        batch = read_inputs(files)
        chosen_policy = load_policy(policy)
        devices = judge(batch.evidence, load_database(), chosen_policy)
    except CamauditError as exc:
        fail(exc)
    for warning in batch.warnings:
        click.echo(f"warning: {warning}", err=True)
    result = ScanResult(
        started_at=started,
        finished_at=datetime.now(UTC),
        targets=(),
        policy=chosen_policy.id,
        devices=tuple(devices),
    )
    emit(result, output_format, output)

"""`camaudit identify`: observations collected elsewhere, judged exactly as a scan judges them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from ipaddress import IPv4Address
from pathlib import Path
from typing import IO, Any

import click

from camaudit.commands.common import FORMATS, check_writable, emit, fail
from camaudit.errors import CamauditError, ConfigError
from camaudit.models import MAX_VALUE_CHARS, Evidence, ScanResult


@click.command()
@click.argument("source", type=click.File("r", encoding="utf-8", errors="replace"))
@click.option("--policy", default="uk-2022", show_default=True)
@click.option(
    "-f", "--format", "output_format", type=click.Choice(FORMATS), default="json", show_default=True
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
def identify(source: IO[str], policy: str, output_format: str, output: Path | None) -> None:
    """Judge observations collected elsewhere: JSON lines {"host", "channel", "value"[, "port"]}.

    SOURCE is a file or - for standard input. Prints the same devices JSON as a scan.
    """
    from camaudit.identify.judge import judge
    from camaudit.identify.loader import load_database
    from camaudit.identify.policy import load_policy

    started = datetime.now(UTC)
    try:
        check_writable(output)
        evidence = list(read_observations(source))
        chosen_policy = load_policy(policy)
        devices = judge(evidence, load_database(), chosen_policy)
    except CamauditError as exc:
        fail(exc)
    result = ScanResult(
        started_at=started,
        finished_at=datetime.now(UTC),
        targets=(),
        policy=chosen_policy.id,
        devices=tuple(devices),
    )
    emit(result, output_format, output)


def read_observations(lines: IO[str]) -> list[Evidence]:
    """Parse observation JSON lines; a bad line is a one-line ConfigError naming its number."""
    evidence: list[Evidence] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise TypeError("not a JSON object")
            port = item.get("port")
            evidence.append(
                Evidence(
                    host=IPv4Address(str(item["host"])),
                    channel=_required_text(item, "channel"),
                    value=_required_text(item, "value")[:MAX_VALUE_CHARS],
                    probe="input",
                    port=int(port) if port is not None else None,
                )
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(
                f"line {number}: not an observation ({type(exc).__name__}: {exc})"
            ) from None
    return evidence


def _required_text(item: dict[str, Any], key: str) -> str:
    value = item[key]
    if not isinstance(value, str):
        raise TypeError(f"{key!r} must be a string")
    return value

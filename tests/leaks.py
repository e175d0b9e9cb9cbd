"""Shared by the credential tests: a loopback `camaudit scan` of one device, and the check that
no byte camaudit wrote (output, logs, report, inventory) holds a secret."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from camaudit.commands import main


def scan_one(
    address: str, port: int, probes: Sequence[str], report: Path, db: Path, env: dict[str, str]
) -> Result:
    """`camaudit -vv scan` of one loopback device's web port (HTTPS off), JSON into `report`."""
    probe_args = [arg for probe in probes for arg in ("--probe", probe)]
    return CliRunner().invoke(
        main,
        [
            "-vv",
            "scan",
            address,
            *probe_args,
            "--http-port",
            str(port),
            "--https-port",
            "1",
            "--listen",
            "0.3",
            "-f",
            "json",
            "-o",
            str(report),
            "--db",
            str(db),
        ],  # fmt: skip
        env=env,
    )


def written_by(
    result: Result, caplog: pytest.LogCaptureFixture, report: Path, db: Path
) -> dict[str, str]:
    """Everything a scan wrote, by name: its output, its logs, the report and the inventory."""
    return {
        "stdout": result.stdout,
        "stderr": result.stderr,
        "logs": caplog.text,
        "report": report.read_text(encoding="utf-8"),
        "inventory": db.read_bytes().decode("latin-1"),
    }


def assert_nowhere(secrets: Iterable[str], written: Mapping[str, str]) -> None:
    """Fails naming the first place a secret was written."""
    for secret in secrets:
        for name, blob in written.items():
            assert secret not in blob, f"a password leaked into the {name}"

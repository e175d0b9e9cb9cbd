"""ONVIF credentials from the environment are used once and appear nowhere: not in output, logs,
the JSON report or the inventory database (and the CLI has no option to pass them in argv)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from click.testing import CliRunner

from camaudit.cli import main
from tests.probes.responders_onvif import OnvifDevice

CAMERA = "127.0.0.63"
PASSWORD = "s3cret-Only-In-Env-7f1c"  # noqa: S105 - a test device's password


@pytest.fixture
def onvif_device() -> Iterator[tuple[OnvifDevice, int]]:
    """An ONVIF device that refuses GetDeviceInformation without a valid token, in a thread."""
    device = OnvifDevice(auth="digest-401", password=PASSWORD)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    state: dict[str, object] = {}

    async def serve() -> None:
        runner = web.AppRunner(device.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, CAMERA, 0)
        await site.start()
        state["runner"] = runner
        state["port"] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # noqa: SLF001
        started.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(serve(), loop)
    assert started.wait(10)
    try:
        yield device, int(state["port"])  # type: ignore[call-overload]
    finally:
        runner = state["runner"]
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)  # type: ignore[attr-defined]
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_the_password_is_used_once_and_found_nowhere(
    onvif_device: tuple[OnvifDevice, int], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One authenticated GetDeviceInformation works; no byte camaudit wrote holds the password."""
    caplog.set_level(logging.DEBUG)
    device, port = onvif_device
    report, db = tmp_path / "scan.json", tmp_path / "inventory.sqlite3"
    result = CliRunner().invoke(
        main,
        [
            "-vv",
            "scan",
            CAMERA,
            "--probe",
            "onvif",
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
        env={"CAMAUDIT_ONVIF_USER": "admin", "CAMAUDIT_ONVIF_PASSWORD": PASSWORD},
    )
    assert result.exit_code == 0, result.stderr
    assert device.accepted_tokens == 1
    (found,) = json.loads(report.read_text())["devices"]
    assert "onvif.device_information" in {item["channel"] for item in found["evidence"]}
    written = {
        "stdout": result.stdout,
        "stderr": result.stderr,
        "logs": caplog.text,
        "report": report.read_text(),
        "inventory": db.read_bytes().decode("latin-1"),
    }
    for name, blob in written.items():
        assert PASSWORD not in blob, f"the password leaked into the {name}"


def test_there_is_no_way_to_pass_a_password_on_the_command_line() -> None:
    """Passwords on argv end up in shell history and `ps`: the CLI offers no such option."""
    help_text = CliRunner().invoke(main, ["scan", "--help"]).stdout.lower()
    assert "--password" not in help_text
    assert "--onvif-credentials" in help_text  # a 0600 file instead

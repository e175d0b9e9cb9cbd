"""The HTML report in a real headless Chromium: no requests, no console errors, escaped, responsive.

Chromium only ever loads a file:// URL; DNS is mapped to NOTFOUND and background networking is
off, and the test asserts that no request other than file:// was even attempted.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from report_samples import HOSTILE_MODEL

from camaudit.models import ScanResult
from camaudit.reports import as_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
STARTUP_S = 20.0  # a cold Chromium start on a CI box can take several seconds
LOAD_S = 15.0

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (the Makefile installs it)"
)


class DevTools:
    """The few Chrome DevTools Protocol calls this test needs, over one page websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        call_id = self.next_id
        await self.ws.send_json({"id": call_id, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json(timeout=LOAD_S)
            if message.get("id") == call_id:
                assert "error" not in message, message
                return dict(message.get("result", {}))
            self.events.append(message)

    async def wait_for(self, event: str, since: int = 0) -> None:
        """Wait for an event, counting only those after events[since]."""
        if any(e.get("method") == event for e in self.events[since:]):
            return
        while True:
            message = await self.ws.receive_json(timeout=LOAD_S)
            self.events.append(message)
            if message.get("method") == event:
                return

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")


@asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[DevTools]:
    """A headless Chromium on a blank page, driven over DevTools on a loopback port."""
    assert CHROMIUM is not None
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-default-apps", "--disable-extensions", "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0", "about:blank",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        browser_ws = await asyncio.wait_for(_devtools_url(process), STARTUP_S)
        port = browser_ws.split("/")[2]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://{port}/json/list") as reply:
                pages = [t for t in await reply.json() if t["type"] == "page"]
            async with session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                yield DevTools(ws)
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _devtools_url(process: asyncio.subprocess.Process) -> str:
    assert process.stderr is not None
    while line := await process.stderr.readline():
        text = line.decode(errors="replace")
        if "DevTools listening on " in text:
            return text.split("DevTools listening on ", 1)[1].strip()
    raise AssertionError("chromium exited before opening DevTools")


@pytest.fixture
def report_file(scan_result: ScanResult, tmp_path: Path) -> Path:
    path = tmp_path / "report.html"
    path.write_text(as_html.render(scan_result), encoding="utf-8")
    return path


async def test_report_renders_offline_and_escaped(report_file: Path, tmp_path: Path) -> None:
    """Loads with zero non-file requests and zero console errors; the XSS name shows as text."""
    async with chromium(tmp_path / "profile") as page:
        for domain in ("Network", "Runtime", "Log", "Page"):
            await page.call(f"{domain}.enable")
        await page.call("Emulation.setDeviceMetricsOverride", width=1280, height=2000,
                        deviceScaleFactor=1, mobile=False)  # fmt: skip
        await page.call("Page.navigate", url=report_file.as_uri())
        await page.wait_for("Page.loadEventFired")

        assert await page.evaluate("document.querySelectorAll('img, script').length") == 0
        assert HOSTILE_MODEL in await page.evaluate("document.body.innerText")
        assert await page.evaluate("document.querySelectorAll('svg rect').length") == 3
        shot = await page.call("Page.captureScreenshot", format="png")
        await asyncio.to_thread(_save_png, ARTIFACTS / "report.png", shot["data"])

        # Phone width: the device table turns into cards and nothing scrolls sideways.
        await page.call("Emulation.setDeviceMetricsOverride", width=375, height=800,
                        deviceScaleFactor=2, mobile=True)  # fmt: skip
        before_reload = len(page.events)
        await page.call("Page.reload")
        await page.wait_for("Page.loadEventFired", since=before_reload)
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        shot = await page.call("Page.captureScreenshot", format="png")
        await asyncio.to_thread(_save_png, ARTIFACTS / "report-phone.png", shot["data"])

    requests = [e["params"]["request"]["url"] for e in page.events
                if e.get("method") == "Network.requestWillBeSent"]  # fmt: skip
    assert requests, "the page load itself should have been seen"
    assert [url for url in requests if not url.startswith("file://")] == []
    errors = [
        e
        for e in page.events
        if (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")
        or e.get("method") == "Runtime.exceptionThrown"
        or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
    ]
    assert errors == [], json.dumps(errors)[:2000]


def _save_png(path: Path, data: str) -> None:
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(base64.b64decode(data))

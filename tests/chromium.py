"""Headless Chromium driven over the DevTools protocol, for the report and checklist tests.

Chromium only ever loads file:// URLs here: DNS is mapped to NOTFOUND and background networking
is off; DevTools listens on a loopback port.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
STARTUP_S = 20.0  # a cold Chromium start on a CI box can take several seconds
LOAD_S = 15.0

needs_chromium = pytest.mark.skipif(
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

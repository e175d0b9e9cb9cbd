"""The HTML report in a real headless Chromium: no requests, no console errors, escaped, responsive.

Chromium only ever loads a file:// URL; DNS is mapped to NOTFOUND and background networking is
off, and the test asserts that no request other than file:// was even attempted.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest
from report_samples import HOSTILE_MODEL

from camaudit.models import ScanResult
from camaudit.reports import as_html
from tests.chromium import ARTIFACTS, chromium, needs_chromium

pytestmark = needs_chromium


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

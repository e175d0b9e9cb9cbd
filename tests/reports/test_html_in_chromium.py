"""The HTML report in a real headless Chromium: no requests, no console errors, escaped, responsive.

Chromium only ever loads a file:// URL; DNS is mapped to NOTFOUND and background networking is
off, and the test asserts that no request other than file:// was even attempted.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

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

        assert await page.evaluate("document.querySelectorAll('img').length") == 0
        # One script, ours (sort and filter); the CSP's hash let it run: the filters show.
        assert await page.evaluate("document.querySelectorAll('script').length") == 1
        assert await page.evaluate("document.getElementById('filters').hidden") is False
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
    assert _errors(page.events) == [], json.dumps(_errors(page.events))[:2000]


def _errors(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        e
        for e in events
        if (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")
        or e.get("method") == "Runtime.exceptionThrown"
        or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
    ]


SHOWN_IPS = (
    "Array.from(document.querySelectorAll('table.devices tbody tr'))"
    ".filter(r => !r.hidden).map(r => r.cells[0].textContent)"
)


async def test_a_manager_sorts_filters_and_expands_in_chromium(
    report_file: Path, tmp_path: Path
) -> None:
    """Clicking a heading sorts (again: reverses); the filters hide rows and say how many are
    shown; the view survives a reload through the URL fragment; evidence opens per device."""
    async with chromium(tmp_path / "profile") as page:
        for domain in ("Runtime", "Log", "Page"):
            await page.call(f"{domain}.enable")
        await page.call("Page.navigate", url=report_file.as_uri())
        await page.wait_for("Page.loadEventFired")
        # The report's own order: flagged first, then by address.
        report_order = ["198.51.100.7", "198.51.100.20", "198.51.100.30", "198.51.101.4"]
        assert await page.evaluate(SHOWN_IPS) == report_order
        click = "document.querySelector('th[data-key=\"{}\"] button').click()"
        await page.evaluate(click.format("maker"))  # by display name; ties keep report order
        assert await page.evaluate(SHOWN_IPS) == [
            "198.51.101.4", "198.51.100.7", "198.51.100.30", "198.51.100.20",
        ]  # fmt: skip
        await page.evaluate(click.format("ip"))  # numeric: .7 before .20, unlike text order
        assert await page.evaluate(SHOWN_IPS) == report_order
        await page.evaluate(click.format("ip"))  # again: reversed
        assert await page.evaluate(SHOWN_IPS) == report_order[::-1]
        assert (
            await page.evaluate(
                "document.querySelector('th[data-key=\"ip\"]').getAttribute('aria-sort')"
            )
            == "descending"
        )

        await page.evaluate(
            "const f = document.getElementById('filters'); f.elements.vulnerable.checked = true;"
            "f.dispatchEvent(new Event('input', {bubbles: true}))"
        )
        assert await page.evaluate(SHOWN_IPS) == ["198.51.100.7"]
        assert await page.evaluate("document.getElementById('shown').textContent") == (
            "1 of 4 devices shown"
        )
        before = len(page.events)
        await page.call("Page.reload")
        await page.wait_for("Page.loadEventFired", since=before)
        assert await page.evaluate("location.hash") == "#sort=-ip&vulnerable=1"
        assert await page.evaluate(SHOWN_IPS) == ["198.51.100.7"]

        await page.evaluate(
            "const g = document.getElementById('filters'); g.elements.vulnerable.checked = false;"
            "g.elements.maker.value = 'axis'; g.dispatchEvent(new Event('input', {bubbles: true}))"
        )
        assert await page.evaluate(SHOWN_IPS) == ["198.51.101.4"]
        axis_details = "document.querySelector('tr[data-maker=\"axis\"] details')"
        assert await page.evaluate(axis_details + ".open") is False
        await page.evaluate(axis_details + ".querySelector('summary').click()")
        assert await page.evaluate(axis_details + ".open") is True
    assert _errors(page.events) == [], json.dumps(_errors(page.events))[:2000]


def _save_png(path: Path, data: str) -> None:
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(base64.b64decode(data))

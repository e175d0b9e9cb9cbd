"""The new-flagged webhook: one JSON POST per scan that found flagged units its site lacked.

Bounded: each attempt has a timeout, there are a few retries with a short pause, redirects are
not followed and at most a few KiB of the answer are read. A failure is returned, never raised,
so it cannot cost the scan its result.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from camaudit import __version__

log = logging.getLogger(__name__)

EVENT = "camaudit.new_flagged"
RETRY_PAUSE_S = 1.0
MAX_ANSWER_BYTES = 4096


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """How a webhook POST went."""

    ok: bool
    attempts: int
    detail: str


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # NOTE: urllib would re-send a redirected POST as a GET elsewhere; a webhook answers itself.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def new_flagged_event(
    *, site: str | None, scan_id: int | None, scan_uid: str, started_at: str,
    devices: list[dict[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    """The event body: which site, which scan, and each new flagged device with its evidence."""
    return {
        "event": EVENT,
        "camaudit_version": __version__,
        "site": site,
        "scan_id": scan_id,
        "scan_uid": scan_uid,
        "started_at": started_at,
        "devices": devices,
    }


def _attempt(url: str, body: bytes, timeout_s: float) -> str | None:
    """None on a 2xx answer, else why not."""
    request = urllib.request.Request(  # noqa: S310 - the URL was checked to be http(s)
        url, data=body, method="POST",
        headers={"Content-Type": "application/json", "User-Agent": f"camaudit/{__version__}"},
    )  # fmt: skip
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=timeout_s) as answer:
            answer.read(MAX_ANSWER_BYTES)
            return None
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{type(exc).__name__}: {reason}"


def post_event(url: str, event: dict[str, Any], *, timeout_s: float, retries: int) -> Delivery:
    """POST the event, retrying on failure; what happened."""
    body = json.dumps(event, ensure_ascii=True).encode("ascii")
    problem: str | None = "not tried"
    attempts = 0
    for attempts in range(1, retries + 2):
        problem = _attempt(url, body, timeout_s)
        if problem is None:
            return Delivery(ok=True, attempts=attempts, detail="delivered")
        log.info("webhook attempt %d failed: %s", attempts, problem)
        if attempts <= retries:
            time.sleep(RETRY_PAUSE_S)
    return Delivery(ok=False, attempts=attempts, detail=str(problem))

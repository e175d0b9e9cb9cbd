"""Probe tests: every context that took a per-scan resource is closed after its test, as the
scanner does with `await ctx.aclose()` when a scan ends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from camaudit.probes.base import ProbeContext


@pytest.fixture(autouse=True)
async def close_probe_contexts(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Await aclose() on each context a probe hung a resource on (e.g. the HTTP session)."""
    used: list[ProbeContext] = []
    register = ProbeContext.add_closer

    def recording(self: ProbeContext, closer: Callable[[], Awaitable[None]]) -> None:
        if not any(ctx is self for ctx in used):
            used.append(self)
        register(self, closer)

    monkeypatch.setattr(ProbeContext, "add_closer", recording)
    yield
    for ctx in used:
        await ctx.aclose()

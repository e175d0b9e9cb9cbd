"""PLACEHOLDER: replaced by the real dhip probe (being written)."""

from __future__ import annotations

from typing import ClassVar

from camaudit.errors import ProbeUnavailable
from camaudit.models import Evidence
from camaudit.probes.base import DiscoveryProbe, HostTarget, ProbeContext


class DhipProbe(DiscoveryProbe):
    """Placeholder."""

    name: ClassVar[str] = "dhip"

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        raise ProbeUnavailable("dhip: not built yet")

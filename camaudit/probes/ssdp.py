"""PLACEHOLDER: replaced by the real ssdp probe (being written)."""

from __future__ import annotations

from typing import ClassVar

from camaudit.errors import ProbeUnavailable
from camaudit.models import Evidence
from camaudit.probes.base import DiscoveryProbe, HostTarget, ProbeContext


class SsdpProbe(DiscoveryProbe):
    """Placeholder."""

    name: ClassVar[str] = "ssdp"

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        raise ProbeUnavailable("ssdp: not built yet")

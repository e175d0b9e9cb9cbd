"""PLACEHOLDER: replaced by the real arp probe (being written)."""

from __future__ import annotations

from typing import ClassVar

from camaudit.errors import ProbeUnavailable
from camaudit.models import Evidence
from camaudit.probes.base import DiscoveryProbe, HostTarget, ProbeContext


class ArpProbe(DiscoveryProbe):
    """Placeholder."""

    name: ClassVar[str] = "arp"

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        raise ProbeUnavailable("arp: not built yet")

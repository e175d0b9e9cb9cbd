"""PLACEHOLDER: replaced by the real sadp probe (being written)."""

from __future__ import annotations

from typing import ClassVar

from camaudit.errors import ProbeUnavailable
from camaudit.models import Evidence
from camaudit.probes.base import DiscoveryProbe, HostTarget, ProbeContext


class SadpProbe(DiscoveryProbe):
    """Placeholder."""

    name: ClassVar[str] = "sadp"

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        raise ProbeUnavailable("sadp: not built yet")

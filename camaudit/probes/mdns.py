"""PLACEHOLDER: replaced by the real mdns probe (being written)."""

from __future__ import annotations

from typing import ClassVar

from camaudit.errors import ProbeUnavailable
from camaudit.models import Evidence
from camaudit.probes.base import DiscoveryProbe, HostTarget, ProbeContext


class MdnsProbe(DiscoveryProbe):
    """Placeholder."""

    name: ClassVar[str] = "mdns"

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        raise ProbeUnavailable("mdns: not built yet")

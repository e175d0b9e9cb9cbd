"""PLACEHOLDER: replaced by the real wsdiscovery probe (being written)."""

from __future__ import annotations

from typing import ClassVar

from camaudit.errors import ProbeUnavailable
from camaudit.models import Evidence
from camaudit.probes.base import DiscoveryProbe, HostTarget, ProbeContext


class WsDiscoveryProbe(DiscoveryProbe):
    """Placeholder."""

    name: ClassVar[str] = "wsdiscovery"

    async def discover(self, ctx: ProbeContext) -> list[Evidence]:
        raise ProbeUnavailable("wsdiscovery: not built yet")

"""PLACEHOLDER: replaced by the real onvif probe (being written)."""

from __future__ import annotations

from typing import ClassVar

from camaudit.errors import ProbeUnavailable
from camaudit.models import Evidence
from camaudit.probes.base import HostProbe, HostTarget, ProbeContext


class OnvifProbe(HostProbe):
    """Placeholder."""

    name: ClassVar[str] = "onvif"

    async def probe(self, host: HostTarget, ctx: ProbeContext) -> list[Evidence]:
        raise ProbeUnavailable("onvif: not built yet")

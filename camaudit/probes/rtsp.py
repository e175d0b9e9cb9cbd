"""PLACEHOLDER: replaced by the real rtsp probe (being written)."""

from __future__ import annotations

from typing import ClassVar

from camaudit.errors import ProbeUnavailable
from camaudit.models import Evidence
from camaudit.probes.base import HostProbe, HostTarget, ProbeContext


class RtspProbe(HostProbe):
    """Placeholder."""

    name: ClassVar[str] = "rtsp"

    async def probe(self, host: HostTarget, ctx: ProbeContext) -> list[Evidence]:
        raise ProbeUnavailable("rtsp: not built yet")

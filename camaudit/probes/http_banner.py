"""PLACEHOLDER: replaced by the real http_banner probe (being written)."""

from __future__ import annotations

from typing import ClassVar

from camaudit.errors import ProbeUnavailable
from camaudit.models import Evidence
from camaudit.probes.base import HostProbe, HostTarget, ProbeContext


class HttpBannerProbe(HostProbe):
    """Placeholder."""

    name: ClassVar[str] = "http_banner"

    async def probe(self, host: HostTarget, ctx: ProbeContext) -> list[Evidence]:
        raise ProbeUnavailable("http_banner: not built yet")

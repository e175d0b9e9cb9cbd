"""PLACEHOLDER: replaced by the real vendor_http probe (being written)."""

from __future__ import annotations

from typing import ClassVar

from camaudit.errors import ProbeUnavailable
from camaudit.models import Evidence
from camaudit.probes.base import HostProbe, HostTarget, ProbeContext


class VendorHttpProbe(HostProbe):
    """Placeholder."""

    name: ClassVar[str] = "vendor_http"

    async def probe(self, host: HostTarget, ctx: ProbeContext) -> list[Evidence]:
        raise ProbeUnavailable("vendor_http: not built yet")

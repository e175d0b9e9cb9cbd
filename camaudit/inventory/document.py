"""The scan document as the inventory keeps it (database rows, spool files, webhook events)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from camaudit import scanfile
from camaudit.models import Device, ScanResult


def encode_scan(result: ScanResult) -> str:
    """A scan as the compact JSON text the inventory and the spool keep (camaudit.scanfile)."""
    return json.dumps(scanfile.to_dict(result), ensure_ascii=True, separators=(",", ":"))


def decode_scan(text: str) -> ScanResult:
    """A scan back from its JSON text; ConfigError when it is not one (camaudit.scanfile)."""
    return scanfile.loads(text)


def device_documents(devices: Sequence[Device]) -> list[dict[str, Any]]:
    """Devices as the scan document shows them (evidence included), in the given order."""
    return [scanfile.to_dict(_holder(device))["devices"][0] for device in devices]


def _holder(device: Device) -> ScanResult:
    moment = datetime.fromtimestamp(0, UTC)
    return ScanResult(
        started_at=moment, finished_at=moment, targets=(), policy="", devices=(device,)
    )

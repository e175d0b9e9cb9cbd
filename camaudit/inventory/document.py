"""The scan document as the inventory keeps it (database rows, spool files, webhook events)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from camaudit.errors import ConfigError
from camaudit.models import Device, ScanResult


def scan_codec() -> ModuleType:
    """The camaudit.scan/1 codec (to_dict/from_dict): the one place the inventory names it."""
    from camaudit.reports import as_json

    return as_json


def encode_scan(result: ScanResult) -> str:
    """A scan as the JSON text the inventory and the spool keep."""
    return json.dumps(scan_codec().to_dict(result), ensure_ascii=True, separators=(",", ":"))


def decode_scan(text: str) -> ScanResult:
    """A scan back from its JSON text; ConfigError when it is not one."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError("not a camaudit scan document")
    result: ScanResult = scan_codec().from_dict(data)
    return result


def device_documents(devices: Sequence[Device]) -> list[dict[str, Any]]:
    """Devices as the scan document shows them (evidence included), in the given order."""
    codec = scan_codec()
    return [codec.to_dict(_holder(device))["devices"][0] for device in devices]


def _holder(device: Device) -> ScanResult:
    moment = datetime.fromtimestamp(0, UTC)
    return ScanResult(
        started_at=moment, finished_at=moment, targets=(), policy="", devices=(device,)
    )

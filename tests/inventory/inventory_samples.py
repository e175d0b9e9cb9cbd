"""Small scans for inventory tests."""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import IPv4Address

from camaudit.models import Device, ScanResult, Verdict


def device(
    ip: str,
    *,
    mac: str | None = None,
    serial: str | None = None,
    maker: str = "hikvision",
    model: str = "DS-2CD2042WD",
    firmware: str = "V5.4.0",
    flagged: bool = True,
) -> Device:
    """A device with just the fields the inventory cares about."""
    return Device(
        ip=IPv4Address(ip), mac=mac, serial=serial, maker=maker, model=model, firmware=firmware,
        flagged=flagged, verdict=Verdict.CONFIRMED, confidence=0.9,
    )  # fmt: skip


def scan(day: int, *devices: Device, site: str = "HQ") -> ScanResult:
    """A scan on 2024-05-<day>."""
    return ScanResult(
        started_at=datetime(2024, 5, day, 9, tzinfo=UTC),
        finished_at=datetime(2024, 5, day, 9, 1, tzinfo=UTC),
        targets=("198.51.100.0/24",),
        policy="us-ndaa-889",
        site=site,
        devices=devices,
    )

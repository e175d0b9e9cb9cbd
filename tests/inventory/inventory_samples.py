"""Small scans for inventory tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

from camaudit import scanfile
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


# A real scan document: `camaudit scan 198.51.100.0/24 --site HQ -f json` run inside the lab's
# self-test site (7 devices, 4 flagged). Tests re-date it and re-site it.
REAL_SCAN = Path(__file__).parent / "data" / "selftest-scan.json"
WEEK = timedelta(days=7)
REMOVED_IP = "198.51.100.11"  # the Dahua bullet, taken down
MOVED_IP, MOVED_TO = "198.51.100.12", "198.51.100.112"  # the Lorex (Dahua OEM), re-addressed
ADDED_IP = "198.51.100.50"  # a second Hikvision dome, newly put up


def real_scan(site: str | None = "HQ", *, later: timedelta = timedelta(0)) -> ScanResult:
    """The lab scan, for `site`, `later` after it was taken."""
    result = scanfile.load(REAL_SCAN)
    return replace(result, site=site, started_at=result.started_at + later,
                   finished_at=result.finished_at + later)  # fmt: skip


def week_later(result: ScanResult) -> ScanResult:
    """A week on: one device removed, one moved to another address, one new flagged unit."""
    by_ip = {str(d.ip): d for d in result.devices}
    dome = by_ip["198.51.100.10"]
    added = replace(dome, ip=IPv4Address(ADDED_IP), mac="58:50:ed:77:00:50", serial="DS-NEW-50")
    devices = [replace(d, ip=IPv4Address(MOVED_TO)) if str(d.ip) == MOVED_IP else d
               for d in result.devices if str(d.ip) != REMOVED_IP]  # fmt: skip
    return replace(result, devices=(*devices, added), started_at=result.started_at + WEEK,
                   finished_at=result.finished_at + WEEK)  # fmt: skip

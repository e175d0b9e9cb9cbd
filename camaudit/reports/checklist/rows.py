"""The checklist's rows: their columns, and building them from a scan (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from ipaddress import IPv4Address
from typing import Any

from camaudit.errors import ConfigError
from camaudit.identify.decode import recorder_channel_fields
from camaudit.identity import device_key
from camaudit.models import AdvisoryStatus, Device, ScanResult, Verdict
from camaudit.reports.base import (
    humane_evidence,
    maker_name,
    short_date,
    strongest_evidence,
    subnet_of,
    verdict_text,
)
from camaudit.scanfile import order_devices
from camaudit.untrusted import clean_text

FORMATS = ("csv", "xlsx", "md", "html")
STATUSES = ("to do", "removed", "replaced", "verified not covered", "cannot access")
RECORDER_TYPES = frozenset({"nvr", "dvr", "xvr", "recorder"})
# Makers flagged by every policy camaudit ships; a "possible" device from one of them is worth
# a look on site even when the policy did not flag it outright.
DEFAULT_FLAGGED_MAKERS = frozenset({"hikvision", "dahua"})
MAIN_SHEET = "Checklist"
VERIFY_SHEET = "Verify on site"


class ChecklistError(ConfigError):
    """An existing checklist file cannot be read, so it must not be overwritten."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One line of the checklist; the last four fields belong to staff and survive rescans."""

    item: int | None
    site: str = ""
    location: str = ""
    subnet: str = ""
    recorder: str = ""
    ip: str = ""
    mac: str = ""
    maker: str = ""
    brand: str = ""
    model: str = ""
    serial: str = ""
    firmware: str = ""
    first_seen: str = ""
    last_seen: str = ""
    verdict: str = ""
    evidence: str = ""
    vulnerabilities: str = ""
    cameras: str = ""  # a recorder's: the cameras behind it, read or not
    policy_rule: str = ""
    action: str = ""
    status: str = STATUSES[0]
    notes: str = ""
    sign_off: str = ""


# Column headings in file order, paired with the Row field each one holds.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("item", "item"), ("site", "site"), ("location", "location"), ("subnet", "subnet"),
    ("recorder", "recorder"), ("IP", "ip"), ("MAC", "mac"), ("maker", "maker"),
    ("brand", "brand"), ("model", "model"), ("serial", "serial"), ("firmware", "firmware"),
    ("first seen", "first_seen"), ("last seen", "last_seen"),
    ("verdict and confidence", "verdict"), ("evidence", "evidence"),
    ("known vulnerabilities", "vulnerabilities"), ("cameras behind it", "cameras"),
    ("policy rule and source", "policy_rule"),
    ("action", "action"), ("status", "status"), ("notes", "notes"), ("sign-off", "sign_off"),
)  # fmt: skip
HEADINGS = tuple(heading for heading, _ in COLUMNS)
# Columns added after checklists were already in use: an older file without them still reads.
LATER_HEADINGS = frozenset({"known vulnerabilities", "cameras behind it"})
STAFF_FIELDS = ("location", "status", "notes", "sign_off")
assert {name for _, name in COLUMNS} == {f.name for f in fields(Row)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Checklist:
    """The to-do list of flagged devices and the separate verify-on-site list."""

    rows: tuple[Row, ...] = ()
    verify: tuple[Row, ...] = ()
    site: str = ""
    generated: str = ""
    policy: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)


def cells(row: Row) -> list[str]:
    """The row's cells as text, in column order."""
    return ["" if getattr(row, name) is None else str(getattr(row, name)) for _, name in COLUMNS]


def _action(device: Device) -> str:
    if device.verdict is Verdict.POSSIBLE:
        return "verify on site"
    # A recorder holds every camera's footage, so it is replaced rather than just pulled out.
    if (device.device_type or "").lower() in RECORDER_TYPES:
        return "replace"
    return "remove"


def _policy_rule(result: ScanResult, device: Device) -> str:
    reason = clean_text(device.flag_reason)
    policy = clean_text(result.policy)
    return f"{policy}: {reason}" if reason else policy


def _cameras(device: Device) -> str:
    if (device.device_type or "").lower() not in RECORDER_TYPES and not device.attached:
        return ""
    if not device.channels_read:
        return (
            "channels not read: cameras on its own ports are not visible from the network; "
            "list them on site"
        )
    flagged = sum(1 for camera in device.attached if camera.flagged)
    return f"{len(device.attached)} listed by the recorder, {flagged} flagged (rows below)"


def _row(
    result: ScanResult,
    device: Device,
    site: str,
    seen: Mapping[str, tuple[str, str]],
    recorder: Device | None = None,
) -> Row:
    """A device's row; a camera behind `recorder` is placed in the recorder's subnet, under it."""
    scanned = short_date(result.started_at)
    first, last = seen.get(device_key(device), (scanned, scanned))
    on_recorder = "" if recorder is None else _on_recorder(recorder, device)
    return Row(
        item=None,
        site=site,
        subnet=subnet_of(recorder.ip if recorder is not None else device.ip),
        recorder=on_recorder,
        ip=str(device.ip),
        mac=clean_text(device.mac),
        maker=maker_name(device.maker),
        brand=clean_text(device.brand),
        model=clean_text(device.model),
        serial=clean_text(device.serial),
        firmware=clean_text(device.firmware),
        first_seen=first,
        last_seen=last,
        verdict=verdict_text(device),
        evidence="; ".join(paper_evidence(device)),
        vulnerabilities=vulnerabilities_text(device),
        cameras=_cameras(device),
        policy_rule=_policy_rule(result, device),
        action=_action(device),
    )


def paper_evidence(device: Device, limit: int = 2) -> list[str]:
    """The strongest evidence as a person reads it, each line once; a structured reply whose
    rule read no facts from it ("SADP reply: answered") only when nothing better was seen."""
    printed = {"model": device.model, "serial": device.serial, "firmware": device.firmware}
    lines = list(
        dict.fromkeys(
            humane_evidence(item, printed=printed) for item in strongest_evidence(device, 6)
        )
    )
    telling = [line for line in lines if not line.endswith(": answered")]
    return (telling or lines)[:limit]


def vulnerabilities_text(device: Device) -> str:
    """The published vulnerabilities that may concern the device, in one cell, each with its
    first link; "firmware unknown" when none can be ruled in or out."""
    parts = []
    for advisory in device.advisories:
        exploited = "exploited, " if advisory.known_exploited else ""
        link = advisory.links.get("nvd") or next(iter(advisory.links.values()), "")
        parts.append(f"{advisory.id} ({exploited}{advisory.status.value}) {link}".strip())
    return "; ".join(parts)


def removal_priority(device: Device) -> int:
    """0: its firmware has a known-exploited vulnerability; 1: another published one; 2: none
    known. Those go first: they are the units an attacker may already be using."""
    affected = [a for a in device.advisories if a.status is AdvisoryStatus.AFFECTED]
    if any(a.known_exploited for a in affected):
        return 0
    return 1 if affected else 2


def _on_recorder(recorder: Device, camera: Device) -> str:
    """Where a camera behind a recorder is: "<recorder> channel <n>", with the channel's name as
    the recorder calls it (often the place: "Loading bay"), which helps find it on site."""
    place = f"{recorder.ip} channel {camera.recorder_channel}"
    names = (
        recorder_channel_fields(item.value).get("name")
        for item in camera.evidence
        if item.channel == "recorder.channel"
    )
    name = next((clean_text(n) for n in names if isinstance(n, str) and clean_text(n)), "")
    return f"{place} ({name})" if name else place


def _group_key(row: Row) -> tuple[Any, ...]:
    """Site, subnet, then each recorder followed by the cameras behind it, by channel."""
    recorder_ip, _, rest = row.recorder.partition(" channel ")
    channel = rest.split(" ", 1)[0]
    anchor = IPv4Address(recorder_ip) if recorder_ip else IPv4Address(row.ip)
    behind = (1, int(channel)) if channel.isdigit() else (0, 0)
    return (row.site, IPv4Address(row.subnet.split("/")[0]), anchor, behind, IPv4Address(row.ip))


def _in_walking_order(ranked: list[tuple[int, Row]]) -> list[Row]:
    """Known-exploited firmware first; then by site, subnet, recorder and address, as walked."""
    return [row for _, row in sorted(ranked, key=lambda pair: (pair[0], _group_key(pair[1])))]


def needs_verifying(device: Device, flagged_makers: Iterable[str]) -> bool:
    """A `possible` device from a flagged maker: someone should look at it."""
    return device.verdict is Verdict.POSSIBLE and (
        device.flagged or (device.maker or "").lower() in set(flagged_makers)
    )


def build(
    result: ScanResult,
    *,
    site: str | None = None,
    seen: Mapping[str, tuple[datetime, datetime]] | None = None,
) -> Checklist:
    """A fresh checklist, grouped by site, subnet, recorder, then IP, numbered from 1.

    `seen` maps `device_key(device)` to first/last sighting (from the inventory); without it
    both dates are the scan's.
    """
    site_name = clean_text(site or result.site)
    seen_dates = {k: (short_date(a), short_date(b)) for k, (a, b) in (seen or {}).items()}
    flagged_makers = DEFAULT_FLAGGED_MAKERS | {
        (d.maker or "").lower() for d in result.devices if d.flagged and d.maker
    }
    main: list[tuple[int, Row]] = []
    verify: list[tuple[int, Row]] = []
    for device in order_devices(result.devices):
        cameras = [camera for camera in device.attached if camera.flagged]
        # A recorder and the cameras behind it are walked together: the group goes as early
        # as its most urgent member.
        group = [device, *cameras] if device.flagged else cameras
        priority = min((removal_priority(member) for member in group), default=2)
        row = _row(result, device, site_name, seen_dates)
        if needs_verifying(device, flagged_makers):
            verify.append((removal_priority(device), row))
        elif device.flagged:
            main.append((priority, row))
        main += [
            (priority, _row(result, camera, site_name, seen_dates, recorder=device))
            for camera in cameras
        ]
    # Known-exploited firmware first; then site, subnet, recorder and address, as walked.
    main_rows = [row for _, row in sorted(main, key=lambda pair: (pair[0], _group_key(pair[1])))]
    verify_rows = [
        row for _, row in sorted(verify, key=lambda pair: (pair[0], _group_key(pair[1])))
    ]
    numbered = [replace(row, item=i) for i, row in enumerate([*main_rows, *verify_rows], start=1)]
    return Checklist(
        rows=tuple(numbered[: len(main_rows)]),
        verify=tuple(numbered[len(main_rows) :]),
        site=site_name,
        generated=short_date(result.finished_at),
        policy=clean_text(result.policy),
    )

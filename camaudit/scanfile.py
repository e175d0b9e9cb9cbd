"""The camaudit.scan/1 document (docs/json-schema.md): write it, read it back, check it.

The one codec for a scan on disk: the JSON report is this document, the inventory stores it,
and `camaudit report`/`checklist` read it. It also owns what the document fixes for every
reader: the device order, the summary counts and the time format.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import AddressValueError, IPv4Address
from pathlib import Path
from typing import Any

from camaudit import __version__
from camaudit.errors import ConfigError
from camaudit.models import (
    SCAN_SCHEMA,
    AdvisoryMatch,
    AdvisoryStatus,
    Conflict,
    Device,
    EvidenceItem,
    ProbeOutcome,
    ProbeStatus,
    ScanResult,
    Verdict,
)
from camaudit.untrusted import clean_text

# A saved scan is read whole; cap it so a wrong file cannot exhaust memory.
MAX_SCAN_FILE_BYTES = 256 * 1024 * 1024
UNKNOWN_MAKER = "unknown"


def order_devices(devices: Iterable[Device]) -> list[Device]:
    """The one order devices are listed in: flagged first, then by address (docs/json-schema.md).

    The judge returns devices in it; every report renders in it, so a scan file from elsewhere
    (hand-edited, older) reads the same way.
    """
    return sorted(devices, key=lambda d: (not d.flagged, d.ip))


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z suffix, as the document writes every time."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def maker_label(device: Device) -> str:
    """The maker id, or "unknown"."""
    return clean_text(device.maker) or UNKNOWN_MAKER


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """Counts at the top of the document and of every report."""

    devices: int
    flagged: int
    by_maker: dict[str, int]


def summarise(result: ScanResult) -> Summary:
    """How many devices, how many flagged, and how many per maker (most first, then by name)."""
    counts = Counter(maker_label(d) for d in result.devices)
    by_maker = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    return Summary(
        devices=len(result.devices),
        flagged=sum(1 for d in result.devices if d.flagged),
        by_maker=by_maker,
    )


def _evidence_dict(item: EvidenceItem) -> dict[str, Any]:
    return {
        "channel": item.channel,
        "value": item.value,
        "probe": item.probe,
        "port": item.port,
        "rule": item.rule,
        "source": item.source,
        "confidence": item.confidence,
        "facts": dict(sorted(item.facts.items())),
    }


def _device_dict(device: Device) -> dict[str, Any]:
    return {
        "ip": str(device.ip),
        "mac": device.mac,
        "maker": device.maker,
        "brand": device.brand,
        "model": device.model,
        "firmware": device.firmware,
        "serial": device.serial,
        "device_type": device.device_type,
        "confidence": device.confidence,
        "verdict": device.verdict.value,
        "flagged": device.flagged,
        "flag_reason": device.flag_reason,
        "in_scope": device.in_scope,
        "conflicts": [
            {"fact": c.fact, "chosen": c.chosen, "other": c.other, "rule": c.rule}
            for c in device.conflicts
        ],
        "advisories": [_advisory_dict(a) for a in device.advisories],
        "evidence": [_evidence_dict(item) for item in device.evidence],
        "channels_read": device.channels_read,
        "recorder_channel": device.recorder_channel,
        "attached": [_device_dict(camera) for camera in device.attached],
    }


def _advisory_dict(advisory: AdvisoryMatch) -> dict[str, Any]:
    return {
        "id": advisory.id,
        "title": advisory.title,
        "status": advisory.status.value,
        "known_exploited": advisory.known_exploited,
        "kev_added": advisory.kev_added,
        "fixed_in": advisory.fixed_in,
        "links": dict(sorted(advisory.links.items())),
    }


def to_dict(result: ScanResult) -> dict[str, Any]:
    """The scan as plain data in schema order: flagged devices first, then by IP."""
    summary = summarise(result)
    return {
        "schema": SCAN_SCHEMA,
        "camaudit_version": __version__,
        "started_at": iso_utc(result.started_at),
        "finished_at": iso_utc(result.finished_at),
        "targets": list(result.targets),
        "policy": result.policy,
        "interrupted": result.interrupted,
        "site": result.site,
        "summary": {
            "devices": summary.devices,
            "flagged": summary.flagged,
            "by_maker": summary.by_maker,
        },
        "probes": [
            {
                "name": p.probe,
                "status": p.status.value,
                "detail": p.detail,
                "evidence_count": p.evidence_count,
                "duration_s": round(p.duration_s, 3),
            }
            for p in result.probes
        ],
        "devices": [_device_dict(d) for d in order_devices(result.devices)],
    }


def dumps(result: ScanResult) -> str:
    """The scan as indented JSON text (ASCII-safe, so hostile strings stay visible escapes)."""
    return json.dumps(to_dict(result), indent=2, ensure_ascii=True) + "\n"


class _Reader:
    """Typed access to one JSON object, raising ConfigError that names the bad field."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected an object")
        self.data = data
        self.where = where

    def _get(self, key: str, kinds: tuple[type, ...], optional: bool) -> Any:
        if key not in self.data:
            if optional:
                return None
            raise ConfigError(f"{self.where}: missing {key!r}")
        value = self.data[key]
        if value is None and optional:
            return None
        # NOTE: bool is an int subclass; a JSON true must not pass as a port or a count.
        if isinstance(value, bool) and bool not in kinds:
            raise ConfigError(f"{self.where}.{key}: expected {kinds[0].__name__}")
        if not isinstance(value, kinds):
            raise ConfigError(f"{self.where}.{key}: expected {kinds[0].__name__}")
        return value

    def text(self, key: str) -> str:
        return str(self._get(key, (str,), optional=False))

    def text_or_none(self, key: str) -> str | None:
        value = self._get(key, (str,), optional=True)
        return None if value is None else str(value)

    def integer_or_none(self, key: str) -> int | None:
        value = self._get(key, (int,), optional=True)
        return None if value is None else int(value)

    def number(self, key: str, default: float = 0.0) -> float:
        value = self._get(key, (int, float), optional=True)
        return default if value is None else float(value)

    def number_or_none(self, key: str) -> float | None:
        value = self._get(key, (int, float), optional=True)
        return None if value is None else float(value)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self._get(key, (bool,), optional=True)
        return default if value is None else bool(value)

    def items(self, key: str) -> list[Any]:
        value = self._get(key, (list,), optional=True)
        return [] if value is None else list(value)

    def moment(self, key: str) -> datetime:
        raw = self.text(key)
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise ConfigError(f"{self.where}.{key}: not an ISO 8601 time: {raw!r}") from exc
        if moment.tzinfo is None:
            raise ConfigError(f"{self.where}.{key}: time has no UTC offset: {raw!r}")
        return moment

    def choice(
        self, key: str, enum: type[Verdict] | type[ProbeStatus] | type[AdvisoryStatus]
    ) -> Any:
        raw = self.text(key)
        try:
            return enum(raw)
        except ValueError as exc:
            raise ConfigError(f"{self.where}.{key}: unknown value {raw!r}") from exc


def _facts(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise ConfigError(f"{where}: facts must map strings to strings")
    return dict(raw)


def _evidence_from(raw: Any, where: str) -> EvidenceItem:
    r = _Reader(raw, where)
    return EvidenceItem(
        channel=r.text("channel"),
        value=r.text("value"),
        probe=r.text("probe"),
        port=r.integer_or_none("port"),
        rule=r.text_or_none("rule"),
        source=r.text_or_none("source"),
        confidence=r.number_or_none("confidence"),
        facts=_facts(r.data.get("facts"), f"{where}.facts"),
    )


def _conflict_from(raw: Any, where: str) -> Conflict:
    r = _Reader(raw, where)
    return Conflict(
        fact=r.text("fact"), chosen=r.text("chosen"), other=r.text("other"), rule=r.text("rule")
    )


def _advisory_from(raw: Any, where: str) -> AdvisoryMatch:
    r = _Reader(raw, where)
    return AdvisoryMatch(
        id=r.text("id"),
        title=r.text("title"),
        status=r.choice("status", AdvisoryStatus),
        known_exploited=r.flag("known_exploited"),
        kev_added=r.text_or_none("kev_added"),
        fixed_in=r.text_or_none("fixed_in"),
        links=_facts(r.data.get("links"), f"{where}.links"),
    )


def _device_from(raw: Any, where: str, *, attached: bool = False) -> Device:
    r = _Reader(raw, where)
    if attached and r.items("attached"):
        # Only a recorder has cameras behind it; a camera behind a camera is a corrupt file.
        raise ConfigError(f"{where}.attached: a camera behind a recorder has no cameras of its own")
    try:
        ip = IPv4Address(r.text("ip"))
    except AddressValueError as exc:
        raise ConfigError(f"{where}.ip: not an IPv4 address") from exc
    return Device(
        ip=ip,
        mac=r.text_or_none("mac"),
        maker=r.text_or_none("maker"),
        brand=r.text_or_none("brand"),
        model=r.text_or_none("model"),
        firmware=r.text_or_none("firmware"),
        serial=r.text_or_none("serial"),
        device_type=r.text_or_none("device_type"),
        confidence=r.number("confidence"),
        verdict=r.choice("verdict", Verdict),
        flagged=r.flag("flagged"),
        flag_reason=r.text_or_none("flag_reason"),
        in_scope=r.flag("in_scope", default=True),
        conflicts=tuple(
            _conflict_from(c, f"{where}.conflicts[{i}]") for i, c in enumerate(r.items("conflicts"))
        ),
        advisories=tuple(
            _advisory_from(a, f"{where}.advisories[{i}]")
            for i, a in enumerate(r.items("advisories"))
        ),
        evidence=tuple(
            _evidence_from(e, f"{where}.evidence[{i}]") for i, e in enumerate(r.items("evidence"))
        ),
        # Scan files written before recorders' channels were read have none of these three.
        channels_read=r.flag("channels_read"),
        recorder_channel=r.integer_or_none("recorder_channel"),
        attached=tuple(
            _device_from(d, f"{where}.attached[{i}]", attached=True)
            for i, d in enumerate(r.items("attached"))
        ),
    )


def _probe_from(raw: Any, where: str) -> ProbeOutcome:
    r = _Reader(raw, where)
    return ProbeOutcome(
        probe=r.text("name"),
        status=r.choice("status", ProbeStatus),
        detail=r.text_or_none("detail") or "",
        evidence_count=r.integer_or_none("evidence_count") or 0,
        duration_s=r.number("duration_s"),
    )


def from_dict(data: dict[str, Any]) -> ScanResult:
    """A ScanResult from schema data; ConfigError names the first bad field or unknown schema."""
    r = _Reader(data, "scan")
    schema = r.data.get("schema")
    if schema != SCAN_SCHEMA:
        raise ConfigError(f"not a camaudit scan file (schema {schema!r}, expected {SCAN_SCHEMA!r})")
    targets = r.items("targets")
    if not all(isinstance(t, str) for t in targets):
        raise ConfigError("scan.targets: expected a list of strings")
    return ScanResult(
        started_at=r.moment("started_at"),
        finished_at=r.moment("finished_at"),
        targets=tuple(targets),
        policy=r.text("policy"),
        interrupted=r.flag("interrupted"),
        site=r.text_or_none("site"),
        probes=tuple(_probe_from(p, f"probes[{i}]") for i, p in enumerate(r.items("probes"))),
        devices=tuple(_device_from(d, f"devices[{i}]") for i, d in enumerate(r.items("devices"))),
    )


def loads(text: str) -> ScanResult:
    """A ScanResult from JSON text."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError("not a camaudit scan file (top level is not an object)")
    return from_dict(data)


def load(path: str | Path) -> ScanResult:
    """A ScanResult from a saved JSON file; ConfigError if unreadable or not a scan."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SCAN_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_SCAN_FILE_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_SCAN_FILE_BYTES} bytes; not a scan file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text") from exc
    try:
        return loads(text)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc

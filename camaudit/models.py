"""Typed records that cross the seams: probes → identify → policy → reports / inventory."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from ipaddress import IPv4Address

SCAN_SCHEMA = "camaudit.scan/1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """One observation about one host, exactly as received (value capped at MAX_VALUE_CHARS)."""

    host: IPv4Address
    channel: str  # "http.server", "wsd.scopes", "sadp", "mac", ... (docs/channels.md)
    value: str
    probe: str  # name of the probe that saw it; "input" for `camaudit identify`
    port: int | None = None


# NOTE: device strings are untrusted: identify truncates before matching, reports escape on output.
MAX_VALUE_CHARS = 64 * 1024


class ProbeStatus(StrEnum):
    """What became of one probe in one scan."""

    OK = "ok"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeOutcome:
    """How one probe fared: reports always say what was not checked and why."""

    probe: str
    status: ProbeStatus
    detail: str = ""
    evidence_count: int = 0
    duration_s: float = 0.0


class Verdict(StrEnum):
    """How sure identification is of the maker."""

    CONFIRMED = "confirmed"
    LIKELY = "likely"
    POSSIBLE = "possible"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    """A fingerprint rule that read a piece of evidence, and the facts it yielded."""

    rule: str  # "<file stem>::<rule id>", e.g. "http_server::hikvision-webs"
    channel: str
    field: str  # "" for the whole value, else a decoded field ("DeviceDescription", "scope")
    value: str  # the text the rule's pattern matched
    facts: Mapping[str, str]
    confidence: float
    source: str
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceItem:
    """One piece of evidence as a device report shows it, with the rule that read it (if any)."""

    channel: str
    value: str
    probe: str
    port: int | None = None
    rule: str | None = None
    facts: Mapping[str, str] = field(default_factory=dict)
    confidence: float | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Conflict:
    """Two rules disagreeing on one fact; kept so reports can show it."""

    fact: str
    chosen: str
    other: str
    rule: str


class AdvisoryStatus(StrEnum):
    """How a published vulnerability stands for one device's firmware."""

    AFFECTED = "affected"  # the firmware read falls in the affected range
    FIRMWARE_UNKNOWN = "firmware unknown"  # model fits; firmware not read or not comparable
    NOT_AFFECTED = "not affected"  # never kept on a device: its firmware is clear of it


@dataclass(frozen=True, slots=True, kw_only=True)
class AdvisoryMatch:
    """A published vulnerability that may concern a device (fingerprints/advisories/)."""

    id: str  # "CVE-2021-36260"
    title: str
    status: AdvisoryStatus
    known_exploited: bool = False  # listed in CISA's Known Exploited Vulnerabilities catalog
    kev_added: str | None = None  # the date CISA added it, YYYY-MM-DD
    fixed_in: str | None = None  # the first fixed build, when the vendor states one
    links: Mapping[str, str] = field(default_factory=dict)  # "advisory", "nvd", "kev" → URL


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """Everything camaudit concluded about one host, with the evidence behind it."""

    ip: IPv4Address
    mac: str | None = None
    maker: str | None = None  # who built it (lower-case maker id, e.g. "hikvision")
    brand: str | None = None  # the label it is sold under (e.g. "Lorex")
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    device_type: str | None = None  # vocabulary in fingerprints/identifiers/device_types.txt
    confidence: float = 0.0
    verdict: Verdict = Verdict.UNKNOWN
    flagged: bool = False
    flag_reason: str | None = None
    in_scope: bool = True  # False: heard via multicast from outside the targets, never probed
    evidence: tuple[EvidenceItem, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    advisories: tuple[AdvisoryMatch, ...] = ()  # known-exploited first
    # A recorder whose channel list was read (with the user's credentials): each camera wired to
    # it, judged like any device; `ip` of such a camera is the address the recorder reports
    # (often on its own PoE network, unreachable from the LAN), 0.0.0.0 when it reports none.
    channels_read: bool = False
    attached: tuple[Device, ...] = ()
    recorder_channel: int | None = None  # set on an attached camera: its channel on the recorder


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanResult:
    """A whole scan: what was asked, which probes ran, and the devices found."""

    started_at: datetime  # UTC-aware
    finished_at: datetime
    targets: tuple[str, ...]
    policy: str
    probes: tuple[ProbeOutcome, ...] = ()
    devices: tuple[Device, ...] = ()
    interrupted: bool = False
    site: str | None = None
    schema: str = SCAN_SCHEMA


# The inventory's roll-up over sites; here so that reports render it without importing inventory.
@dataclass(frozen=True, slots=True, kw_only=True)
class Missing:
    """A flagged unit once seen at the site and absent from its latest scan."""

    key: str  # "mac:…", "serial:…" or "ip:…"
    last_seen: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteRollup:
    """One site's line of the roll-up."""

    site: str | None
    scans: int
    latest_scan: int
    latest_at: datetime
    flagged: int  # flagged units in the latest scan
    removed: int  # flagged units of the scan before that the latest did not see
    not_seen: tuple[Missing, ...]  # flagged units ever seen here, absent from the latest scan

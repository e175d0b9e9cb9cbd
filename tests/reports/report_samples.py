"""Sample devices and scans for report tests, one of them hostile."""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import IPv4Address

from camaudit.models import (
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

HOSTILE_MODEL = "<img src=x onerror=alert(1)>"
HOSTILE_BRAND = '=HYPERLINK("http://evil.example/","click")'
HOSTILE_FIRMWARE = "\x1b[31mV5.5.0\x1b[0m [bold]build[/bold]"
HOSTILE_SERIAL = "+SUM(1,2)"


def hikvision_camera() -> Device:
    """A confirmed, flagged Hikvision camera."""
    return Device(
        ip=IPv4Address("198.51.100.20"),
        mac="58:50:ed:1f:e3:85",
        maker="hikvision",
        brand="Hikvision",
        model="DS-2CD2385G1-I",
        firmware="V5.6.3",
        serial="DS-2CD2385G1-I20200414AAWRE33842150",
        device_type="ip-camera",
        confidence=0.97,
        verdict=Verdict.CONFIRMED,
        flagged=True,
        flag_reason="maker hikvision is a covered entity (NDAA FY2019 s.889(f)(3)(B))",
        evidence=(
            EvidenceItem(channel="mac", value="58:50:ed:1f:e3:85", probe="arp",
                         rule="mac_oui::hikvision-oui", confidence=0.6,
                         facts={"vendor": "hikvision"}, source="IEEE MA-L"),
            EvidenceItem(channel="sadp", value="<DeviceSN>DS-2CD2385G1-I20200414AAWRE33842150"
                         "</DeviceSN>", probe="sadp", port=37020, rule="sadp::hikvision-sadp",
                         confidence=0.95, facts={"vendor": "hikvision", "model": "DS-2CD2385G1-I"},
                         source="SADP reply"),
            EvidenceItem(channel="http.server", value="App-webs/", probe="http_banner", port=80,
                         rule="http_server::hikvision-app-webs", confidence=0.8,
                         facts={"vendor": "hikvision"}),
            EvidenceItem(channel="rtsp.server", value="Hikvision RTSP", probe="rtsp", port=554),
        ),
    )  # fmt: skip


def hostile_device() -> Device:
    """A flagged Dahua recorder whose strings try HTML, formula, ANSI and rich-markup injection."""
    return Device(
        ip=IPv4Address("198.51.100.7"),
        mac="4c:11:bf:c2:0b:9d",
        maker="dahua",
        brand=HOSTILE_BRAND,
        model=HOSTILE_MODEL,
        firmware=HOSTILE_FIRMWARE,
        serial=HOSTILE_SERIAL,
        device_type="nvr",
        confidence=0.9,
        verdict=Verdict.LIKELY,
        flagged=True,
        flag_reason="-maker dahua is a covered entity",
        evidence=(
            EvidenceItem(channel="dhip", value='{"DeviceType": "<script>alert(2)</script>"}',
                         probe="dhip", port=37810, rule="dhip::dahua-dhip", confidence=0.9,
                         facts={"vendor": "dahua"}),
        ),
        conflicts=(Conflict(fact="model", chosen=HOSTILE_MODEL, other="NVR4104",
                            rule="http_title::dahua-web"),),
        advisories=(
            AdvisoryMatch(id="CVE-2021-33044", title="Dahua: authentication bypass at login",
                          status=AdvisoryStatus.AFFECTED, known_exploited=True,
                          kev_added="2024-08-21",
                          links={"nvd": "https://nvd.nist.gov/vuln/detail/CVE-2021-33044"}),
            AdvisoryMatch(id="CVE-2022-30563", title="Dahua: ONVIF login replay",
                          status=AdvisoryStatus.FIRMWARE_UNKNOWN,
                          links={"nvd": "https://nvd.nist.gov/vuln/detail/CVE-2022-30563"}),
        ),
    )  # fmt: skip


def possible_dahua() -> Device:
    """A Dahua guess from one weak signal: goes to the verify-on-site list."""
    return Device(
        ip=IPv4Address("198.51.100.30"),
        mac="00:1f:54:00:00:01",
        maker="dahua",
        brand="Lorex",
        model=None,
        device_type="ip-camera",
        confidence=0.35,
        verdict=Verdict.POSSIBLE,
        flagged=False,
        evidence=(EvidenceItem(channel="tcp.port", value="37777", probe="tcp_ports", port=37777,
                               rule="tcp_port::dahua-sdk-port", confidence=0.35),),
    )  # fmt: skip


def axis_camera() -> Device:
    """An unflagged camera from another maker."""
    return Device(
        ip=IPv4Address("198.51.101.4"),
        mac="00:40:8c:aa:bb:cc",
        maker="axis",
        brand="Axis",
        model="M3045-V",
        firmware="9.80.1",
        device_type="ip-camera",
        confidence=0.9,
        verdict=Verdict.CONFIRMED,
        evidence=(EvidenceItem(channel="http.server", value="axis", probe="http_banner", port=80),),
    )  # fmt: skip


def make_scan(devices: tuple[Device, ...], *, day: int = 1, site: str | None = "HQ") -> ScanResult:
    """A finished scan on 2024-05-<day> with the usual probe outcomes."""
    return ScanResult(
        started_at=datetime(2024, 5, day, 9, 0, 0, tzinfo=UTC),
        finished_at=datetime(2024, 5, day, 9, 0, 42, tzinfo=UTC),
        targets=("198.51.100.0/24", "198.51.101.0/24"),
        policy="us-ndaa-889",
        site=site,
        probes=(
            ProbeOutcome(probe="sadp", status=ProbeStatus.OK, evidence_count=1, duration_s=2.0),
            ProbeOutcome(probe="dhip", status=ProbeStatus.OK, evidence_count=1, duration_s=2.0),
            ProbeOutcome(probe="arp", status=ProbeStatus.SKIPPED,
                         detail="needs CAP_NET_RAW; run as root or use --skip-probe arp"),
            ProbeOutcome(probe="mdns", status=ProbeStatus.FAILED, detail="timed out after 30 s",
                         duration_s=30.0),
        ),
        devices=devices,
    )  # fmt: skip

"""The shipped fingerprints read the public facts corpus the way its sources say they should."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from camaudit.identify import identify_hosts
from camaudit.identify.loader import Database
from camaudit.models import Device, Evidence

CORPUS = Path(__file__).parent.parent / "data" / "facts" / "device-replies.jsonl"
HOST = IPv4Address("198.51.100.10")  # documentation range (RFC 5737): never contacted
COVERED = {"hikvision", "dahua"}
REQUIRED_RATE = 0.95

# Corpus channel -> our evidence channel. Channels missing here have no probe in camaudit
# (telnet/FTP banners, raw TCP banners, RTSP paths, file hashes, DHCP vendor class).
CHANNELS = {
    "http_server_header": "http.server",
    "http_title": "http.title",
    "http_www_authenticate": "http.www_authenticate",
    "http_body": "http.body",
    "http_headers": "http.headers",
    "other:favicon_md5": "http.favicon_md5",
    "other:favicon_mmh3": "http.favicon_mmh3",
    "other:isapi_device_info": "http.body",
    "tls_cert_subject": "tls.subject",
    "rtsp_server": "rtsp.server",
    "other:rtsp_www_authenticate": "rtsp.www_authenticate",
    "ws_discovery_scopes": "wsd.scopes",
    "ws_discovery_xaddrs": "wsd.xaddrs",
    "other:ws_discovery_epr": "wsd.epr",
    "other:ws_discovery_types": "wsd.types",
    "other:ws_discovery_reply": "wsd.types",
    "mdns_service": "mdns.service",
    "other:mdns_txt": "mdns.txt",
    "other:mdns_hostname": "mdns.hostname",
    "sadp_response": "sadp",
    "dhip_response": "dhip",
    "upnp_ssdp": "ssdp.server",
    "onvif_device_info": "onvif.device_information",
    "mac_oui": "mac",
}

# Hikvision/Dahua entries whose value does not name its maker on its own, with the reason. They are
# still run (and must not crash or name the other maker) but do not count towards the rate.
MEANINGLESS_ALONE = {
    "cap-013": "parsed BCS model field only; the DHIP envelope was not kept by the source",
    "cap-014": "parsed model field 'HCVR' only; the DHIP envelope was not kept by the source",
    "gbn-004": "a 5-character Basic realm looks like router model realms (E1200, R7000)",
    "gbn-015": "'ui-dialog-content' is a stock jQuery UI class; Greenbone pairs it with the title",
    "nmp-036": "realm truncated by its source after 'Login to ' (no serial left)",
    "nuc-004": "'LDAPUser' is a form field name found on many web UIs",
    "scp-008": "type/Network_Video_Transmitter is ONVIF-generic without the rest of the layout",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One corpus line."""

    id: str
    channel: str
    value: str
    expected_vendor: str
    oem_of: str | None

    @property
    def maker(self) -> str | None:
        """The covered maker this entry must be identified as, if any."""
        for name in (self.oem_of, self.expected_vendor):
            if name in COVERED:
                return name
        return None

    @property
    def must_not_be_covered(self) -> bool:
        """Non-cameras and generic banners may never be called Hikvision or Dahua."""
        return self.expected_vendor.startswith(("not_camera:", "generic:"))


def load_entries() -> list[Entry]:
    """Every corpus line (the leading origin note is a '#' line)."""
    entries = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        row = json.loads(line)
        entries.append(
            Entry(
                id=row["id"],
                channel=row["channel"],
                value=row["value"],
                expected_vendor=row["expected_vendor"],
                oem_of=row["oem_of"],
            )
        )
    return entries


def as_evidence(entry: Entry) -> Evidence | None:
    """The corpus value as camaudit evidence, or None when no camaudit probe sees that channel."""
    channel = CHANNELS.get(entry.channel)
    if channel is None:
        return None
    value = entry.value
    if channel == "tls.subject" and value.startswith("issuer:"):
        channel, value = "tls.issuer", value.removeprefix("issuer:").strip()
    elif channel == "ssdp.server" and not value.lower().startswith("server:"):
        # a UPnP description field quoted bare by its source
        channel = "upnp.description"
        value = f"<root><device><modelDescription>{value}</modelDescription></device></root>"
    elif channel == "ssdp.server":
        value = value.split(":", 1)[1].strip()
    elif channel == "mac":
        value = f"{value}:00:00:01"  # the corpus lists OUIs; any host in the block will do
    elif channel == "mdns.service" and value.startswith("model="):
        channel = "mdns.txt"  # a _device-info TXT item filed under the service by its source
    return Evidence(host=HOST, channel=channel, value=value, probe="input")


def identify_one(evidence: Evidence, database: Database) -> Device:
    """Identify a host that produced exactly this one piece of evidence."""
    (device,) = identify_hosts([evidence], database)
    return device


ENTRIES = load_entries()
SUPPORTED = [(entry, ev) for entry in ENTRIES if (ev := as_evidence(entry)) is not None]


def covered_entries() -> Iterator[tuple[Entry, Evidence]]:
    """Hikvision/Dahua entries on a supported channel that name their maker."""
    for entry, evidence in SUPPORTED:
        if entry.maker and entry.id not in MEANINGLESS_ALONE:
            yield entry, evidence


def test_corpus_copy_matches_its_origin_note() -> None:
    """The copy keeps its note of origin and every line still parses."""
    assert CORPUS.read_text(encoding="utf-8").startswith("# Copied unchanged")
    assert len(ENTRIES) > 200


def test_exclusions_name_real_covered_entries() -> None:
    """Every exclusion names a Hikvision/Dahua entry, so the list cannot hide other misses."""
    by_id = {entry.id: entry for entry in ENTRIES}
    for entry_id in MEANINGLESS_ALONE:
        assert by_id[entry_id].maker in COVERED, entry_id


@pytest.mark.parametrize(
    ("entry", "evidence"),
    [pair for pair in SUPPORTED if pair[0].must_not_be_covered],
    ids=lambda value: value.id if isinstance(value, Entry) else "",
)
def test_non_camera_and_generic_entries_never_get_a_covered_maker(
    entry: Entry, evidence: Evidence, database: Database
) -> None:
    """No router, printer, NAS or generic banner is called Hikvision or Dahua at any verdict."""
    device = identify_one(evidence, database)
    assert device.maker not in COVERED, (entry.id, entry.value, device.maker)


@pytest.mark.parametrize(
    ("entry", "evidence"),
    [pair for pair in SUPPORTED if pair[0].maker],
    ids=lambda value: value.id if isinstance(value, Entry) else "",
)
def test_covered_entries_never_name_the_other_covered_maker(
    entry: Entry, evidence: Evidence, database: Database
) -> None:
    """A Hikvision entry is never called Dahua, nor the reverse."""
    device = identify_one(evidence, database)
    assert device.maker in (None, entry.maker) or device.maker not in COVERED, entry.id


def test_covered_makers_are_identified(database: Database) -> None:
    """At least 95% of Hikvision/Dahua entries that name their maker are identified as it."""
    pairs = list(covered_entries())
    misses = []
    for entry, evidence in pairs:
        device = identify_one(evidence, database)
        if device.maker != entry.maker:
            misses.append(f"{entry.id} ({evidence.channel}): got {device.maker!r}")
    rate = 1 - len(misses) / len(pairs)
    print(f"facts corpus: {len(pairs) - len(misses)}/{len(pairs)} identified ({rate:.1%})")
    assert len(pairs) >= 40
    assert rate >= REQUIRED_RATE, misses

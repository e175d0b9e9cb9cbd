"""Non-cameras are never called cameras, and weak signals never reach LIKELY on their own."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest

from camaudit.identify import identify_hosts
from camaudit.identify.loader import Database
from camaudit.models import Device, Evidence, Verdict

NEGATIVES = Path(__file__).parent.parent / "data" / "negatives"
HOST = IPv4Address("198.51.100.20")  # documentation range (RFC 5737): never contacted
CAMERA_TYPES = {"ip-camera", "nvr", "dvr"}
COVERED = {"hikvision", "dahua"}
STRONG = {Verdict.LIKELY, Verdict.CONFIRMED}
ESCAPED_CHANNELS = {"http.headers"}  # their files write CR/LF as \r\n on one line


def channel_of(path: Path) -> str:
    """File stem to channel: the first '_' becomes the dot (tls_subject is tls.subject)."""
    return path.stem.replace("_", ".", 1)


def negative_cases() -> list[tuple[str, str]]:
    """(channel, value) for every line of every negative corpus file."""
    cases = []
    for path in sorted(NEGATIVES.glob("*.txt")):
        channel = channel_of(path)
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            value = line.replace("\\r\\n", "\r\n") if channel in ESCAPED_CHANNELS else line
            cases.append((channel, value))
    return cases


def identify_alone(database: Database, *evidence: tuple[str, str]) -> Device:
    """Identify one host that produced exactly this evidence."""
    items = [Evidence(host=HOST, channel=c, value=v, probe="input") for c, v in evidence]
    (device,) = identify_hosts(items, database)
    return device


def test_the_negative_corpus_is_there_and_not_empty() -> None:
    """A missing folder or empty files would make every corpus test below pass on nothing."""
    paths = sorted(NEGATIVES.glob("*.txt"))
    assert paths, f"no negative corpus files in {NEGATIVES}"
    empty = [p.name for p in paths if not p.read_text(encoding="utf-8").strip()]
    assert not empty, f"empty negative corpus files: {empty}"
    assert len(negative_cases()) >= len(paths)


def test_every_negative_file_names_a_known_channel(database: Database) -> None:
    """A misnamed corpus file would silently test nothing."""
    channels = {item.channel for item in database.files}
    paths = sorted(NEGATIVES.glob("*.txt"))
    assert paths, f"no negative corpus files in {NEGATIVES}"
    for path in paths:
        assert channel_of(path) in channels, path.name


@pytest.mark.parametrize(("channel", "value"), negative_cases())
def test_negative_is_not_a_camera(channel: str, value: str, database: Database) -> None:
    """Routers, printers, NAS and stock web servers get no camera type and no covered maker."""
    device = identify_alone(database, (channel, value))
    assert device.device_type not in CAMERA_TYPES
    assert device.maker not in COVERED


# MAC blocks registered to the covered makers themselves: enough to flag an ARP-only unit as
# LIKELY (the issue wants units that answer only ARP found), never enough to confirm.
MAKERS_OWN_BLOCKS = [
    ("58:50:ed:1f:e3:85", "hikvision"),  # Hangzhou Hikvision Digital Technology
    ("24:b1:05:00:00:01", "hikvision"),  # Prama Hikvision India
    ("0c:a6:4c:00:00:01", "hikvision"),  # Hangzhou Ezviz Software
    ("4c:11:bf:c2:0b:9d", "dahua"),  # Zhejiang Dahua Technology
    ("a8:ca:87:00:00:01", "dahua"),  # Zhejiang Dahua Zhilian
]


@pytest.mark.parametrize(("mac", "maker"), MAKERS_OWN_BLOCKS)
def test_a_makers_own_mac_block_is_likely_never_confirmed(
    mac: str, maker: str, database: Database
) -> None:
    """A covered maker's own OUI alone: LIKELY (so flagged), never CONFIRMED."""
    device = identify_alone(database, ("mac", mac))
    assert (device.maker, device.verdict) == (maker, Verdict.LIKELY)


# The same blocks carried inside a reply: a UUID the maker builds from the unit's MAC, an EUI-64
# link-local address. The MAC weighs what it weighs seen by ARP, no more.
OWN_BLOCK_IN_A_REPLY = [
    ("wsd.epr", "urn:uuid:aa85c000-6324-11b3-819e-5850ed1fe385", "hikvision"),
    ("ssdp.st", "uuid:5f5a69c2-e0ae-504f-829b-4c11bfc20b9d", "dahua"),
    ("wsd.xaddrs", "http://[fe80::5a50:edff:fe1f:e385]/onvif/device_service", "hikvision"),
]


@pytest.mark.parametrize(("channel", "value", "maker"), OWN_BLOCK_IN_A_REPLY)
def test_a_makers_own_block_in_a_reply_is_likely_never_confirmed(
    channel: str, value: str, maker: str, database: Database
) -> None:
    device = identify_alone(database, (channel, value))
    assert (device.maker, device.verdict) == (maker, Verdict.LIKELY)


# Weak signals: an OEM's MAC prefix, a bare port, a generic server name, a MAC inside an IPv6
# address or a UUID that is no covered maker's block. Each must stay below LIKELY alone.
WEAK_ALONE = [
    ("mac", "1c:4d:89:00:00:01"),  # Hangzhou Huacheng Network Technology (Imou link unverified)
    ("mac", "00:1f:54:a9:2e:58"),  # Lorex Technology
    ("mac", "9c:8e:cd:00:00:01"),  # Amcrest Technologies
    ("tcp.open", "8000"),
    ("tcp.open", "37777"),
    ("http.server", "Webs"),
    ("http.server", "uc-httpd 1.0.0"),
    ("rtsp.server", "Rtsp Server/2.0"),
    ("rtsp.public", "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, PAUSE"),
    ("wsd.xaddrs", "http://[fe80::217:c8ff:feaa:bbcc]/onvif/device_service"),  # Kyocera block
    ("wsd.epr", "urn:uuid:aa85c000-6324-11b3-819e-0017c8aabbcc"),
    ("wsd.types", "dn:NetworkVideoTransmitter tds:Device"),
    ("http.headers", "HTTP/1.1 200 OK\r\nCONNECTION: close\r\n"),
]


@pytest.mark.parametrize(("channel", "value"), WEAK_ALONE)
def test_weak_signal_alone_stays_below_likely(channel: str, value: str, database: Database) -> None:
    """A weak signal may hint (POSSIBLE) but never makes a verdict that could flag a device."""
    assert identify_alone(database, (channel, value)).verdict not in STRONG


def test_mac_and_port_together_never_confirm(database: Database) -> None:
    """Two weak hints (Hikvision OUI + TCP 8000) still do not CONFIRM."""
    device = identify_alone(database, ("mac", "58:50:ed:1f:e3:85"), ("tcp.open", "8000"))
    assert device.maker == "hikvision"
    assert device.verdict is Verdict.LIKELY


def test_dahua_scale_factory_is_not_dahua(database: Database) -> None:
    """The 40:2C:76:1 block belongs to Shanghai Dahua Scale Factory, not Zhejiang Dahua."""
    assert identify_alone(database, ("mac", "40:2c:76:10:00:01")).maker is None


def test_catch_all_web_server_stays_below_likely(database: Database) -> None:
    """A server answering 200 to every vendor path (single-page router UIs do) is no camera."""
    statuses = [
        "GET /SDK/activateStatus 200",
        "GET /ISAPI/Security/sessionLogin/capabilities?username=admin 200",
        "GET /doc/page/login.asp 200",
        "GET /ISAPI/System/deviceInfo 200",
        "POST /RPC2_Login 200",
        "GET /upnpdevicedesc.xml 200",
    ]
    device = identify_alone(database, *(("http.path_status", s) for s in statuses))
    assert device.verdict not in STRONG

"""The fixed words of the fingerprint format: channels, fact names, keys, identifier lists."""

from __future__ import annotations

import functools
import importlib.resources
import re
from dataclasses import dataclass
from pathlib import Path

# Facts a rule may fix or capture (named groups). `family` is a model-family label.
FACT_NAMES: frozenset[str] = frozenset(
    {"maker", "brand", "model", "firmware", "serial", "device_type", "mac", "hw_version", "family"}
)

# Every evidence channel a probe may emit (docs/channels.md), plus the two derived ones.
RAW_CHANNELS: frozenset[str] = frozenset(
    {
        "http.server",
        "http.title",
        "http.www_authenticate",
        "http.body",
        "http.headers",
        "http.favicon_md5",
        "http.favicon_mmh3",
        "tls.subject",
        "tls.issuer",
        "rtsp.server",
        "rtsp.www_authenticate",
        "rtsp.public",
        "wsd.scopes",
        "wsd.types",
        "wsd.xaddrs",
        "wsd.epr",
        "mdns.service",
        "mdns.txt",
        "mdns.hostname",
        "sadp",
        "dhip",
        "ssdp.server",
        "upnp.description",
        "onvif.device_information",
        "mac",
        "tcp.open",
        # Emitted by probes too; rules may read them, though none needs to yet.
        "http.location",
        "http.path_status",
        "onvif.system_date_time",
        "rtsp.status",
        "ssdp.st",
        # Read from files other tools wrote (camaudit identify, docs/offline.md).
        "nmap.service",
        "nmap.cpe",
        "snmp.sysdescr",
        "dhcp.hostname",
        "dhcp.vendor_class",
        # A recorder's channel list (with credentials): one camera behind it per value, and a
        # summary. Judged as the cameras', never as the recorder's own identity.
        "recorder.channel",
        "recorder.channels",
    }
)
DERIVED_CHANNELS: frozenset[str] = frozenset({"model", "brand", "serial"})
CHANNELS: frozenset[str] = RAW_CHANNELS | DERIVED_CHANNELS

# Multi-line or structured payloads: kept up to 64 KiB; everything else is cut at 1 KiB.
LARGE_CHANNELS: frozenset[str] = frozenset(
    {
        "http.body",
        "http.headers",
        "upnp.description",
        "onvif.device_information",
        "sadp",
        "dhip",
        "wsd.scopes",
        "mdns.txt",
    }
)
LARGE_VALUE_CHARS = 64 * 1024
SMALL_VALUE_CHARS = 1024

# Channels whose whole value is a document, where an unanchored re.search is the honest tool.
# For sadp and dhip only the whole value (field "") may be searched; their fields are short.
SEARCH_CHANNELS: frozenset[str] = frozenset(
    {"http.body", "http.headers", "upnp.description", "onvif.device_information"}
)
SEARCH_WHOLE_VALUE_CHANNELS: frozenset[str] = frozenset({"sadp", "dhip"})

# Channels that can only ever be a weak hint: a rule there that names a maker is capped so it can
# never confirm alone. An open port stays below LIKELY (0.5). A MAC block registered to a maker
# itself may reach LIKELY (0.6) but no further: the NIC was made for that maker, yet OEM units
# carry other blocks, so its absence proves nothing and its presence alone never confirms.
WEAK_CONFIDENCE_BY_CHANNEL: dict[str, float] = {"mac": 0.6, "tcp.open": 0.5}
WEAK_CHANNELS: frozenset[str] = frozenset(WEAK_CONFIDENCE_BY_CHANNEL)

# Which probes produce each channel (docs/channels.md). A known probe's evidence on a channel it
# never asks for is a reply that arrived where nothing was asked: merge shows it as a conflict.
# Evidence from other sources ("input" for `camaudit identify`, test probes) is not judged here.
PROBES_BY_CHANNEL: dict[str, frozenset[str]] = {
    **{c: frozenset({"http_banner", "vendor_http"}) for c in RAW_CHANNELS if c.startswith("http.")},
    "http.www_authenticate": frozenset({"http_banner", "vendor_http", "onvif"}),
    "tls.subject": frozenset({"http_banner"}),
    "tls.issuer": frozenset({"http_banner"}),
    **{c: frozenset({"rtsp"}) for c in RAW_CHANNELS if c.startswith("rtsp.")},
    **{c: frozenset({"wsdiscovery"}) for c in RAW_CHANNELS if c.startswith("wsd.")},
    **{c: frozenset({"mdns"}) for c in RAW_CHANNELS if c.startswith("mdns.")},
    "sadp": frozenset({"sadp"}),
    "dhip": frozenset({"dhip"}),
    "ssdp.server": frozenset({"ssdp"}),
    "ssdp.st": frozenset({"ssdp"}),
    "upnp.description": frozenset({"ssdp"}),
    "onvif.device_information": frozenset({"onvif"}),
    "onvif.system_date_time": frozenset({"onvif"}),
    "mac": frozenset({"arp", "sadp", "dhip"}),
    "tcp.open": frozenset({"tcp"}),
    "recorder.channel": frozenset({"recorder_channels"}),
    "recorder.channels": frozenset({"recorder_channels"}),
}
KNOWN_PROBES: frozenset[str] = frozenset().union(*PROBES_BY_CHANNEL.values())

# Channels where one device sends one self-description: many different ones from one address
# are a flood or a spoof, not a camera (real units repeat the same reply per interface). UPnP is
# not one: a router or NAS serves a description per embedded service.
SELF_DESCRIPTION_CHANNELS: frozenset[str] = frozenset(
    {"sadp", "dhip", "wsd.epr", "onvif.device_information"}
)
MAX_SELF_DESCRIPTIONS = 3  # distinct replies on one such channel before the host is not trusted

FILE_KEYS: frozenset[str] = frozenset({"evidence", "preference", "fingerprint"})
RULE_KEYS: frozenset[str] = frozenset(
    {
        "id",
        "description",
        "field",
        "match",
        "pattern",
        "facts",
        "confidence",
        "source",
        "counterexamples",
        "example",
    }
)
EXAMPLE_KEYS: frozenset[str] = frozenset({"text", "text_b64", "expect"})
MATCH_MODES: frozenset[str] = frozenset({"anchored", "search", "label"})

# What may follow a maker's or brand's name in a label, in any case, each word after a space,
# comma or dot: "Hangzhou Hikvision Digital Technology Co., Ltd." is the name Hikvision. A rule
# with match = "label" writes only the name; label_pattern adds these, so the list lives here
# once rather than at the end of every brand rule. Company forms, and product words standing as
# words of their own ("Foscam IP Camera" is the name Foscam; "FoscamCam" is not). A narrower
# list, decode._COMPANY_TAIL, is what is set aside before a label is compared with maker names.
LABEL_TAIL_WORDS: tuple[str, ...] = (
    *("inc", "ltd", "llc", "co", "corp", "corporation", "gmbh", "ag", "ab", "sa", "bv", "nv"),
    *("oy", "as", "kk", "plc", "pty", "srl", "spa", "limited", "company", "group", "holdings"),
    *("technology", "technologies", "security", "systems", "solutions", "software"),
    *("electronics", "networks", "network", "communications", "vision", "labs", "america"),
    *("usa", "europe", "international", "digital", "video", "electronic", "electric", "ent"),
    *("r&d", "deutschland", "tech", "a.s", "innovation", "intelligent", "industries"),
    *("ipc", "ip", "camera", "cameras", "cam", "ipcam", "webcam", "nvr", "dvr", "xvr", "hcvr"),
    *("nvs", "dvs", "dome", "ptz", "recorder", "cctv", "surveillance"),
)


# Pieces of pattern that several files' rules share, written (?&name) in a pattern (PCRE's
# spelling of "the named subpattern"; Python's re refuses it, so one left unexpanded cannot pass
# silently) and expanded by the loader. One shape, one place: a mend reaches every channel.
PATTERN_FRAGMENTS: dict[str, str] = {
    # A Dahua RPC answer: a boolean result and a session beside each other, either order (JSON-RPC
    # has no session; Dahua's RPC puts one in every answer, over HTTP RPC2 and over DHIP alike).
    "dahua_rpc_envelope": (
        r'["\x27]result["\x27]\s*:\s*(?:[Tt]rue|[Ff]alse)\b[\s\S]{0,300}?["\x27]session["\x27]\s*:'
        r'|["\x27]session["\x27]\s*:[\s\S]{0,300}?["\x27]result["\x27]\s*:\s*(?:[Tt]rue|[Ff]alse)\b'
    ),
    # The city or province a Chinese company's name may open with ("Zhejiang Dahua", "Hangzhou
    # Hikvision", "Shenzhen Reolink"), optional, so the label after it is what a rule reads.
    "company_city": (
        r"(?:(?i:Zhejiang|Hangzhou|Shenzhen|Xiamen|Tianjin|Guangzhou|Beijing|Shanghai)\s+)?"
    ),
    # Any challenge of either scheme, up to the opening quote of its realm.
    "challenge_realm": r'(?:WWW-Authenticate:\s*)?(?:Digest|Basic)\b[^\r\n]*?\brealm="',
    # A label standing in front of a product word: "<Brand> RTSP Server", "<Brand>Http",
    # "<Brand>-Webs", "<Brand> Network Camera", "iptimeRtspServer" (joined at a case change). The
    # label is lazy, so the first product word ends it. Interlogix, Hills, UTC and GE name more
    # than cameras (an alarm panel's "Interlogix Web Server") and are never read as labels.
    "leading_brand": (
        r"(?!(?i:interlogix|hills|utc|ge)\b)"
        r"(?P<brand>[A-Za-z][A-Za-z0-9&]{0,29}?"
        r"(?:-(?!(?i:rtsp|https?|webs?|streaming|media|video|ip|cam|network|nvr|dvr|server))"
        r"[A-Za-z0-9&]{1,20})?(?: [A-Za-z][A-Za-z0-9&]{1,20})??)"
        r"(?:[ _-]|(?<=[a-z])(?=[A-Z]))"
        r"(?i:rtsp|https?d?|webs?|web ?server|streaming|media|video|ip[ -]?cam(?:era)?"
        r"|network ?camera|camera|nvr|dvr|server)(?=[A-Z/ _-]|\b)"
    ),
}
_FRAGMENT_CALL = re.compile(r"\(\?&([a-z_]+)\)")


def expand_fragments(pattern: str) -> tuple[str, list[str]]:
    """`pattern` with each (?&name) replaced by its PATTERN_FRAGMENTS text, and the names that
    are not fragments (left in place, so the pattern does not compile)."""
    unknown: list[str] = []
    if "(?&" not in pattern:
        return pattern, unknown  # most patterns: no scan of every pattern at every start

    def fragment(call: re.Match[str]) -> str:
        text = PATTERN_FRAGMENTS.get(call.group(1))
        if text is None:
            unknown.append(call.group(1))
            return call.group(0)
        return text

    return _FRAGMENT_CALL.sub(fragment, pattern), unknown


_LABEL_TAIL = f"(?:[ ,.]+(?i:{'|'.join(re.escape(word) for word in LABEL_TAIL_WORDS)}))*[ .]*$"


def label_pattern(name: str) -> str:
    """The anchored pattern a match = "label" rule stands for: its name pattern, then any run
    of LABEL_TAIL_WORDS, then optional trailing dots and spaces."""
    return f"^(?:{name}){_LABEL_TAIL}"


def search_allowed(channel: str, field: str) -> bool:
    """Whether a rule on this channel/field may use match = "search"."""
    return channel in SEARCH_CHANNELS or (channel in SEARCH_WHOLE_VALUE_CHANNELS and field == "")


def value_limit(channel: str) -> int:
    """How many characters of a value on this channel are looked at."""
    return LARGE_VALUE_CHARS if channel in LARGE_CHANNELS else SMALL_VALUE_CHARS


def fingerprints_dir() -> Path:
    """The shipped fingerprints directory: in the wheel, else the repo's (editable)."""
    packaged = importlib.resources.files("camaudit") / "fingerprints"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "fingerprints"


@dataclass(frozen=True, slots=True, kw_only=True)
class Identifiers:
    """Allowed maker ids (with display names) and device types, from fingerprints/identifiers/."""

    makers: dict[str, str]  # id -> display name
    device_types: frozenset[str]

    def maker_display(self, maker: str) -> str:
        """The human name of a maker id ("hikvision" -> "Hikvision")."""
        return self.makers.get(maker) or maker.replace("-", " ").title()


def _read_list(path: Path) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if not path.is_file():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        key, _, display = line.partition("\t")
        rows.append((key.strip(), display.strip()))
    return rows


@functools.lru_cache(maxsize=8)
def load_identifiers(directory: Path | None = None) -> Identifiers:
    """Read makers.txt ("id" or "id<TAB>Display Name" per line) and device_types.txt."""
    base = (directory or fingerprints_dir()) / "identifiers"
    makers = dict(_read_list(base / "makers.txt"))
    types = frozenset(key for key, _ in _read_list(base / "device_types.txt"))
    return Identifiers(makers=makers, device_types=types)

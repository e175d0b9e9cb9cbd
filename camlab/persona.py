"""Persona files: how one real device model answers on each channel, loaded and checked.

A persona is a TOML file (format in docs/lab.md). Strings may hold placeholders such as {ip}
or {serial}; they are filled per device instance by `render`, so one persona can be placed many
times in a site with different addresses and MACs.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from camlab.errors import LabError

PERSONA_DIR = Path(__file__).parent / "personas"
SELFTEST_DIR = PERSONA_DIR / "_selftest"

# Channel names used in [expect].channels and in a site's per-device `channels` restriction.
CHANNELS: frozenset[str] = frozenset(
    {"http", "https", "rtsp", "wsdiscovery", "onvif", "sadp", "dhip", "ssdp", "mdns", "tcp", "arp"}
)
_TOP_KEYS = frozenset(
    {
        "id",
        "title",
        "sources",
        "mac_prefix",
        "expect",
        "vars",
        "http",
        "tls",
        "rtsp",
        "wsdiscovery",
        "onvif",
        "sadp",
        "dhip",
        "ssdp",
        "mdns",
        "tcp",
    }
)
_FIXED_PLACEHOLDERS = frozenset(
    {
        "ip",
        "mac",
        "mac_dash",
        "mac_hex",
        "mac_hex_lower",
        "serial",
        "model",
        "firmware",
        "uuid",
        "nonce",
        "serial_tail",
        "hostname",
    }
)
_MAC_PREFIX = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){2}(:[0-9a-f]{1,2})?$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Expect:
    """Ground truth for end-to-end tests: what a scan should conclude about this persona."""

    maker: str
    brand: str
    device_type: str
    flagged: bool
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Persona:
    """One device model as loaded from TOML; `raw` keeps the channel tables as written."""

    id: str
    title: str
    sources: tuple[str, ...]
    mac_prefix: str  # lower-case, colon separated, 6-9 hex digits
    expect: Expect
    vars: Mapping[str, str]
    raw: Mapping[str, Any]
    path: Path
    bodies: Mapping[str, str] = field(default_factory=dict)  # body_file -> text

    def speaks(self) -> frozenset[str]:
        """Channels this persona answers on (before any per-device restriction)."""
        spoken = {
            name
            for name in ("rtsp", "wsdiscovery", "onvif", "sadp", "dhip", "ssdp", "mdns")
            if name in self.raw
        }
        for server in self.raw.get("http", []):
            spoken.add("https" if server.get("tls") else "http")
        if self.raw.get("tcp", {}).get("open"):
            spoken.add("tcp")
        return frozenset(spoken)


def _fail(path: Path, message: str) -> LabError:
    return LabError(f"persona {path.name}: {message}")


def _placeholders(text: str) -> set[str]:
    names: set[str] = set()
    for _literal, name, _spec, _conv in string.Formatter().parse(text):
        if name is not None:
            names.add(name)
    return names


def _check_strings(value: object, allowed: frozenset[str], path: Path, where: str) -> None:
    """Every string in `value` formats with known placeholders only."""
    if isinstance(value, str):
        try:
            names = _placeholders(value)
        except ValueError as exc:
            raise _fail(
                path, f"{where}: bad braces in {value!r} ({exc}); double literal braces"
            ) from None
        unknown = sorted(n for n in names if n not in allowed)
        if unknown or any(not n or not n.isidentifier() for n in names):
            raise _fail(path, f"{where}: unknown placeholder(s) {unknown or names} in {value!r}")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_strings(item, allowed, path, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_strings(item, allowed, path, f"{where}[{index}]")


def _require(
    table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], path: Path, where: str
) -> Any:
    if key not in table:
        raise _fail(path, f"{where}: missing {key!r}")
    value = table[key]
    if not isinstance(value, kind):
        raise _fail(path, f"{where}.{key}: expected {kind}, got {type(value).__name__}")
    return value


def _check_pairs(value: object, path: Path, where: str) -> None:
    if not isinstance(value, list) or not all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        for pair in value
    ):
        raise _fail(path, f"{where}: expected a list of [name, value] string pairs")


def _check_http(raw: Mapping[str, Any], path: Path) -> dict[str, str]:
    bodies: dict[str, str] = {}
    servers = raw.get("http", [])
    if not isinstance(servers, list):
        raise _fail(path, "[[http]] must be an array of tables")
    ports: set[int] = set()
    for index, server in enumerate(servers):
        where = f"http[{index}]"
        port = _require(server, "port", int, path, where)
        if port in ports:
            raise _fail(path, f"{where}: port {port} listed twice")
        ports.add(port)
        if server.get("tls") and "tls" not in raw:
            raise _fail(path, f"{where}: tls = true needs a [tls] table")
        for r_index, route in enumerate(server.get("route", [])):
            r_where = f"{where}.route[{r_index}]"
            _require(route, "path", str, path, r_where)
            status = route.get("status", 200)
            if not isinstance(status, int) or not 100 <= status <= 599:
                raise _fail(path, f"{r_where}: status must be an HTTP status code")
            _check_pairs(route.get("headers", []), path, f"{r_where}.headers")
            if "digest" in route:
                for key in ("realm", "user", "password"):
                    _require(route["digest"], key, str, path, f"{r_where}.digest")
            if "body" in route and "body_file" in route:
                raise _fail(path, f"{r_where}: give body or body_file, not both")
            if "body_file" in route:
                body_path = (path.parent / route["body_file"]).resolve()
                if not body_path.is_relative_to(
                    PERSONA_DIR.resolve()
                ) and not body_path.is_relative_to(path.parent.resolve()):
                    raise _fail(path, f"{r_where}: body_file must stay under personas/")
                try:
                    bodies[route["body_file"]] = body_path.read_text(encoding="utf-8")
                except OSError as exc:
                    raise _fail(path, f"{r_where}: cannot read body_file: {exc}") from None
    return bodies


def _check_sections(raw: Mapping[str, Any], path: Path) -> None:
    if "tls" in raw:
        _check_pairs(_require(raw["tls"], "subject", list, path, "tls"), path, "tls.subject")
        if "issuer" in raw["tls"]:
            _check_pairs(raw["tls"]["issuer"], path, "tls.issuer")
    if "rtsp" in raw:
        _require(raw["rtsp"], "port", int, path, "rtsp")
        for key in ("headers", "describe_headers"):
            _check_pairs(raw["rtsp"].get(key, []), path, f"rtsp.{key}")
    if "wsdiscovery" in raw:
        for key in ("types", "xaddrs", "epr"):
            _require(raw["wsdiscovery"], key, str, path, "wsdiscovery")
        if raw["wsdiscovery"].get("match_types", "any") not in ("any", "nvt"):
            raise _fail(path, "wsdiscovery.match_types must be 'any' or 'nvt'")
    if "onvif" in raw:
        mode = raw["onvif"].get("device_information_auth", "digest-401")
        if mode not in ("none", "soap-fault", "digest-401"):
            raise _fail(path, f"onvif.device_information_auth: unknown mode {mode!r}")
        _require(raw["onvif"], "port", int, path, "onvif")
    if "sadp" in raw:
        _check_pairs(_require(raw["sadp"], "fields", list, path, "sadp"), path, "sadp.fields")
    if "dhip" in raw:
        _require(raw["dhip"], "device_info", dict, path, "dhip")
    if "ssdp" in raw:
        _require(raw["ssdp"], "location_path", str, path, "ssdp")
        # SERVER is optional: a persona leaves it out where no source publishes it.
        if "server" in raw["ssdp"]:
            _require(raw["ssdp"], "server", str, path, "ssdp")
    if "mdns" in raw:
        for index, service in enumerate(raw["mdns"].get("service", [])):
            for key in ("type", "instance"):
                _require(service, key, str, path, f"mdns.service[{index}]")
            if not service["type"].endswith(".local."):
                raise _fail(path, f"mdns.service[{index}].type must end with '.local.'")
    if "tcp" in raw:
        ports = raw["tcp"].get("open", [])
        if not isinstance(ports, list) or not all(
            isinstance(p, int) and 0 < p < 65536 for p in ports
        ):
            raise _fail(path, "tcp.open must be a list of port numbers")


def load_persona(path: Path) -> Persona:
    """Read and check one persona file; raises LabError naming the file and the problem."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _fail(path, str(exc)) from None
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise _fail(path, f"unknown keys {unknown}")
    persona_id = _require(raw, "id", str, path, "top")
    if persona_id != path.stem:
        raise _fail(path, f"id {persona_id!r} must equal the file stem {path.stem!r}")
    mac_prefix = _require(raw, "mac_prefix", str, path, "top").lower()
    if not _MAC_PREFIX.match(mac_prefix):
        raise _fail(path, f"mac_prefix {mac_prefix!r} is not an OUI (aa:bb:cc) or longer prefix")
    if int(mac_prefix[:2], 16) & 0x01:
        raise _fail(path, "mac_prefix is a multicast address")
    expect_raw = _require(raw, "expect", dict, path, "top")
    channels = tuple(expect_raw.get("channels", []))
    bad_channels = sorted(set(channels) - CHANNELS)
    if bad_channels:
        raise _fail(path, f"expect.channels: unknown {bad_channels}; known: {sorted(CHANNELS)}")
    expect = Expect(
        maker=str(expect_raw.get("maker", "")),
        brand=str(expect_raw.get("brand", "")),
        device_type=str(expect_raw.get("device_type", "")),
        flagged=bool(expect_raw.get("flagged", False)),
        channels=channels,
    )
    variables = raw.get("vars", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise _fail(path, "[vars] values must be strings")
    bodies = _check_http(raw, path)
    _check_sections(raw, path)
    allowed = _FIXED_PLACEHOLDERS | frozenset(variables)
    channel_tables = {
        k: v for k, v in raw.items() if k not in ("id", "title", "sources", "expect", "vars")
    }
    _check_strings(channel_tables, allowed, path, "persona")
    _check_strings(bodies, allowed, path, "body_file")
    persona = Persona(
        id=persona_id,
        title=str(raw.get("title", persona_id)),
        sources=tuple(raw.get("sources", ())),
        mac_prefix=mac_prefix,
        expect=expect,
        vars=dict(variables),
        raw=raw,
        path=path,
        bodies=bodies,
    )
    undeclared = sorted(set(channels) - persona.speaks() - {"arp"})
    if undeclared:
        raise _fail(path, f"expect.channels lists {undeclared} but the persona has no such section")
    return persona


def persona_dirs(include_selftest: bool = False) -> list[Path]:
    """Folders searched for personas: the shipped set, optionally the lab's self-test set too."""
    return [PERSONA_DIR, SELFTEST_DIR] if include_selftest else [PERSONA_DIR]


def load_all(dirs: list[Path] | None = None) -> dict[str, Persona]:
    """Every persona in the given folders (default: the shipped set), by id."""
    personas: dict[str, Persona] = {}
    for folder in dirs or persona_dirs():
        for path in sorted(folder.glob("*.toml")):
            persona = load_persona(path)
            if persona.id in personas:
                raise _fail(path, f"duplicate persona id {persona.id!r}")
            personas[persona.id] = persona
    return personas


def find_persona(persona_id: str, dirs: list[Path] | None = None) -> Persona:
    """One persona by id from the given folders (default: shipped and self-test sets)."""
    for folder in dirs or persona_dirs(include_selftest=True):
        path = folder / f"{persona_id}.toml"
        if path.is_file():
            return load_persona(path)
    raise LabError(f"no persona named {persona_id!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Instance:
    """One placed copy of a persona: its address, MAC and the values its placeholders take."""

    persona: Persona
    ip: IPv4Address
    mac: str  # lower-case, colon separated
    channels: frozenset[str]  # what this instance answers on

    def values(self) -> dict[str, str]:
        """Placeholder values; {nonce} is fresh on every call, as on a real device."""
        mac_hex = self.mac.replace(":", "")
        base = {
            "model": "",
            "serial": "",
            "firmware": "",
            "hostname": "",
            **self.persona.vars,
        }
        serial = base["serial"]
        base.update(
            ip=str(self.ip),
            mac=self.mac,
            mac_dash=self.mac.replace(":", "-"),
            mac_hex=mac_hex.upper(),
            mac_hex_lower=mac_hex,
            uuid=str(
                uuid.UUID(
                    bytes=hashlib.sha256(f"{self.persona.id}|{self.mac}".encode()).digest()[:16],
                    version=4,
                )
            ),
            nonce=secrets.token_hex(16),
            serial_tail=serial[-5:],
        )
        # [vars] may themselves use placeholders (e.g. hostname = "axis-{mac_hex_lower}").
        for key in self.persona.vars:
            base[key] = self.persona.vars[key].format_map(base)
        return base

    def render(self, value: Any, values: Mapping[str, str] | None = None) -> Any:
        """Fill placeholders in a string, or in every string of a list/table (other types kept)."""
        values = values if values is not None else self.values()
        if isinstance(value, str):
            return value.format_map(values)
        if isinstance(value, Mapping):
            return {key: self.render(item, values) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.render(item, values) for item in value]
        return value


def derive_mac(prefix: str, seed: str, suffix: str | None = None) -> str:
    """A MAC from a persona's prefix and either a given suffix or bytes derived from `seed`."""
    prefix_hex = prefix.replace(":", "")
    if suffix is not None:
        rest = suffix.replace(":", "").replace("-", "").lower()
        if not re.fullmatch(r"[0-9a-f]*", rest) or len(prefix_hex) + len(rest) != 12:
            raise LabError(f"mac_suffix {suffix!r} does not complete prefix {prefix!r} to 6 bytes")
    else:
        rest = hashlib.sha256(seed.encode()).hexdigest()[: 12 - len(prefix_hex)]
    full = prefix_hex + rest
    return ":".join(full[i : i + 2] for i in range(0, 12, 2))

"""The site config file (`camaudit scan --config site.toml`): read, checked, merged with options.

Every check happens here, before anything is sent: an unknown key, a wrong type or an unreadable
file is a ConfigError naming the file and the key (docs/config.md).
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from camaudit.errors import ConfigError

# A config file is a few lines; cap the read so a wrong path (a disk image) fails fast.
MAX_CONFIG_BYTES = 1024 * 1024
OUTPUT_FORMATS = ("table", "json", "csv", "html")
PLACEHOLDERS = ("date", "site")
MAX_LOCK_WAIT_S = 24 * 3600.0
DEFAULT_WEBHOOK_TIMEOUT_S = 5.0
DEFAULT_WEBHOOK_RETRIES = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Webhook:
    """Where to POST the new-flagged event, how long one attempt may take, how often to retry."""

    url: str
    timeout_s: float = DEFAULT_WEBHOOK_TIMEOUT_S
    retries: int = DEFAULT_WEBHOOK_RETRIES


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteConfig:
    """What one site's scheduled scan needs; unset fields fall back to the option defaults."""

    site: str | None = None
    targets: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    interfaces: tuple[str, ...] = ()
    probes: tuple[str, ...] = ()
    policy: str | None = None
    db: str | None = None
    spool: str | None = None
    outputs: Mapping[str, str] = field(default_factory=dict)
    webhook: Webhook | None = None
    lock_wait_s: float | None = None


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected a non-empty string, got {_kind(value)}")
    return value


def _texts(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: expected a list of non-empty strings, got {_kind(value)}")
    return tuple(value)


def _number(where: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"{where}: expected a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _kind(value: Any) -> str:
    return {str: "a string", list: "a list", dict: "a table", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


def _relative_to(folder: Path, value: str) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else folder / path)


def check_template(where: str, template: str) -> str:
    """An output path template that uses only {date} and {site}."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(f"{where}: bad placeholder in {template!r} ({exc})") from None
    for _, name, spec, conversion in parts:
        if name is not None and (name not in PLACEHOLDERS or spec or conversion):
            raise ConfigError(
                f"{where}: unknown placeholder {{{name}}} in {template!r}; use {{date}} or {{site}}"
            )
    return template


def check_webhook_url(where: str, url: str) -> str:
    """An http(s) URL with a host; anything else is refused before the scan."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: expected an http:// or https:// URL, got {url!r}")
    return url


def _webhook(where: str, value: Any) -> Webhook:
    if isinstance(value, str):
        return Webhook(url=check_webhook_url(where, value))
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a URL or a table with url, got {_kind(value)}")
    unknown = sorted(set(value) - {"url", "timeout", "retries"})
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: url, timeout, retries)")
    if "url" not in value:
        raise ConfigError(f"{where}: missing url")
    return Webhook(
        url=check_webhook_url(f"{where}.url", _text(f"{where}.url", value["url"])),
        timeout_s=_number(f"{where}.timeout", value.get("timeout", 5.0), 0.1, 120),
        retries=int(_number(f"{where}.retries", value.get("retries", 2), 0, 10)),
    )


def _outputs(where: str, value: Any, folder: Path) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table of format = path, got {_kind(value)}")
    outputs = {}
    for fmt, template in value.items():
        if fmt not in OUTPUT_FORMATS:
            known = ", ".join(OUTPUT_FORMATS)
            raise ConfigError(f"{where}: unknown format {fmt!r} (known: {known})")
        path = check_template(f"{where}.{fmt}", _text(f"{where}.{fmt}", template))
        outputs[fmt] = _relative_to(folder, path)
    return outputs


def _probes(where: str, value: Any) -> tuple[str, ...]:
    from camaudit.probes import PROBE_NAMES

    names = _texts(where, value)
    for name in names:
        if name not in PROBE_NAMES:
            raise ConfigError(f"{where}: unknown probe {name!r} (known: {', '.join(PROBE_NAMES)})")
    return names


def parse_config(data: Mapping[str, Any], source: str, folder: Path) -> SiteConfig:
    """A SiteConfig from parsed TOML; relative paths are taken from the config's folder."""
    known = ("site", "targets", "exclude", "interfaces", "probes", "policy", "db", "spool",
             "outputs", "webhook", "lock_wait")  # fmt: skip
    for key in data:
        if key not in known:
            raise ConfigError(f"{source}: unknown key {key!r} (known: {', '.join(known)})")
    at = f"{source}:".__add__
    db = _text(at("db"), data["db"]) if "db" in data else None
    policy = _text(at("policy"), data["policy"]) if "policy" in data else None
    return SiteConfig(
        site=_text(at("site"), data["site"]) if "site" in data else None,
        targets=_texts(at("targets"), data.get("targets", [])),
        exclude=_texts(at("exclude"), data.get("exclude", [])),
        interfaces=_texts(at("interfaces"), data.get("interfaces", [])),
        probes=_probes(at("probes"), data.get("probes", [])),
        policy=_relative_to(folder, policy) if policy and policy.endswith(".toml") else policy,
        db=db if db is None or "://" in db else _relative_to(folder, db),
        spool=_relative_to(folder, _text(at("spool"), data["spool"])) if "spool" in data else None,
        outputs=_outputs(at("outputs"), data.get("outputs", {}), folder),
        webhook=_webhook(at("webhook"), data["webhook"]) if "webhook" in data else None,
        lock_wait_s=_number(at("lock_wait"), data["lock_wait"], 0, MAX_LOCK_WAIT_S)
        if "lock_wait" in data
        else None,
    )


def load_config(path: Path) -> SiteConfig:
    """Read and check a site config file; ConfigError (one line) if it cannot be used."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes; not a config file")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return parse_config(data, str(path), path.parent)


def merged(base: SiteConfig, given: SiteConfig) -> SiteConfig:
    """The config with every field the command line gave (not None, not empty) taking over."""
    changes = {}
    for item in fields(given):
        value = getattr(given, item.name)
        if value is not None and value != () and value != {}:
            changes[item.name] = value
    return replace(base, **changes)


def safe_name(site: str | None) -> str:
    """A site name fit for a file name: runs of other characters become "_"."""
    if not site:
        return "no-site"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", site).strip("._")[:60] or "site"


def site_slug(site: str | None) -> str:
    """safe_name plus a hash of the exact name, so "Depot 4" and "Depot_4" never share a lock."""
    if not site:
        return "no-site"
    return f"{safe_name(site)}-{sha256(site.encode('utf-8', 'replace')).hexdigest()[:8]}"


def output_path(template: str, *, site: str | None, started: datetime) -> Path:
    """An output template filled in: {date} the scan's UTC date, {site} its safe_name."""
    day = started.astimezone(UTC).strftime("%Y-%m-%d")
    return Path(template.format(date=day, site=safe_name(site)))


def scan_settings(config_file: Path | None, given: SiteConfig) -> SiteConfig:
    """The config file (if any) with the command line's options laid over it."""
    base = load_config(config_file) if config_file is not None else SiteConfig()
    return merged(base, given)

"""NSE script output in nmap XML, mapped onto camaudit's evidence channels (pure).

Each reader takes one `<script>` element (its `output` text and structured `<elem>`/`<table>`
children, https://nmap.org/book/nse-api.html#nse-structured-output) and returns evidence shaped
as the live probe on that channel records it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from ipaddress import AddressValueError, IPv4Address
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element  # noqa: S405 - type only; defusedxml parses

from cryptography import x509

from camaudit.models import Evidence
from camaudit.probes import http_codec

PROBE = "nmap"
MAX_SCRIPT_LINES = 1024
_HEADER_LINE = re.compile(r"^\s{0,8}([!#-9;-~]{1,128}):\s?(.*)$")
_SERVICE_LINE = re.compile(r"^\s*(\d{1,5})/(tcp|udp) (\S{1,64})\s*$")
_BROWSE_TYPE = re.compile(r"^\s*(_[\w-]{1,64}\._(?:tcp|udp)\.local)\.?\s*$")
_TXT_LINE = re.compile(r"^\s*([^=\s][^=]{0,63}=.*)$")

_HEADING = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
_BROADCAST = IPv4Address("255.255.255.255")

Reader = Callable[[Element, IPv4Address, int | None], list[Evidence]]


def _item(host: IPv4Address, port: int | None, channel: str, value: str) -> Evidence:
    return Evidence(host=host, channel=channel, value=value, probe=PROBE, port=port)


def _lines(script: Element) -> list[str]:
    return (script.get("output") or "").splitlines()[:MAX_SCRIPT_LINES]


def _elem(script: Element, key: str) -> str | None:
    for element in script.iter("elem"):
        if element.get("key") == key:
            return element.text or ""
    return None


def http_headers(script: Element, host: IPv4Address, port: int | None) -> list[Evidence]:
    """http-headers: the header block (no status line: nmap leaves it out), Server, challenges."""
    pairs: list[tuple[bytes, bytes]] = []
    for line in _lines(script):
        if not line.strip():
            if pairs:
                break  # the blank line before "(Request type: ...)"
            continue
        match = _HEADER_LINE.match(line)
        if match:
            pairs.append(
                (match[1].encode("latin-1", "replace"), match[2].encode("latin-1", "replace"))
            )
    if not pairs:
        return []
    found = [_item(host, port, "http.headers", http_codec.header_block(pairs))]
    for header, channel in (
        ("Server", "http.server"),
        ("WWW-Authenticate", "http.www_authenticate"),
        ("Location", "http.location"),
    ):
        found += [_item(host, port, channel, v) for v in http_codec.header_values(pairs, header)]
    return found


def http_server_header(script: Element, host: IPv4Address, port: int | None) -> list[Evidence]:
    """http-server-header: the Server value (an empty one is kept, as the live probe keeps it)."""
    values = [element.text or "" for element in script.iter("elem")]
    return [_item(host, port, "http.server", value.strip()) for value in values]


def http_title(script: Element, host: IPv4Address, port: int | None) -> list[Evidence]:
    """http-title: the page title, and where a redirect led."""
    found: list[Evidence] = []
    title = _elem(script, "title")
    if title and title.strip():
        found.append(_item(host, port, "http.title", " ".join(title.split())[:1024]))
    redirect = _elem(script, "redirect_url")
    if redirect:
        found.append(_item(host, port, "http.location", redirect.strip()))
    return found


def http_auth(script: Element, host: IPv4Address, port: int | None) -> list[Evidence]:
    """http-auth: each challenge rebuilt as a WWW-Authenticate value, realm first."""
    found: list[Evidence] = []
    for challenge in script.findall("table"):
        scheme = _elem(challenge, "scheme")
        params = challenge.find("table[@key='params']")
        if not scheme:
            continue
        fields = (
            []
            if params is None
            else [(element.get("key") or "", element.text or "") for element in params.iter("elem")]
        )
        fields.sort(key=lambda pair: pair[0] != "realm")
        text = ", ".join(f'{key}="{value}"' for key, value in fields if key)
        found.append(_item(host, port, "http.www_authenticate", f"{scheme} {text}".strip()))
    return found


def ssl_cert(script: Element, host: IPv4Address, port: int | None) -> list[Evidence]:
    """ssl-cert: subject and issuer read from the PEM exactly as the live TLS probe writes them."""
    pem = _elem(script, "pem")
    if not pem:
        return []
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode("ascii", "replace"))
    except ValueError:
        return []
    return [
        _item(host, port, "tls.subject", http_codec.format_name(certificate.subject)),
        _item(host, port, "tls.issuer", http_codec.format_name(certificate.issuer)),
    ]


def rtsp_methods(script: Element, host: IPv4Address, port: int | None) -> list[Evidence]:
    """rtsp-methods: the OPTIONS reply's Public methods, comma-separated as devices send them."""
    methods = [(element.text or "").strip() for element in script.iter("elem")]
    text = ", ".join(method for method in methods if method) or (script.get("output") or "").strip()
    return [_item(host, port, "rtsp.public", text)] if text else []


def snmp_sysdescr(script: Element, host: IPv4Address, port: int | None) -> list[Evidence]:
    """snmp-sysdescr: sysDescr.0 (RFC 3418), without the uptime line nmap appends."""
    lines = [line for line in _lines(script) if not line.strip().startswith("System uptime:")]
    text = "\n".join(line.strip() for line in lines if line.strip())
    return [_item(host, port, "snmp.sysdescr", text)] if text else []


def dns_service_discovery(script: Element, host: IPv4Address, port: int | None) -> list[Evidence]:
    """dns-service-discovery: a host's service types and TXT items, named as the mdns probe does."""
    return _dns_sd_lines(_lines(script), host)


def _dns_sd_lines(lines: list[str], fallback: IPv4Address | None) -> list[Evidence]:
    """Each service block ("80/tcp CGI", its TXT items, "Address=...") under the address the
    block names, else `fallback`."""
    found: list[Evidence] = []
    for name, items, addresses in _service_blocks(lines):
        host = next(iter(addresses), fallback)
        if host is None:
            continue
        found.append(_item(host, 5353, "mdns.service", name))
        found += [_item(host, 5353, "mdns.txt", item) for item in items]
    return found


def _service_blocks(lines: list[str]) -> list[tuple[str, list[str], list[IPv4Address]]]:
    blocks: list[tuple[str, list[str], list[IPv4Address]]] = []
    for line in lines:
        service = _SERVICE_LINE.match(line)
        browse = _BROWSE_TYPE.match(line)
        if service:
            blocks.append((f"_{service[3]}._{service[2]}.local.", [], []))
        elif browse:
            blocks.append((browse[1] + ".", [], []))
        elif blocks and line.strip().startswith("Address="):
            blocks[-1][2].extend(_addresses(line.strip()[len("Address=") :].split()))
        elif blocks and (txt := _TXT_LINE.match(line)):
            blocks[-1][1].append(txt[1].strip())
    return blocks


def _addresses(words: list[str]) -> list[IPv4Address]:
    found: list[IPv4Address] = []
    for word in words:
        with contextlib.suppress(AddressValueError):
            found.append(IPv4Address(word))
    return found


def _unicast(text: str) -> IPv4Address | None:
    try:
        address = IPv4Address(text.strip())
    except AddressValueError:
        return None
    usable = not (address.is_multicast or address.is_unspecified or address == _BROADCAST)
    return address if usable else None


def _url_host(url: str) -> IPv4Address | None:
    try:
        return _unicast(urlsplit(url.strip()).hostname or "")
    except ValueError:
        return None


def _per_responder(lines: list[str], url_key: str) -> list[tuple[IPv4Address, list[str]]]:
    """Broadcast script output, one group per responder. NOTE: nmap heads each group with the
    address it asked (the multicast group, as often as not), so the responder is the heading
    only when that is a unicast address, else the host of the group's `url_key` URL."""
    groups: list[tuple[str, list[str]]] = []
    for line in lines:
        heading = line.strip()
        if _HEADING.match(heading):
            groups.append((heading, []))
        elif groups:
            groups[-1][1].append(line)
    responders: list[tuple[IPv4Address, list[str]]] = []
    for heading, body in groups:
        urls = [
            value
            for key, _c, value in (ln.strip().partition(": ") for ln in body)
            if key == url_key
        ]
        host = _unicast(heading) or next(filter(None, map(_url_host, urls)), None)
        if host is not None:
            responders.append((host, body))
    return responders


def broadcast_dns_sd(script: Element, host: IPv4Address, port: int | None) -> list[Evidence]:
    """broadcast-dns-service-discovery: each service under the address its block names."""
    found: list[Evidence] = []
    lines = _lines(script)
    groups: list[tuple[IPv4Address | None, list[str]]] = []
    for line in lines:
        if _HEADING.match(line.strip()):
            groups.append((_unicast(line), []))
        elif groups:
            groups[-1][1].append(line)
    for heading, body in groups:
        found += _dns_sd_lines(body, heading)
    return found


def broadcast_wsdd(script: Element, host: IPv4Address, port: int | None) -> list[Evidence]:
    """broadcast-wsdd-discover: each device's Types and XAddrs (nmap does not print Scopes)."""
    found: list[Evidence] = []
    for address, lines in _per_responder(_lines(script), "Address"):
        for line in lines:
            key, _colon, value = line.strip().partition(": ")
            channel = {"Address": "wsd.xaddrs", "Type": "wsd.types"}.get(key)
            if channel and value.strip():
                found.append(_item(address, 3702, channel, value.strip()))
    return found


_UPNP_FIELDS = {
    "Name": "friendlyName",
    "Manufacturer": "manufacturer",
    "Model Descr": "modelDescription",
    "Model Name": "modelName",
    "Model Version": "modelNumber",
}


def broadcast_upnp(script: Element, host: IPv4Address, port: int | None) -> list[Evidence]:
    """broadcast-upnp-info: SERVER as ssdp.server; the description fields nmap printed, written
    back as a minimal UPnP description so the same field rules read them."""
    from xml.sax.saxutils import escape  # noqa: PLC0415, S406 - escaping only, no parsing

    found: list[Evidence] = []
    for address, lines in _per_responder(_lines(script), "Location"):
        fields: list[str] = []
        for number, line in enumerate(lines):
            key, colon, value = line.strip().partition(":")
            if number == 0 and not colon:
                found.append(_item(address, 1900, "ssdp.server", line.strip()))
            elif key == "Server":
                found.append(_item(address, 1900, "ssdp.server", value.strip()))
            elif key in _UPNP_FIELDS and value.strip():
                tag = _UPNP_FIELDS[key]
                fields.append(f"<{tag}>{escape(value.strip())}</{tag}>")
        if fields:
            description = f"<root><device>{''.join(fields)}</device></root>"
            found.append(_item(address, 1900, "upnp.description", description))
    return found


# Script id -> reader. Port scripts get the port's host and number; pre-/post-scripts the host
# is taken from their own output.
PORT_SCRIPTS: dict[str, Reader] = {
    "http-headers": http_headers,
    "http-server-header": http_server_header,
    "http-title": http_title,
    "http-auth": http_auth,
    "ssl-cert": ssl_cert,
    "rtsp-methods": rtsp_methods,
    "snmp-sysdescr": snmp_sysdescr,
    "dns-service-discovery": dns_service_discovery,
}
BROADCAST_SCRIPTS: dict[str, Reader] = {
    "broadcast-wsdd-discover": broadcast_wsdd,
    "broadcast-upnp-info": broadcast_upnp,
    "broadcast-dns-service-discovery": broadcast_dns_sd,
}

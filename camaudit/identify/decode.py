"""Turn one evidence value into facets (field, text) for rules to match; pure, total."""

from __future__ import annotations

import functools
import ipaddress
import json
import re
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from camaudit import xmlsafe
from camaudit.htmltitle import extract_title
from camaudit.identify import oui, vocabulary
from camaudit.identify.vocabulary import (
    LARGE_CHANNELS,
    LARGE_VALUE_CHARS,
    SMALL_VALUE_CHARS,
    value_limit,
)
from camaudit.identity import normalise_mac
from camaudit.models import Evidence
from camaudit.xmlsafe import local_name

Facet = tuple[str, str]

MAX_FACETS = 512  # a hostile document cannot make matching quadratic in its element count

# Tolerant fallbacks for what real devices send: SADP replies with broken XML, DHIP replies
# shown in other notations (Ruby `=>`). Each is linear: no nested quantifiers.
_XML_LEAF = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)(?:\s[^<>]*)?>([^<>]*)</")
_JSON_PAIR = re.compile(
    r'"([^"\\]{1,64})"\s*(?::|=>)\s*(?:"((?:[^"\\]|\\.){0,1024})"|(-?\d[\d.]*|true|false))'
)
_TOKEN = re.compile(r"\S+")
# A UUID at the start of an EPR address or search target (optionally "urn:"), and its last group:
# an RFC 9562 UUID, or the UPnP SDK's own "Upnp-<device>-1_0-<MAC>" form (Axis, Synology cameras).
_UUID_TAIL = re.compile(
    r"(?i)(?:urn:)?uuid:(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}|Upnp-[\w.]{1,64}-\d_\d)"
    r"-([0-9a-f]{12})(?![0-9a-f])"
)


def _cap(text: str) -> str:
    return text.strip()[:SMALL_VALUE_CHARS]


def xml_leaves(raw: str) -> list[Facet]:
    """(local-name, text) of every leaf element with text; a tolerant regex if the XML is broken."""
    try:
        # Values reach here already cut to value_limit(); a bare DOCTYPE is read, never entities.
        root = xmlsafe.parse(raw, max_bytes=LARGE_VALUE_CHARS, forbid_dtd=False)
    except xmlsafe.XmlError:
        return [(name, _cap(text)) for name, text in _XML_LEAF.findall(raw) if text.strip()][
            :MAX_FACETS
        ]
    facets: list[Facet] = []
    for element in root.iter():
        if len(element) == 0 and element.text and element.text.strip():
            facets.append((local_name(element.tag), _cap(element.text)))
            if len(facets) >= MAX_FACETS:
                break
    return facets


def _flatten(value: object, key: str, out: list[Facet]) -> None:
    if len(out) >= MAX_FACETS:
        return
    if isinstance(value, dict):
        for child_key, child in value.items():
            _flatten(child, str(child_key), out)
    elif isinstance(value, list):
        for child in value:
            _flatten(child, key, out)
    elif key:
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif value is None:
            return
        else:
            text = str(value)
        out.append((key, _cap(text)))


def _json_body(raw: str) -> str:
    start = raw.find("{")
    if raw[4:8] == "DHIP":
        # NOTE: 32-byte DHIP header (UniversalScanner Dahua2.cs); after a lossy text decode the
        # header may not be 32 chars, so the body starts at the first brace after the magic.
        start = raw.find("{", 8)
    end = raw.rfind("}")
    return raw[start : end + 1] if 0 <= start < end else ""


def dhip_fields(raw: str) -> list[Facet]:
    """Facets named by the last key component of a DHIP JSON reply (header and junk dropped)."""
    body = _json_body(raw)
    facets: list[Facet] = []
    if body:
        try:
            _flatten(json.loads(body), "", facets)
        except (ValueError, RecursionError):
            facets = []
    if not facets:
        for key, quoted, bare in _JSON_PAIR.findall(raw)[:MAX_FACETS]:
            facets.append((key, _cap(quoted.replace("\\/", "/") if quoted else bare)))
    return facets


def _default(raw: str) -> list[Facet]:
    return [("", raw)]


# ZoneMinder's zmonvif-probe prints a device's scopes as (type='NetworkVideoTransmitter',
# location/city='guangzhou', name='IPCamera', ...): each key is the scope's path under
# onvif://www.onvif.org/ (ONVIF Core Specification, section 7.3.2.2), so it is written back as one.
_PRINTED_SCOPE = re.compile(
    r"(?<![\w/])([a-z][\w]{0,30}(?:/[\w]{1,30}){0,3})\s*=\s*'([^'\r\n]{0,200})'", re.I
)


def _wsd_scopes(raw: str) -> list[Facet]:
    if "://" not in raw and (printed := _PRINTED_SCOPE.findall(raw)):
        raw = " ".join(
            f"onvif://www.onvif.org/{path}/{urllib.parse.quote(value, safe='-_.~')}"
            for path, value in printed[:MAX_FACETS]
        )
    scopes = [("scope", _cap(urllib.parse.unquote(s))) for s in _scope_words(raw)[:MAX_FACETS]]
    return [("", raw), *scopes]


# One scope URI inside a list some tool printed around it: ['onvif://…', …], <d:Scopes>…</d:Scopes>
# or "a, b" (a scope itself never holds a quote, a bracket or an angle bracket).
_SCOPE_URI = re.compile(r"[A-Za-z][\w+.-]{0,20}://[^\s'\"<>\[\]]+")


def _scope_words(raw: str) -> list[str]:
    """The scopes of a WS-Discovery Scopes value: blank-separated as sent, or the URIs of a list
    a tool printed."""
    if not any(mark in raw for mark in "'\"<[,"):
        return raw.split()
    return [uri.rstrip(",;)") for uri in _SCOPE_URI.findall(raw)]


# "Key: value" lines and printed objects: how people and client libraries show a reply they
# decoded (python-onvif-zeep prints {'Manufacturer': 'HIKVISION', 'Model': ...}).
_PRINTED_PAIR = re.compile(
    r"""(?m)(?:^|[{,(])[ \t]*['"]?([A-Za-z][\w-]{1,40})['"]?[ \t]*(?::|=>?)[ \t]*"""
    r"""(?:'([^'\r\n]{0,200})'|"([^"\r\n]{0,200})"|([^,'"\r\n{}()]{1,200}))"""
)


# Client libraries rename GetDeviceInformation's fields when they print them (onvif-zeep keeps
# them, others write manufacturer=, fw_version=, serial_number=): back to the ONVIF names.
_ONVIF_NAMES = {
    name.casefold(): name
    for name in ("Manufacturer", "Model", "FirmwareVersion", "SerialNumber", "HardwareId")
} | {"fwversion": "FirmwareVersion", "firmware": "FirmwareVersion", "serial": "SerialNumber"}


def _value_of(hit: re.Match[str]) -> str:
    """The text of the first value group that took part in a match (group 1 is the key)."""
    return next((group for group in hit.groups()[1:] if group is not None), "")


def printed_pairs(raw: str) -> list[Facet]:
    """(key, value) of a document shown as lines or as a printed object rather than as XML."""
    facets: list[Facet] = []
    for hit in _PRINTED_PAIR.finditer(raw):
        text = _value_of(hit).strip()
        if text:
            facets.append((hit.group(1), _cap(text)))
            if len(facets) >= MAX_FACETS:
                break
    return facets


def _xml_channel(raw: str) -> list[Facet]:
    """A device document's leaves; the same fields when it was pasted as lines or an object."""
    if raw.lstrip()[:1] != "<":
        return [("", raw), *printed_pairs(raw)]
    return [("", raw), *xml_leaves(raw)]


# Where a printed GetDeviceInformation puts a field that is not at a line start: Go's %+v
# ("{Manufacturer:HIKVISION Model:DS-2CD...}"), "; "-joined lists, and Markdown table rows
# ("| Manufacturer | HIKVISION |") as issue reports paste them.
_ONVIF_FIELD_START = re.compile(
    r"(?<=[\s;|{])(?=(?i:manufacturer|model|firmware_?version|serial_?number|hardware_?id)\b\s*[:=|])"
)
_TABLE_ROW = re.compile(
    r"(?m)^[ \t]*\|?[ \t]*([A-Za-z][\w-]{1,40})[ \t]*\|[ \t]*([^|\r\n]*?)[ \t]*\|?[ \t]*$"
)


def _device_information_lines(raw: str) -> str:
    """A printed (not XML) GetDeviceInformation with one `Field: value` per line."""
    return _TABLE_ROW.sub(r"\1: \2", _ONVIF_FIELD_START.sub("\n", raw))


def _device_information(raw: str) -> list[Facet]:
    """GetDeviceInformation's fields, under their ONVIF names however a library printed them."""
    if raw.lstrip()[:1] == "<":
        fields = xml_leaves(raw)
    else:
        fields = [
            (name, text.rstrip(" ;|}"))
            for name, text in printed_pairs(_device_information_lines(raw))
        ]
    return [("", raw)] + [
        (_ONVIF_NAMES.get(name.replace("_", "").casefold(), name), text)
        for name, text in fields
        if text
    ]


def _dhip(raw: str) -> list[Facet]:
    return [("", raw), *dhip_fields(raw)]


def mdns_items(line: str) -> list[Facet]:
    """`key=value` items of one TXT line; a value runs (spaces kept) up to the next `key=` word."""
    # NOTE: one pass over the words. A lazy regex with a `\s+key=` lookahead was quadratic in a
    # run of spaces (minutes of CPU for one 64 KiB hostile TXT value).
    items: list[Facet] = []
    key: str | None = None
    start = end = 0
    for word in _TOKEN.finditer(line):
        text = word.group()
        # Before the first item a word may open one after leading "=" ("=a=b" is a=b).
        opening = text.lstrip("=") if key is None else text
        equals = opening.find("=")
        if equals > 0:
            if key is not None:
                items.append((key, line[start:end]))
            key = opening[:equals]
            end = word.end()
            start = end - len(opening) + equals + 1
        elif key is not None:
            end = word.end()
    if key is not None:
        items.append((key, line[start:end]))
    return items


# avahi-browse and dns-sd print each TXT item in double quotes ("model=DCS-935L" "mac=..."), and
# an item's value may hold spaces: a quoted line is read item by item (RFC 6763 section 6.3).
_QUOTED_ITEM = re.compile(r'"((?:[^"\\]|\\.){0,400})"')
_QUOTED_LINE = re.compile(r'^\s*(?:txt\s*=\s*)?\[?\s*"', re.I)


def _txt_items(line: str) -> list[Facet]:
    """A line's key=value items; an item without "=" (RFC 6763 section 6.4: a bare attribute,
    which some cameras fill with their product name) is field "attribute"."""
    if _QUOTED_LINE.match(line):
        quoted = [item.partition("=") for item in _QUOTED_ITEM.findall(line)]
        return [
            (key, value) if equals else ("attribute", key) for key, equals, value in quoted if key
        ]
    if "=" not in line and line.strip():
        return [("attribute", line.strip())]
    return mdns_items(line)


# avahi-browse's line for a found service: "+ eth0 IPv4 <instance>  <_type._tcp>  <domain>"
# ("=" once resolved), the instance padded with blanks; and the \DDD escapes that avahi and
# dns-sd print for bytes of an instance name (RFC 6763 section 4.3: "\032" is a space).
_AVAHI_LINE = re.compile(
    r"^[+=]\s+\S+\s+IPv[46]\s+(?P<instance>\S.{0,200}?)\s+(?P<type>_[\w-]{1,40}\._(?:tcp|udp))\s+(?P<domain>\S{1,60})\s*$"
)
_DNS_ESCAPE = re.compile(r"\\(\d{3}|[^\d])")


def _unescaped_dns(name: str) -> str:
    def byte(hit: re.Match[str]) -> str:
        code = hit.group(1)
        return chr(int(code)) if code.isdigit() and int(code) < 256 else code

    return _DNS_ESCAPE.sub(byte, name)


def _mdns_service(raw: str) -> list[Facet]:
    """A DNS-SD service instance name, also as avahi-browse prints one and with its escapes
    undone."""
    line = raw.strip()
    found = _AVAHI_LINE.match(line)
    if found is not None:
        line = f"{found['instance']}.{found['type']}.{found['domain'].rstrip('.')}"
    return [("", _unescaped_dns(line) if "\\" in line else line)]


def _mdns_txt(raw: str) -> list[Facet]:
    facets: list[Facet] = [("", raw)]
    for line in raw.splitlines():
        for key, value in _txt_items(line):
            facets.append((key, _cap(value)))
            if len(facets) > MAX_FACETS:
                return facets
    return facets


# One MAC written inside a line of another tool's output: "HWaddr 44:19:b6:...", "link/ether ...",
# "Physical Address. . . : 44-19-B6-...". Only colon or dash octets: the first such address is
# the interface's own (ip prints the broadcast address after it).
_MAC_IN_LINE = re.compile(
    r"(?<![0-9A-Fa-f:-])[0-9A-Fa-f]{1,2}([:-])(?:[0-9A-Fa-f]{1,2}\1){4}[0-9A-Fa-f]{1,2}(?![0-9A-Fa-f:-])"
)


# A MAC written with its device part masked ("3c:ef:8c:xx:xx:xx", as people post their own) or only
# its OUI ("3C-EF-8C"): the registrant part is all there is to read anyway.
_OUI_ONLY = re.compile(
    r"^\s*([0-9A-Fa-f]{2})([:-]?)([0-9A-Fa-f]{2})\2([0-9A-Fa-f]{2})"
    r"(?:\2[xX*?#]{1,2}(?:\2(?:[xX*?#]{1,2}|[0-9A-Fa-f]{2})){0,2})?\s*$"
)


def _oui_only_registrant(raw: str) -> str | None:
    """The registrant of a masked or prefix-only MAC's OUI, when that OUI is one whole 24-bit
    assignment (a prefix the IEEE split into smaller blocks cannot say which block it is)."""
    found = _OUI_ONLY.match(raw)
    if found is None:
        return None
    prefix = ":".join(found.group(n) for n in (1, 3, 4)).lower()
    if oui.is_locally_administered(prefix + ":00:00:00"):
        return None
    entry = oui.lookup(prefix + ":00:00:00")
    return entry.registrant if entry is not None and entry.bits == 24 else None


def _mac(raw: str) -> list[Facet]:
    normal = normalise_mac(raw)
    if normal is None and "\n" not in raw:
        written = _MAC_IN_LINE.search(raw)
        normal = normalise_mac(written.group(0)) if written else None
    if normal is None:
        as_written: list[Facet] = [("", raw.strip().lower())]
        registrant = _oui_only_registrant(raw)
        if registrant is not None:
            as_written.append(("registrant", registrant))
        return as_written
    facets: list[Facet] = [("", normal)]
    if oui.is_locally_administered(normal):
        facets.append(("locally_administered", "true"))
        return facets
    entry = oui.lookup(normal)
    if entry is not None:
        facets.append(("registrant", entry.registrant))
    return facets


def _is_unicast(mac: str) -> bool:
    """No multicast bit: a MAC with it set is a random node (RFC 9562), never a NIC."""
    return not int(mac.replace(":", "")[:2], 16) & 0x01


def _unicast_registrant(mac: str) -> str | None:
    """The IEEE registrant of a MAC found inside a reply, when it is a registered, globally
    administered unicast address."""
    if not _is_unicast(mac):
        return None
    entry = oui.lookup(mac)
    return entry.registrant if entry is not None else None


def _uuid_tail(raw: str) -> list[Facet]:
    """The raw value, and the IEEE registrant of its UUID's last group when that group is a
    registered unicast MAC. Makers that build their UUIDs from the unit's MAC (Hikvision's EPRs)
    show up by the registry itself, so no copied OUI list goes stale."""
    facets: list[Facet] = [("", raw)]
    found = _UUID_TAIL.match(raw.strip())
    registrant = _unicast_registrant(found.group(1)) if found else None
    if registrant is not None:
        facets.append(("tail_registrant", registrant))
    return facets


# A bracketed link-local IPv6 address in a URL, with an optional zone.
_LINK_LOCAL_HOST = re.compile(r"(?i)\[(fe80:[0-9a-f:]{2,36})(?:%[^\]]*)?\]")


def eui64_mac(text: str) -> str | None:
    """The MAC inside the first link-local address of `text` whose interface id is a modified
    EUI-64 (RFC 4291 appendix A: ff:fe in the middle, the universal/local bit flipped), or None."""
    found = _LINK_LOCAL_HOST.search(text)
    if found is None:
        return None
    try:
        interface = ipaddress.IPv6Address(found.group(1)).packed[8:]
    except ValueError:
        return None
    if interface[3:5] != b"\xff\xfe":
        return None
    octets = (interface[0] ^ 0x02, *interface[1:3], *interface[5:8])
    return ":".join(f"{octet:02x}" for octet in octets)


def _xaddrs(raw: str) -> list[Facet]:
    """The raw XAddrs, and the MAC an EUI-64 link-local address in them carries, with its IEEE
    registrant when that MAC is registered and unicast."""
    facets: list[Facet] = [("", raw)]
    mac = eui64_mac(raw)
    if mac is None or not _is_unicast(mac):
        return facets
    facets.append(("eui64_mac", mac))
    registrant = _unicast_registrant(mac)
    if registrant is not None:
        facets.append(("eui64_registrant", registrant))
    return facets


# Where a reply states who made the device, its model, MAC or serial: an XML element, a JSON or
# printed-dict key, or a "key=value" / "key: value" line, named for it. Device APIs differ in
# layout (ISAPI deviceInfo, ONVIF GetDeviceInformation, UPnP, Dahua JSON and magicBox CGI lines,
# Axis basicdeviceinfo, Reolink GetDevInfo) but name these few things alike, so one reading of
# the names serves all of them: the model grammars, the brand rules and the MAC registry decide.
# Names are matched without regard to case (model, Model, MODEL are one name).
_STATED_KEYS: dict[str, tuple[str, ...]] = {
    "stated_model": (
        "model",
        "modelname",
        "model_name",
        "devicemodel",
        "device_model",
        "devicetype",
        "prodnbr",
        "productmodel",
        "product_model",
    ),
    "stated_brand": ("manufacturer", "manufacturername", "brand", "vendor"),
    "stated_mac": ("macaddress", "mac", "mac_address", "macaddr", "hwaddress", "hwaddr"),
    "stated_serial": ("serialnumber", "serial_number", "serialno", "serial", "sn"),
}
# A CGI line "type=IPC-HDW4631C-A" (Dahua magicBox getDeviceType) states a model too; only as a
# line, because "type" is everywhere else in a page.
_LINE_ONLY_KEYS: dict[str, str] = {"type": "stated_model"}
_STATED_KIND = {key: kind for kind, keys in _STATED_KEYS.items() for key in keys}
_KEYS = "|".join(sorted(_STATED_KIND, key=len, reverse=True))
_LINE_KEYS = "|".join(sorted({**_STATED_KIND, **_LINE_ONLY_KEYS}, key=len, reverse=True))
_STATED_XML = re.compile(
    rf"<(?:[A-Za-z]{{1,10}}:)?((?i:{_KEYS}))(?:\s[^<>]{{0,80}})?>\s*([^<>\s][^<>]{{0,80}}?)\s*</"
)
_STATED_KEYED = re.compile(
    rf"""["']((?i:{_KEYS}))["']\s*(?::|=>)\s*"""
    r"""(?:u(?=["']))?(?:"([^"\\\r\n]{1,81})"|'([^'\\\r\n]{1,81})'|([A-Za-z0-9][\w.:/+-]{1,80}))"""
)
_STATED_LINE = re.compile(
    rf"(?m)^[ \t]*((?i:{_LINE_KEYS}))[ \t]*[=:][ \t]*([^\r\n=]{{1,81}}?)[ \t]*\r?$"
)
# A device's information page shows the same things to a person: a table row or definition list
# "<td>Model</td><td>DS-2CD2142FWD-I</td>", or a line "Model Number: IPC-HDW5421S<br>". The label
# is read with its words run together ("Serial No." is serialno) and must be one of the names
# above or these few spoken forms of them.
_LABEL_KIND: dict[str, str] = {
    **{key.replace("_", ""): kind for key, kind in _STATED_KIND.items()},
    "modelnumber": "stated_model",
    "modelno": "stated_model",
    "devicemodelnumber": "stated_model",
    "serialno": "stated_serial",
    "deviceserialnumber": "stated_serial",
    "deviceserialno": "stated_serial",
    "deviceserial": "stated_serial",
    "devicemacaddress": "stated_mac",
}
_LABEL = r"([A-Za-z][A-Za-z.]{0,13}(?:[ _][A-Za-z][A-Za-z.]{0,13}){0,2})"
_LABEL_TAGS = "td|th|dt|dd|label|span|b|strong|div|p|font|li"
_STATED_HTML_CELL = re.compile(
    rf">[ \t]*{_LABEL}[ \t]*:?[ \t]*</(?:{_LABEL_TAGS})>\s*"
    rf"(?:<(?:{_LABEL_TAGS})\b[^<>]{{0,80}}>\s*){{1,3}}([^<>\s][^<>]{{0,80}}?)\s*<"
)
# ...or an element named for what it holds: <span id="model">DS-2CD2142FWD-I</span>.
_STATED_HTML_NAMED = re.compile(
    rf"<(?:{_LABEL_TAGS})\b[^<>]{{0,120}}?\b(?:id|class|name)\s*=\s*[\"']([A-Za-z][\w.-]{{1,30}})[\"']"
    rf"[^<>]{{0,120}}>\s*([^<>\s][^<>]{{0,80}}?)\s*<"
)
_STATED_HTML_LINE = re.compile(
    rf"(?m)(?:>|^)[ \t]*{_LABEL}[ \t]*:[ \t]*([^<>\s:][^<>\r\n]{{0,80}}?)[ \t]*(?:<|\r?$)"
)
MAX_STATED = 12
# A device document states its own MAC, model or serial once or twice (wired and wireless). A page
# that states more is a list of other devices (a router's client table, a recorder's channels):
# none of them is this device's, so a kind stated more often than this is dropped.
MAX_SAME_KIND = 2


# A HomeKit accessory dump (HAP /accessories) states the same things by characteristic type:
# Manufacturer 0x20, Model 0x21, SerialNumber 0x30, in Apple's base UUID (HAP specification,
# section "Apple-defined Characteristics").
_HAP_BASE = "-0000-1000-8000-0026BB765291"
_HAP_KIND = {"20": "stated_brand", "21": "stated_model", "30": "stated_serial"}
_HAP_OBJECT = re.compile(r"\{[^{}]{0,800}\}")
_HAP_TYPE = re.compile(r'"type"\s*:\s*"0{0,6}(20|21|30)' + re.escape(_HAP_BASE) + '"', re.I)
_HAP_VALUE = re.compile(r'"value"\s*:\s*"([^"\\\r\n]{1,80})"')


def _hap_characteristics(raw: str) -> list[tuple[int, str, str]]:
    if _HAP_BASE.lower() not in raw.lower():
        return []
    found = []
    for item in _HAP_OBJECT.finditer(raw):
        kind, value = _HAP_TYPE.search(item.group(0)), _HAP_VALUE.search(item.group(0))
        if kind and value:
            found.append((item.start(), _HAP_KIND[kind.group(1)], value.group(1)))
    return found


def stated_fields(raw: str) -> list[Facet]:
    """(stated_model | stated_brand | stated_mac | stated_serial, text) for each such name the
    reply gives a value, in the order they appear, each distinct pair once."""
    found = _hap_characteristics(raw)
    for pattern in (_STATED_XML, _STATED_KEYED, _STATED_LINE):
        for hit in pattern.finditer(raw):
            key = hit.group(1).casefold()
            kind = _STATED_KIND.get(key) or _LINE_ONLY_KEYS[key]
            found.append((hit.start(), kind, _value_of(hit).strip()))
            if len(found) >= 4 * MAX_STATED:
                break
    for pattern in (_STATED_HTML_CELL, _STATED_HTML_NAMED, _STATED_HTML_LINE):
        for hit in pattern.finditer(raw):
            labelled = _LABEL_KIND.get(re.sub(r"[ _.-]", "", hit.group(1)).casefold())
            if labelled is not None:
                found.append((hit.start(), labelled, hit.group(2).strip()))
            if len(found) >= 8 * MAX_STATED:
                break
    facets: list[Facet] = []
    for _, kind, text in sorted(found):
        if text and (kind, text) not in facets:
            facets.append((kind, text))
            if len(facets) >= MAX_STATED:
                break
    crowded = {kind for kind in _STATED_KEYS if sum(k == kind for k, _ in facets) > MAX_SAME_KIND}
    return [(kind, text) for kind, text in facets if kind not in crowded]


# A page names its device's model in prose too ("DS-2CD2143G2-IS" in a heading, a script string,
# a help line). Words shaped like a vendor model number, letters, a hyphen, then a part with a
# digit, are offered to the model grammars, which alone decide; the rule that reads them is
# weaker than a stated field, since prose may name some other device. Standards and codecs
# share the shape and are skipped. Several distinct models mean a list, as with stated fields.
_TEXT_MODEL = re.compile(
    r"(?<![\w./@:-])([A-Za-z]{1,6}-(?=[0-9A-Za-z]{0,12}\d)[0-9A-Z][0-9A-Za-z]*(?:[-/][0-9A-Za-z]+){0,6})(?![\w@-])"
)
_NOT_MODELS = frozenset(
    "utf iso sha aes mpeg rfc iec ansi cp win windows x h g md rc tls ssl ie es ecma ucs"  # noqa: SIM905
    " koi gb big jis euc ascii ip pci usb hdmi rs dd mm yyyy".split()
)


def _same_model(word: str, other: str) -> bool:
    return word.startswith(other) or other.startswith(word)


def text_models(raw: str, stated: Sequence[Facet] = ()) -> list[Facet]:
    """(text_model, word) for each distinct model-shaped word, in reading order; none when the
    page names more than MAX_SAME_KIND models. A word that extends an earlier one (a serial made
    of a model and a date) is the same model, and words the page states as its model or serial
    are read by the stated-field rules already."""
    known = [text for _kind, text in stated]
    words: list[str] = []
    for hit in _TEXT_MODEL.finditer(raw):
        word = hit.group(1)
        if word.split("-", 1)[0].casefold() in _NOT_MODELS:
            continue
        if any(_same_model(word, other) for other in known):
            continue
        known.append(word)
        words.append(word)
        if len(words) > MAX_SAME_KIND:
            return []
    return [("text_model", word) for word in words]


# A body or header block quoted inside a log line or an error message has its line breaks written
# as the two characters \r\n (or \n), and its quotes as \". A value with no real line break but
# several such escapes is read as the text it stands for, so the rules see what the device sent.
_PRINTED_BREAK = re.compile(r"\\r\\n|\\n")
_PRINTED_QUOTE = re.compile(r'\\(["\'/])')


def unprinted(raw: str) -> str:
    if "\n" in raw or len(_PRINTED_BREAK.findall(raw[:4096])) < 2:
        return raw
    text = _PRINTED_BREAK.sub(lambda hit: "\r\n" if hit.group(0) == "\\r\\n" else "\n", raw)
    return _PRINTED_QUOTE.sub(r"\1", text.replace("\\t", "\t"))


def _body(raw: str) -> list[Facet]:
    """The body, what it states of the device's model, maker, MAC and serial, and the model
    numbers its prose names."""
    raw = unprinted(raw)
    stated = stated_fields(raw)
    return [("", raw), *stated, *text_models(raw, stated)]


# Words a company name ends with that say nothing of whose it is ("Xiamen Yealink Network
# Technology Co.,Ltd" is Yealink). Stripped from the end of a label before it is compared with
# the maker names, never from the middle.
_COMPANY_TAIL = frozenset(
    [
        "inc",
        "incorporated",
        "ltd",
        "limited",
        "llc",
        "co",
        "corp",
        "corporation",
        "company",
        "gmbh",
        "ag",
        "kg",
        "sa",
        "srl",
        "spa",
        "sp",
        "z",
        "o",
        "bv",
        "nv",
        "ab",
        "oy",
        "as",
        "plc",
        "pty",
        "kk",
        "technology",
        "technologies",
        "tech",
        "electronics",
        "electronic",
        "systems",
        "network",
        "networks",
        "communications",
        "international",
        "group",
        "holdings",
        "solutions",
        "industries",
        "security",
        "science",
        "software",
        "division",
        "center",
        "centre",
        "digital",
    ]
)
_LABEL_WORD = re.compile(r"[a-z0-9]+")
# Places some registrants write before or after the name ("Shenzhen Reolink", "Yealink(Xiamen)",
# "Honeywell Co., Ltd. (KOREA)").
_PLACES = frozenset(
    ["shenzhen", "hangzhou", "xiamen", "zhejiang", "guangzhou", "beijing", "shanghai"]
    + ["jinan", "dongguan", "ningbo", "suzhou", "wuhan", "chengdu", "nanjing", "tianjin", "zhuhai"]
    + ["foshan", "hefei", "fuzhou", "qingdao", "guangdong", "jiangsu", "shandong", "fujian"]
    + ["swe", "sweden", "deutschland"]
    + ["china", "korea", "japan", "taiwan", "usa", "america", "europe", "germany", "uk"]
)


def _words(label: str) -> list[str]:
    return _LABEL_WORD.findall(label.lower().replace("&", " "))


def _without_company_form(words: list[str]) -> tuple[str, ...]:
    start, end = 0, len(words)
    while start < end and words[start] in _PLACES:
        start += 1
    while end > start and (words[end - 1] in _COMPANY_TAIL or words[end - 1] in _PLACES):
        end -= 1
    return tuple(words[start:end])


def label_words(label: str) -> tuple[str, ...]:
    """A label's words, lower-case, without a place before or after the name ("Yealink(Xiamen)
    Network Technology") and without the company-form words at its end."""
    return _without_company_form(_words(label))


@functools.lru_cache(maxsize=1)
def _maker_names() -> dict[tuple[str, ...], str]:
    """The shipped makers (identifiers/makers.txt) by the words of their names and ids."""
    names: dict[tuple[str, ...], str] = {}
    for maker, display in vocabulary.load_identifiers().makers.items():
        for name in (display, maker.replace("-", " ")):
            words = label_words(name)
            if words:
                names.setdefault(words, maker)
    return names


# Fields read only when no rule matched the value itself (engine._without_fallbacks): the maker a
# company-form label names must not contradict a brand rule that knows the label (Lorex units are
# Dahua-made, though "Lorex Technology Inc." is Lorex's own company name).
FALLBACK_FIELDS = frozenset({"maker_name", "bare_maker_name"})


def _brand(raw: str) -> list[Facet]:
    """The label, and the maker whose own name it is once a leading city and the company form are
    set aside (field "maker_name"): a company name no brand rule knows, as OUI registrants and
    certificate organisations are written, still names a maker listed in identifiers/makers.txt.
    A label that is the bare name and nothing else is field "bare_maker_name"."""
    facets: list[Facet] = [("", raw)]
    words = _words(raw)
    name = _without_company_form(words)
    maker = _maker_names().get(name)
    if maker is not None:
        # A bare word ("HeroSpeed", "Planet") may be a product or a word that only looks like a
        # name: it gets its own field, which brand.toml weighs lower than a company's name.
        facets.append(("maker_name" if len(name) < len(words) else "bare_maker_name", maker))
    return facets


def recorder_channel_fields(raw: str) -> dict[str, object]:
    """The JSON object of a recorder.channel value (recorder_codec writes it); {} if not one."""
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _recorder_channel(raw: str) -> list[Facet]:
    fields = recorder_channel_fields(raw)
    texts = [(key, _cap(value)) for key, value in fields.items() if isinstance(value, str)]
    return [("", raw), *texts[:MAX_FACETS]]


# RFC 9110 §11.1/§11.2: the header name, the auth-scheme and the parameter names are
# case-insensitive and a parameter value may be a bare token; devices and the tools that record
# them write all of these differently ("www-authenticate: digest REALM=DS-2CD..."). Rules are
# written against one spelling, so a challenge is put in that spelling first. A realm in single
# quotes (not HTTP, but seen) is quoted properly too. A bare realm followed by a space is left as
# it is: it may be the start of a longer unquoted realm, which some rules read.
_HEADER_NAME = re.compile(r"^\s*(?i:www-authenticate)\s*:\s*")
_SCHEME = re.compile(r"^(?i:(basic|digest))(?=\s|$)")
_REALM_KEY = re.compile(r"(?i:\brealm)\s*=\s*")
_BARE_OR_SINGLE = re.compile(r'realm=(?:\'([^\'"\r\n]{0,128})\'|([^\s",\']{1,128})(?=\s*(?:,|$)))')


# A challenge a tool printed inside its own quoting: a JSON string (realm=\"…\"), a Python list,
# bytes or dict item (['Digest …'], b'Digest …', {'www-authenticate': 'Digest …'}).
_SCHEME_START = re.compile(r"(?i)\b(?:basic|digest)\s+[\w-]{1,30}\s*=")
_WRAPPER = re.compile(r"""^[\s\[({]*(?:b|u)?(?P<quote>['"])?(?:[\w-]{1,40}['"]?\s*:\s*['"]?)?$""")


def _unwrapped_challenge(raw: str) -> str:
    text = raw.replace('\\"', '"') if '\\"' in raw else raw
    found = _SCHEME_START.search(text)
    if found is None or found.start() == 0:
        return text
    wrapper = _WRAPPER.match(text[: found.start()])
    if wrapper is None:
        return text
    inner = text[found.start() :].rstrip()
    closing = inner.rstrip("]})").rstrip()
    if wrapper["quote"] and closing.endswith(wrapper["quote"]):
        closing = closing[:-1]
    return closing


def canonical_challenge(raw: str) -> str:
    """A WWW-Authenticate value in the spelling rules are written against (RFC 9110 §11)."""
    text = _HEADER_NAME.sub("", _unwrapped_challenge(raw), count=1)
    text = _SCHEME.sub(lambda m: m[1].capitalize(), text, count=1)
    text = _REALM_KEY.sub("realm=", text, count=1)
    return _BARE_OR_SINGLE.sub(lambda m: f'realm="{m[1] if m[1] is not None else m[2]}"', text, 1)


# How a header block arrives when someone pasted it rather than a probe recording it: curl -v puts
# "< " before each response line (and "> ", "* " before its own request and notes), nmap's
# http-headers script "|   " and "|_  ", wget -S two spaces; Python's requests prints a dict. The
# header rules are written against the block as the device sent it, so these are undone first.
_PASTED_LINE = re.compile(r"(?m)^(?:< |> |\* |\|[ _]|[ \t]+[A-Za-z])")
_PASTED_PREFIX = re.compile(r"^(?:< ?|\|_?[ \t]*|[ \t]+)")
_TOOL_LINE = ("> ", "* ", "{ ", "} ")


def block_as_sent(raw: str) -> str:
    """An http.headers value as the device sent it: the status line and headers, one per line."""
    raw = unprinted(raw)
    if raw.lstrip()[:1] == "{" or raw.startswith("CaseInsensitiveDict("):
        items = printed_pairs(raw)
        if items:
            return "".join(f"{name}: {value}\r\n" for name, value in items)
    if not _PASTED_LINE.search(raw):
        return raw
    kept = []
    for line in raw.splitlines(keepends=True):
        if line.startswith(_TOOL_LINE) or line.strip() in (">", "*", "<"):
            continue
        kept.append(_PASTED_PREFIX.sub("", line, count=1))
    return "".join(kept)


def _headers(raw: str) -> list[Facet]:
    return [("", block_as_sent(raw))]


# A certificate name's attributes (RFC 4514 "CN=x,O=y\, Ltd.,C=CN", or OpenSSL's "/C=CN/O=y/CN=x"):
# each of O, OU and CN may name the maker, so each is its own field, read beside the others: a
# typo in O ("reokink") then never hides an OU or CN that says REOLINK.
_DN_ATTRIBUTE = re.compile(
    r"(?:^|[,/;+])\s*([A-Za-z][A-Za-z0-9.]{0,20})=((?:\\.|[^,\\])*?)\s*"
    r"(?=(?:[,/;+]\s*[A-Za-z][A-Za-z0-9.]{0,20}=)|$)"
)
_DN_FIELDS = frozenset({"O", "OU", "CN"})


def _distinguished_name(raw: str) -> list[Facet]:
    facets: list[Facet] = [("", raw)]
    for name, value in _DN_ATTRIBUTE.findall(raw[:SMALL_VALUE_CHARS]):
        field = name.upper()
        text = value.replace("\\", "").strip()
        if field in _DN_FIELDS and text and (field, text) not in facets:
            facets.append((field, _cap(text)))
    return facets


def _challenge(raw: str) -> list[Facet]:
    """The challenge, and the same text as field "layout": rules that read its shape (parameter
    order, nonce form, quoting) whatever the realm run beside the realm rules, not in front of
    them, so a weak shape never hides what the realm itself says."""
    challenge = canonical_challenge(raw)
    return [("", challenge), ("layout", challenge)]


DECODERS: dict[str, Callable[[str], list[Facet]]] = {
    "http.headers": _headers,
    "tls.subject": _distinguished_name,
    "tls.issuer": _distinguished_name,
    "http.www_authenticate": _challenge,
    "rtsp.www_authenticate": _challenge,
    "wsd.scopes": _wsd_scopes,
    "sadp": _xml_channel,
    "upnp.description": _xml_channel,
    "onvif.device_information": _device_information,
    "dhip": _dhip,
    "mdns.txt": _mdns_txt,
    "mdns.service": _mdns_service,
    "mac": _mac,
    "wsd.epr": _uuid_tail,
    "ssdp.st": _uuid_tail,
    "wsd.xaddrs": _xaddrs,
    "http.body": _body,
    "brand": _brand,
    "recorder.channel": _recorder_channel,
}


# What every real unit of a kind puts in its discovery reply (protocols.md: the Haicam SADP sample,
# the AMP-Research DHIP sample). A reply without them is truncated, spoofed or a fragment: it may
# hint at a maker, never vouch for one (engine.PARTIAL_CEILING).
SADP_ALWAYS = ("DeviceSN", "MAC", "SoftwareVersion")
DHIP_ALWAYS = ("DeviceType",)
# DHIP also carries Dahua's JSON-RPC (the port-37777 login and its answers, RPC2 over HTTP): an
# answer to a call is whole when it has its result, the call's id and the session (Dahua's RPC
# returns all three in every answer; dahua-rpc-session-envelope in http_body.toml).
DHIP_RPC_ALWAYS = ("result", "id", "session")
# Required by the specifications: ONVIF Core GetDeviceInformationResponse, UPnP Device
# Architecture 1.1 device description.
ONVIF_ALWAYS = ("Manufacturer", "Model")
UPNP_ALWAYS = ("manufacturer", "modelName")


def _missing(found: list[Facet], wanted: tuple[str, ...]) -> list[str]:
    present = {name for name, text in found if text}
    return [name for name in wanted if name not in present]


def _sadp_gaps(raw: str, found: list[Facet]) -> str:
    if "<ProbeMatch" in raw and "</ProbeMatch>" not in raw:
        return "truncated SADP reply (no </ProbeMatch>)"
    missing = _missing(found, SADP_ALWAYS)
    return f"SADP reply without {', '.join(missing)}" if missing else ""


def _dhip_gaps(raw: str, found: list[Facet]) -> str:
    body = _json_body(raw)
    if not body or body.count("{") != body.count("}"):
        return "truncated DHIP reply (unbalanced JSON)"
    names = {name for name, _text in found}
    rpc_answer = "result" in names and "method" not in names
    kind, wanted = (
        ("DHIP RPC answer", DHIP_RPC_ALWAYS) if rpc_answer else ("DHIP reply", DHIP_ALWAYS)
    )
    missing = _missing(found, wanted)
    return f"{kind} without {', '.join(missing)}" if missing else ""


def _document_gaps(kind: str, wanted: tuple[str, ...]) -> Callable[[str, list[Facet]], str]:
    def gaps(_raw: str, found: list[Facet]) -> str:
        missing = _missing(found, wanted)
        return f"{kind} without {', '.join(missing)}" if missing else ""

    return gaps


# Each check reads the raw value and its facets (decoded once, shared with matching).
COMPLETENESS: dict[str, Callable[[str, list[Facet]], str]] = {
    "sadp": _sadp_gaps,
    "dhip": _dhip_gaps,
    "onvif.device_information": _document_gaps("ONVIF device information", ONVIF_ALWAYS),
    "upnp.description": _document_gaps("UPnP description", UPNP_ALWAYS),
}


def incompleteness(channel: str, value: str, found: list[Facet] | None = None) -> str:
    """Why a reply lacks what every real unit of its kind sends, or "" when it is complete.
    `found` are the value's facets when the caller has already decoded them."""
    check = COMPLETENESS.get(channel)
    if check is None:
        return ""
    raw = value[: value_limit(channel)]
    return check(raw, found if found is not None else facets(channel, value))


# How values are often written by other tools and people: with their header name ("Server: ...",
# "Location: ..."), a title in its tags, a DN in OpenSSL's "subject=C = CN, O = ..." spelling. The
# rules are written against the bare value, so these spellings are reduced to it first.
_HEADER_PREFIX: dict[str, tuple[str, ...]] = {
    "http.server": ("server",),
    "rtsp.server": ("server",),
    "ssdp.server": ("server",),
    "http.location": ("location",),
    "rtsp.public": ("public",),
    # The ssdp.st channel holds an M-SEARCH reply's ST or USN, or a NOTIFY's NT (UPnP Device
    # Architecture 2.0 section 1.3): people quote any of the three with its name.
    "ssdp.st": ("st", "usn", "nt"),
}
_TITLE_TAGS = re.compile(r"(?is)^<title\b[^>]{0,64}>\s*(.*?)\s*</title\s*>$")
_DN_PREFIX = re.compile(r"(?i)^(?:subject|issuer)\s*[=:]\s*")
# net-snmp's snmpget/snmpwalk print "SNMPv2-MIB::sysDescr.0 = STRING: text" (or the numeric OID
# 1.3.6.1.2.1.1.1.0, or "iso.3.6..." when the MIB is not loaded), often with the text in quotes.
_SNMP_SYSDESCR_PREFIX = re.compile(
    r"(?i)^(?:(?:[\w-]+::)?(?:sysDescr|(?:iso|\.?1)\.3\.6\.1\.2\.1\.1\.1)(?:\.0)?\s*=\s*"
    r"(?:STRING:\s*)?|STRING:\s+)"
)
_DN_EQUALS = re.compile(r"[ \t]*=[ \t]*")


def bare_value(channel: str, raw: str) -> str:
    """The value without the wrapping other tools write around it (see _HEADER_PREFIX)."""
    names = _HEADER_PREFIX.get(channel)
    if names is not None:
        head, colon, rest = raw.partition(":")
        if not colon or head.strip().strip("'\"").lower() not in names:
            return raw
        # A printed dict item ('Server': 'App-webs/') has its value quoted too.
        rest = rest.strip().rstrip(",")
        return _unquoted(rest, "'\"") if head.strip()[:1] in "'\"" else rest
    if channel == "http.title":
        tagged = _TITLE_TAGS.match(raw)
        return tagged.group(1) if tagged else raw
    if channel in ("tls.subject", "tls.issuer"):
        return _DN_EQUALS.sub("=", _DN_PREFIX.sub("", raw, count=1))
    if channel == "snmp.sysdescr":
        # snmpget prints STRING: "..."; some agents put the quotes in the value itself.
        return _unquoted(_SNMP_SYSDESCR_PREFIX.sub("", raw, count=1))
    return raw


def _unquoted(text: str, quotes: str = '"') -> str:
    text = text.strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in quotes else text


def facets(channel: str, value: str) -> list[Facet]:
    """Every (field, text) a rule on `channel` may match; the value is truncated first, and a
    one-line value loses the blanks and the wrapping around it (a header copied from another
    tool's output or a padded title is the same value; rules are anchored, so either would hide
    it)."""
    raw = value[: value_limit(channel)]
    if channel not in LARGE_CHANNELS:
        raw = bare_value(channel, raw.strip())
    return DECODERS.get(channel, _default)(raw)


def iter_fields(channel: str, value: str, field: str) -> Iterator[str]:
    """The texts of one field of a decoded value."""
    for name, text in facets(channel, value):
        if name == field:
            yield text


# Headers of an HTTP header block that have their own channel. A probe records them on those
# channels too; a block that arrives alone (another tool's output, a pasted reply) is read the same.
HEADER_CHANNELS = {
    "server": "http.server",
    "www-authenticate": "http.www_authenticate",
    "location": "http.location",
}
MAX_BLOCK_LINES = 64


def headers_as_evidence(items: Sequence[Evidence]) -> list[Evidence]:
    """The Server, WWW-Authenticate and Location lines of every http.headers block, as evidence on
    their own channels, unless the same value is already there for that port."""
    known = {(item.channel, item.value, item.port) for item in items}
    found: list[Evidence] = []
    for item in items:
        if item.channel != "http.headers":
            continue
        for name, value in _header_lines(item.value):
            channel = HEADER_CHANNELS.get(name.lower())
            if channel is None or (channel, value, item.port) in known:
                continue
            known.add((channel, value, item.port))
            found.append(replace(item, channel=channel, value=value))
    return found


def body_titles_as_evidence(items: Sequence[Evidence]) -> list[Evidence]:
    """The <title> of every http.body, as http.title evidence, unless that title is already there
    for that port: a page that arrives alone (a scan record, a pasted page) names its title too."""
    known = {(item.channel, item.value, item.port) for item in items}
    found: list[Evidence] = []
    for item in items:
        if item.channel != "http.body":
            continue
        title = extract_title(item.value)
        if not title or ("http.title", title, item.port) in known:
            continue
        known.add(("http.title", title, item.port))
        found.append(replace(item, channel="http.title", value=title))
    return found


# Channels whose value is the same kind of thing as another channel's: a DHCP client asks for the
# host name it is configured with (RFC 2132 section 3.14), the same name it advertises over mDNS,
# so the host-name rules read both.
SAME_KIND_CHANNELS = {"dhcp.hostname": "mdns.hostname"}


def same_kind_as_evidence(items: Sequence[Evidence]) -> list[Evidence]:
    """Each value of a SAME_KIND_CHANNELS channel again on the channel whose rules read it, unless
    the host already sent that value there."""
    known = {(item.channel, item.value) for item in items}
    found: list[Evidence] = []
    for item in items:
        channel = SAME_KIND_CHANNELS.get(item.channel)
        if channel is None or (channel, item.value) in known:
            continue
        known.add((channel, item.value))
        found.append(replace(item, channel=channel))
    return found


def _header_lines(block: str) -> list[tuple[str, str]]:
    lines = block_as_sent(block[: value_limit("http.headers")]).splitlines()[:MAX_BLOCK_LINES]
    pairs = []
    for line in lines:
        name, colon, value = line.partition(":")
        if colon and name and " " not in name.strip():
            pairs.append((name.strip(), value.strip()))
    return pairs

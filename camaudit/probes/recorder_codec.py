"""A recorder's channel list: the cameras wired to it, read from its own answer (pure).

Hikvision recorders list their IP channels at GET /ISAPI/ContentMgmt/InputProxy/channels
(an <InputProxyChannelList>; each <InputProxyChannel> has an id, a name and a
<sourceInputPortDescriptor> with proxyProtocol, ipAddress, model, serialNumber and
firmwareVersion, as in the DS-7608NXI-I2 fixture of
https://github.com/maciej-or/hikvision_next/blob/main/tests/fixtures/devices/DS-7608NXI-I2.json).
The same descriptor carries the camera's user name, and some firmware its password: those are
never read, so they cannot reach evidence, logs or reports.

Dahua recorders answer GET /cgi-bin/configManager.cgi?action=getConfig&name=RemoteDevice with
one `key=value` line per field, grouped by slot
(`table.RemoteDevice.uuid:System_CONFIG_NETCAMERA_INFO_<slot>.<Field>=<value>`; slot 0 is
channel 1), as https://github.com/rroller/dahua/blob/main/custom_components/dahua/dahua_utils.py
documents from a DHI-NVR5464-16P-EI. Only the fields named in DAHUA_FIELDS are read; the slot's
UserName and Password lines are skipped before their value is looked at.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from xml.etree.ElementTree import Element  # noqa: S405 - types only; xmlsafe parses

from camaudit import xmlsafe
from camaudit.errors import DecodeError

CHANNEL = "recorder.channel"
MAX_LIST_BYTES = 1024 * 1024  # a 256-channel recorder's list is ~200 KiB
MAX_CHANNELS = 256  # the largest recorders have 256 IP channels
MAX_FIELD_CHARS = 128  # model numbers, serials and builds are far shorter
# The descriptor fields kept, and the name each gets in evidence. Nothing else is copied.
KEPT_FIELDS = {
    "proxyProtocol": "protocol",
    "ipAddress": "address",
    "model": "model",
    "serialNumber": "serial",
    "firmwareVersion": "firmware",
}


# The RemoteDevice fields kept, and the name each gets in evidence. Nothing else is copied.
DAHUA_FIELDS = {
    "Name": "name",
    "ProtocolType": "protocol",
    "Address": "address",
    "DeviceType": "model",
    "SerialNo": "serial",
    "Version": "firmware",
}
_REMOTE_DEVICE_LINE = re.compile(
    r"^table\.RemoteDevice\.uuid:System_CONFIG_NETCAMERA_INFO_(\d{1,5})\.(\w{1,32})=(.*)$"
)
MAX_LINES = MAX_CHANNELS * 64  # a slot has a few dozen fields


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachedChannel:
    """One camera as the recorder describes it; every text is the recorder's, untrusted."""

    channel: int
    name: str | None = None
    protocol: str | None = None  # how the recorder talks to it: HIKVISION, ONVIF, ...
    address: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None

    def as_evidence_value(self) -> str:
        """The evidence value for this channel: compact JSON, empty fields left out."""
        fields = {key: value for key, value in asdict(self).items() if value is not None}
        return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _text(element: Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    text = " ".join(element.text.split())[:MAX_FIELD_CHARS]
    return text or None


def _child(element: Element, name: str) -> Element | None:
    return next((child for child in element if xmlsafe.local_name(child.tag) == name), None)


def _channel(element: Element) -> AttachedChannel | None:
    try:
        number = int(_text(_child(element, "id")) or "")
    except ValueError:
        return None
    if not 1 <= number <= 65535:
        return None
    descriptor = _child(element, "sourceInputPortDescriptor")
    kept: dict[str, str | None] = {}
    if descriptor is not None:
        for tag, field in KEPT_FIELDS.items():
            kept[field] = _text(_child(descriptor, tag))
    return AttachedChannel(channel=number, name=_text(_child(element, "name")), **kept)


def parse_input_proxy_channels(body: bytes) -> list[AttachedChannel]:
    """The channels of a Hikvision InputProxyChannelList; DecodeError when it is not one."""
    try:
        root = xmlsafe.parse(body, max_bytes=MAX_LIST_BYTES)
    except xmlsafe.XmlError as exc:
        raise DecodeError(CHANNEL, str(exc)) from None
    if xmlsafe.local_name(root.tag) != "InputProxyChannelList":
        raise DecodeError(CHANNEL, f"root element is <{xmlsafe.local_name(root.tag)}>")
    channels: dict[int, AttachedChannel] = {}
    for element in root:
        if xmlsafe.local_name(element.tag) != "InputProxyChannel":
            continue
        channel = _channel(element)
        if channel is not None:
            channels.setdefault(channel.channel, channel)  # a repeated id keeps its first entry
        if len(channels) >= MAX_CHANNELS:
            break
    return [channels[number] for number in sorted(channels)]


def parse_remote_devices(body: bytes) -> list[AttachedChannel]:
    """The enabled slots of a Dahua RemoteDevice table; DecodeError when it is not one.

    A slot that is switched off has no camera on it (its fields are left-overs), so it is not
    listed. A recorder with no IP camera at all answers a table of disabled slots: an empty list.
    """
    if len(body) > MAX_LIST_BYTES:
        raise DecodeError(CHANNEL, f"RemoteDevice table over {MAX_LIST_BYTES} bytes")
    text = body.decode("utf-8", "replace")
    slots: dict[int, dict[str, str]] = {}
    enabled: set[int] = set()
    seen_table = False
    for line in text.splitlines()[:MAX_LINES]:
        match = _REMOTE_DEVICE_LINE.match(line.strip())
        if match is None:
            continue
        seen_table = True
        slot, key = int(match[1]), match[2]
        if key == "Enable":
            if match[3].strip().lower() == "true":
                enabled.add(slot)
            continue
        field = DAHUA_FIELDS.get(key)  # UserName, Password and the rest never get this far
        if field is None or (slot not in slots and len(slots) >= MAX_CHANNELS):
            continue
        value = " ".join(match[3].split())[:MAX_FIELD_CHARS]
        if value:
            slots.setdefault(slot, {}).setdefault(field, value)
    if not seen_table:
        raise DecodeError(CHANNEL, "no table.RemoteDevice lines")
    return [
        AttachedChannel(channel=slot + 1, **slots[slot])
        for slot in sorted(slots)
        if slot in enabled and slot + 1 <= 65535
    ]

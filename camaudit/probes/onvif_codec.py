"""ONVIF device-service SOAP: build the two calls camaudit makes and read their replies (pure)."""

from __future__ import annotations

import base64
import hashlib
import re
import xml.etree.ElementTree as ET  # noqa: S405 - Element type and tostring; xmlsafe parses
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from camaudit import xmlsafe
from camaudit.errors import DecodeError
from camaudit.xmlsafe import local_name

SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
TDS_NS = "http://www.onvif.org/ver10/device/wsdl"
# OASIS WS-Security 1.0 UsernameToken profile, as ONVIF Core §5.12 requires.
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_WSS_2004 = "http://docs.oasis-open.org/wss/2004/01"
PASSWORD_DIGEST = f"{_WSS_2004}/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"  # noqa: S105
BASE64_BINARY = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
GET_SYSTEM_DATE_AND_TIME = "GetSystemDateAndTime"
GET_DEVICE_INFORMATION = "GetDeviceInformation"
CONTENT_TYPE = "application/soap+xml; charset=utf-8"
# The probe's HTTP read cap (options.max_read_bytes, 256 KiB by default) bounds replies first;
# this only keeps the codec safe on its own, well above any read cap a scan would set.
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024

# NOTE: the open and close tags are found by two separate searches, each linear in the payload;
# one pattern spanning both (`<X>.*?</X>`) rescans to the end from every unclosed "<X" a hostile
# reply repeats, e.g. inside comments: seconds of CPU on the event loop per 256 KiB reply.
_DEVICE_INFORMATION_OPEN = re.compile(
    rb"<(?:[\w.-]+:)?GetDeviceInformationResponse(?=[\s/>])[^>]{0,1024}>"
)
_DEVICE_INFORMATION_CLOSE = re.compile(rb"</(?:[\w.-]+:)?GetDeviceInformationResponse\s*>")


# The channel a DecodeError from this codec names.
CHANNEL = "onvif"


@dataclass(frozen=True, slots=True, kw_only=True)
class UsernameToken:
    """A WS-Security UsernameToken (PasswordDigest): holds the digest, never the password."""

    user: str
    digest: str  # Base64(SHA1(nonce + created + password))
    nonce: bytes
    created: str  # xsd:dateTime in UTC, on the DEVICE clock


def content_type(action: str) -> str:
    """Content-Type with the SOAP 1.2 action parameter (RFC 3902 §1) some gSOAP servers need."""
    return f'{CONTENT_TYPE}; action="{TDS_NS}/{action}"'


def format_created(moment: datetime) -> str:
    """An xsd:dateTime in UTC with milliseconds, as ONVIF devices expect in Created."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """Base64(SHA1(nonce + created + password)) (WS-Security UsernameToken Profile 1.0 §3.1)."""
    # SHA-1 is what the profile mandates; it is not used here for any security decision of ours.
    raw = hashlib.sha1(nonce + created.encode() + password.encode(), usedforsecurity=False)
    return base64.b64encode(raw.digest()).decode("ascii")


def username_token(
    *, user: str, password: str, nonce: bytes, device_time: datetime
) -> UsernameToken:
    """A token whose Created is the device's own clock, so skewed devices accept it."""
    created = format_created(device_time)
    return UsernameToken(
        user=user, digest=password_digest(nonce, created, password), nonce=nonce, created=created
    )


def build_request(action: str, token: UsernameToken | None = None) -> bytes:
    """A SOAP 1.2 envelope calling one argument-less device-service action."""
    header = "" if token is None else f"<s:Header>{_security_header(token)}</s:Header>"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{SOAP12_NS}" xmlns:tds="{TDS_NS}">'
        f"{header}<s:Body><tds:{action}/></s:Body></s:Envelope>"
    ).encode()


def _security_header(token: UsernameToken) -> str:
    nonce = base64.b64encode(token.nonce).decode("ascii")
    return (
        f'<wsse:Security s:mustUnderstand="1" xmlns:wsse="{WSSE_NS}" xmlns:wsu="{WSU_NS}">'
        "<wsse:UsernameToken>"
        f"<wsse:Username>{escape(token.user)}</wsse:Username>"
        f'<wsse:Password Type="{PASSWORD_DIGEST}">{token.digest}</wsse:Password>'
        f'<wsse:Nonce EncodingType="{BASE64_BINARY}">{nonce}</wsse:Nonce>'
        f"<wsu:Created>{token.created}</wsu:Created>"
        "</wsse:UsernameToken></wsse:Security>"
    )


def parse_system_date_and_time(payload: bytes) -> datetime:
    """The device's UTC clock from a GetSystemDateAndTimeResponse (ONVIF Device Service §8.3.9)."""
    root = _parse_xml(payload)
    response = _find(root, "GetSystemDateAndTimeResponse")
    if response is None:
        raise DecodeError(CHANNEL, "no GetSystemDateAndTimeResponse in the reply")
    utc = _find(response, "UTCDateTime")
    if utc is None:
        raise DecodeError(CHANNEL, "GetSystemDateAndTimeResponse has no UTCDateTime")
    try:
        return datetime(
            _number(utc, "Year"),
            _number(utc, "Month"),
            _number(utc, "Day"),
            _number(utc, "Hour"),
            _number(utc, "Minute"),
            _number(utc, "Second"),
            tzinfo=UTC,
        )
    except (ValueError, OverflowError) as exc:
        raise DecodeError(CHANNEL, f"UTCDateTime is not a valid time: {exc}") from None


def extract_device_information(payload: bytes) -> str:
    """The GetDeviceInformationResponse element exactly as received (validated as XML first)."""
    root = _parse_xml(payload)
    element = _find(root, "GetDeviceInformationResponse")
    if element is None:
        raise DecodeError(CHANNEL, "no GetDeviceInformationResponse in the reply")
    found = _element_bytes(payload)
    if found is None:  # e.g. an encoding the byte pattern cannot see; fall back to re-serialising
        try:
            return ET.tostring(element, encoding="unicode")
        except RecursionError:  # ElementTree serialises recursively; a hostile reply nests deep
            raise DecodeError(CHANNEL, "GetDeviceInformationResponse nested too deeply") from None
    return found.decode("utf-8", errors="replace")


def _element_bytes(payload: bytes) -> bytes | None:
    """The first GetDeviceInformationResponse element of `payload` as raw bytes, if visible."""
    opening = _DEVICE_INFORMATION_OPEN.search(payload)
    if opening is None:
        return None
    if opening.group(0).endswith(b"/>"):
        return opening.group(0)
    closing = _DEVICE_INFORMATION_CLOSE.search(payload, opening.end())
    return None if closing is None else payload[opening.start() : closing.end()]


def fault_reason(payload: bytes) -> str | None:
    """The Reason (or Subcode) text of a SOAP Fault, or None when the reply is not a fault."""
    try:
        root = _parse_xml(payload)
    except DecodeError:
        return None
    fault = _find(root, "Fault")
    if fault is None:
        return None
    texts = [
        (element.text or "").strip()
        for element in fault.iter()
        if local_name(element.tag) in {"Text", "Value", "faultstring"}
        and (element.text or "").strip()
    ]
    return " / ".join(texts) or "SOAP Fault"


def _parse_xml(payload: bytes) -> ET.Element:
    try:
        return xmlsafe.parse(payload, max_bytes=MAX_PAYLOAD_BYTES)
    except xmlsafe.XmlError as exc:
        raise DecodeError(CHANNEL, str(exc)) from None


def _find(root: ET.Element, name: str) -> ET.Element | None:
    return next((element for element in root.iter() if local_name(element.tag) == name), None)


def _number(parent: ET.Element, name: str) -> int:
    element = _find(parent, name)
    text = (element.text or "").strip() if element is not None else ""
    if not (text.isascii() and text.isdigit()) or len(text) > 4:
        raise DecodeError(CHANNEL, f"UTCDateTime field {name} is {text[:20]!r}, not a number")
    return int(text)

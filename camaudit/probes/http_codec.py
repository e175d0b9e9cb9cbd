"""Pure HTTP helpers: body decoding, <title>, raw header blocks and TLS names."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable

import mmh3
from cryptography import x509
from cryptography.x509.oid import NameOID

from camaudit.errors import DecodeError

MAX_HEADERS = 200  # more than any real device sends; the rest is dropped
MAX_HEADER_CHARS = 8 * 1024  # per header value, same bound as aiohttp's default line limit
MAX_BLOCK_CHARS = 64 * 1024  # a whole header block, the size of one Evidence value

# RFC 4514 names for attributes cryptography prints as dotted OIDs; recog writes emailAddress.
_NAME_OVERRIDES = {NameOID.EMAIL_ADDRESS: "emailAddress"}


# The channel a DecodeError from this codec names.
CHANNEL = "tls"


def favicon_hashes(icon: bytes) -> list[tuple[str, str]]:
    """(channel, value) for a whole /favicon.ico: its MD5 hex (recog, Ingram), and the hash the
    public favicon lists use (Shodan, nuclei): signed 32-bit MurmurHash3 of its base64 written
    with a newline every 76 characters, as Python's base64.encodebytes writes it."""
    return [
        ("http.favicon_md5", hashlib.md5(icon, usedforsecurity=False).hexdigest()),
        ("http.favicon_mmh3", str(mmh3.hash(base64.encodebytes(icon)))),
    ]


def decode_body(raw: bytes) -> str:
    """Text of a body: UTF-8 when it is valid UTF-8, else Latin-1 (which never fails).

    NOTE: a UTF-8 byte-order mark is kept as U+FEFF: Dahua-family pages start with one.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def header_block(raw_headers: Iterable[tuple[bytes, bytes]], status_line: str = "") -> str:
    """The status line, then headers as "Name: value\r\n" lines in the case the device sent them.

    NOTE: upper-case names (CONNECTION, CONTENT-LENGTH) are a Dahua-family tell, so never normalise.
    """
    lines: list[str] = [f"{status_line}\r\n"] if status_line else []
    for count, (name, value) in enumerate(raw_headers):
        if count >= MAX_HEADERS:
            break
        lines.append(f"{_latin1(name)}: {_latin1(value)[:MAX_HEADER_CHARS]}\r\n")
    return "".join(lines)[:MAX_BLOCK_CHARS]


def header_values(raw_headers: Iterable[tuple[bytes, bytes]], name: str) -> list[str]:
    """Every value of one header (case-insensitive name), in the order sent, empty ones kept."""
    wanted = name.lower().encode("latin-1")
    values: list[str] = []
    for count, (key, value) in enumerate(raw_headers):
        if count >= MAX_HEADERS:
            break
        if key.lower() == wanted:
            values.append(_latin1(value)[:MAX_HEADER_CHARS].strip())
    return values


def _latin1(raw: bytes) -> str:
    # HTTP header bytes are ISO-8859-1 by RFC 9110 §5.5; this never fails on any byte.
    return raw.decode("latin-1")


def certificate_names(der: bytes) -> tuple[str, str]:
    """(subject, issuer) of a DER certificate, each as "CN=...,OU=...,O=...,C=..." text."""
    try:
        cert = x509.load_der_x509_certificate(der)
        return format_name(cert.subject), format_name(cert.issuer)
    except ValueError as exc:  # cryptography raises ValueError for every malformed certificate
        raise DecodeError(CHANNEL, f"not a DER certificate: {exc}") from None


def format_name(name: x509.Name) -> str:
    """A distinguished name written CN first, RFC 4514 escaping, as recog's x509 fingerprints are.

    NOTE: RFC 4514 writes RDNs in reverse DER order, which puts CN first for the usual C-first
    certificate; a certificate whose DER already starts with CN is written as listed, so the
    string reads CN first either way.
    """
    rdns = list(name.rdns)
    if rdns and not _starts_with_common_name(rdns[0]):
        rdns.reverse()
    return ",".join(rdn.rfc4514_string(_NAME_OVERRIDES) for rdn in rdns)


def _starts_with_common_name(rdn: x509.RelativeDistinguishedName) -> bool:
    return any(attribute.oid == NameOID.COMMON_NAME for attribute in rdn)

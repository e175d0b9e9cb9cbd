"""The server certificate from a recorded TLS handshake, when it travels in the clear (pure).

TLS 1.2 and older send the Certificate message unencrypted (RFC 5246 §7.4.2); TLS 1.3 encrypts
it (RFC 8446 §4.4.2), so a 1.3 handshake yields nothing, which offline.md says.
"""

from __future__ import annotations

CONTENT_HANDSHAKE = 22  # RFC 5246 §6.2.1
CONTENT_CHANGE_CIPHER_SPEC = 20
HANDSHAKE_SERVER_HELLO = 2
HANDSHAKE_CERTIFICATE = 11
MAX_HANDSHAKE_BYTES = 128 * 1024  # a certificate chain is a few KiB


def looks_like_tls(prefix: bytes) -> bool:
    """A TLS handshake record (ClientHello or ServerHello) starts these bytes."""
    return len(prefix) >= 3 and prefix[0] == CONTENT_HANDSHAKE and prefix[1] == 3 and prefix[2] <= 4


def leaf_certificate(stream: bytes) -> bytes | None:
    """The first (leaf) DER certificate of the Certificate message in a server's stream, or None."""
    handshake = bytearray()
    offset = 0
    while offset + 5 <= len(stream) and len(handshake) < MAX_HANDSHAKE_BYTES:
        kind, length = stream[offset], int.from_bytes(stream[offset + 3 : offset + 5], "big")
        if kind != CONTENT_HANDSHAKE:
            break  # ChangeCipherSpec or encrypted data: the clear part is over
        handshake += stream[offset + 5 : offset + 5 + length]
        offset += 5 + length
    return _certificate_in(bytes(handshake))


def _certificate_in(messages: bytes) -> bytes | None:
    offset = 0
    while offset + 4 <= len(messages):
        kind = messages[offset]
        length = int.from_bytes(messages[offset + 1 : offset + 4], "big")
        body = messages[offset + 4 : offset + 4 + length]
        if kind == HANDSHAKE_CERTIFICATE and len(body) == length:
            return _first_certificate(body)
        if kind == HANDSHAKE_SERVER_HELLO and _is_tls13(body):
            return None
        offset += 4 + length
    return None


def _first_certificate(body: bytes) -> bytes | None:
    # certificate_list<0..2^24-1>, each ASN.1Cert<1..2^24-1> (RFC 5246 §7.4.2)
    if len(body) < 6:
        return None
    size = int.from_bytes(body[3:6], "big")
    der = body[6 : 6 + size]
    return der if der and len(der) == size else None


def _is_tls13(server_hello: bytes) -> bool:
    """True when the ServerHello picks TLS 1.3 via supported_versions (RFC 8446 §4.2.1)."""
    # version(2) random(32) session_id<0..32> cipher(2) compression(1) extensions<0..2^16-1>
    if len(server_hello) < 35:
        return False
    at = 34 + 1 + server_hello[34] + 3
    end = at + 2 + int.from_bytes(server_hello[at : at + 2], "big")
    at += 2
    while at + 4 <= min(end, len(server_hello)):
        kind = int.from_bytes(server_hello[at : at + 2], "big")
        size = int.from_bytes(server_hello[at + 2 : at + 4], "big")
        if kind == 43 and server_hello[at + 4 : at + 6] == b"\x03\x04":
            return True
        at += 4 + size
    return False

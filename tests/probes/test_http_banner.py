"""HttpBannerProbe and http_codec: codec on samples, fuzzing, loopback round trips."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib

from hypothesis import given
from hypothesis import strategies as st

from camaudit import htmltitle
from camaudit.errors import DecodeError
from camaudit.models import Evidence
from camaudit.probes import http_codec
from camaudit.probes.http_banner import HttpBannerProbe
from camlab.replay import (
    RawHttpResponder,
    StreamResponder,
    say_nothing,
    self_signed_tls,
    trickle_headers_forever,
)
from tests.probes.kit import crlf, host, load, loopback_context

HIKVISION_SUBJECT = "CN=www.hikvision.com,OU=DVRNVR,O=HIKVISION,L=HangZhou,ST=ZheJiang,C=CN"


def values(evidence: list[Evidence], channel: str) -> list[str]:
    """Values of one channel, in order."""
    return [item.value for item in evidence if item.channel == channel]


class TestCodec:
    def test_title_is_unescaped_and_collapsed(self) -> None:
        """Entities are unescaped and runs of whitespace become one space."""
        body = "<html><HEAD><Title lang=en>\n  AVTECH &amp; Co\t Room&reg; </title></head>"
        assert htmltitle.extract_title(body) == "AVTECH & Co Room®"

    def test_title_closed_in_any_case_and_unclosed_titles(self) -> None:
        """The first <title> counts; "</TITLE >" closes it; a page of unclosed tags has none."""
        assert htmltitle.extract_title("<TITLE>Login</TITLE ><title>x</title>") == "Login"
        assert htmltitle.extract_title("<title>" * 9000) is None
        far = "<title>" + "a" * (htmltitle.TITLE_WINDOW_CHARS + 1) + "</title>"
        assert htmltitle.extract_title(far) is None

    def test_missing_title_is_none(self) -> None:
        """A page without <title> yields None, not an empty string."""
        assert htmltitle.extract_title("<html><body>no title</body></html>") is None

    def test_header_block_keeps_upper_case_names(self) -> None:
        """The header block is written with the names exactly as the device sent them."""
        raw = ((b"CONNECTION", b"close"), (b"Server", b""), (b"P3P", b"CP=CAO PSA OUR"))
        expected = "CONNECTION: close\r\nServer: \r\nP3P: CP=CAO PSA OUR\r\n"
        assert http_codec.header_block(raw) == expected
        assert http_codec.header_values(raw, "server") == [""]
        with_status = http_codec.header_block(raw[:1], "HTTP/1.0 302 Redirect")
        assert with_status == "HTTP/1.0 302 Redirect\r\nCONNECTION: close\r\n"

    def test_body_keeps_bom_and_falls_back_to_latin1(self) -> None:
        """UTF-8 keeps a leading BOM as U+FEFF; invalid UTF-8 is read as Latin-1."""
        assert http_codec.decode_body(b"\xef\xbb\xbf<html>") == "\ufeff<html>"
        assert http_codec.decode_body(b"caf\xe9") == "café"

    def test_certificate_names_cn_first(self) -> None:
        """Subject and issuer are written CN first with RFC 4514 escaping."""
        _context, der = self_signed_tls()
        subject, issuer = http_codec.certificate_names(der)
        assert subject == HIKVISION_SUBJECT
        assert issuer == HIKVISION_SUBJECT

    def test_certificate_garbage_is_decode_error(self) -> None:
        """Bytes that are not a certificate raise the codec's DecodeError."""
        try:
            http_codec.certificate_names(b"\x30\x03\x02\x01\x00")
        except DecodeError:
            return
        raise AssertionError("expected DecodeError")

    @given(st.binary(max_size=4096))
    def test_fuzz_body_title_realm(self, raw: bytes) -> None:
        """Random bytes never crash body decoding or title extraction."""
        text = http_codec.decode_body(raw)
        title = htmltitle.extract_title(text)
        assert title is None or len(title) <= htmltitle.MAX_TITLE_CHARS

    @given(st.binary(max_size=2048))
    def test_fuzz_certificate(self, raw: bytes) -> None:
        """Random bytes as a certificate give names or DecodeError, nothing else."""
        with contextlib.suppress(DecodeError):
            subject, issuer = http_codec.certificate_names(raw)
            assert isinstance(subject, str)
            assert isinstance(issuer, str)

    @given(st.lists(st.tuples(st.binary(max_size=64), st.binary(max_size=256)), max_size=300))
    def test_fuzz_header_block(self, raw: list[tuple[bytes, bytes]]) -> None:
        """Any header bytes render, capped at MAX_HEADERS lines."""
        block = http_codec.header_block(raw)
        assert block.count("\r\n") >= min(len(raw), http_codec.MAX_HEADERS)

    def test_header_block_is_capped(self) -> None:
        """A flood of long headers stays within one Evidence value."""
        raw = [(b"X-Pad", b"v" * 8000)] * 200
        assert len(http_codec.header_block(raw, "HTTP/1.1 200 OK")) == http_codec.MAX_BLOCK_CHARS


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit, signed, written from its published description: a reference the
    library camaudit uses is checked against."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed
    whole = len(data) // 4 * 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i : i + 4], "little") * c1 & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= k * c2 & mask
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    k = int.from_bytes(data[whole:], "little")
    if k:
        k = k * c1 & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= k * c2 & mask
    h ^= len(data)
    for shift, factor in ((16, 0x85EBCA6B), (13, 0xC2B2AE35)):
        h = (h ^ (h >> shift)) * factor & mask
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


class TestFaviconHashes:
    def test_md5_and_the_shodan_hash_of_a_multi_line_icon(self) -> None:
        """The Shodan form hashes the base64 text with a newline every 76 characters, so an
        icon of 200 bytes (four base64 lines) is hashed over exactly those lines."""
        icon = bytes(range(200))
        lines = base64.b64encode(icon).decode()
        wrapped = "".join(lines[i : i + 76] + "\n" for i in range(0, len(lines), 76)).encode()
        assert wrapped.count(b"\n") == 4
        assert http_codec.favicon_hashes(icon) == [
            ("http.favicon_md5", hashlib.md5(icon, usedforsecurity=False).hexdigest()),
            ("http.favicon_mmh3", str(murmur3_32(wrapped))),
        ]

    def test_the_reference_hash_matches_published_vectors(self) -> None:
        """Known MurmurHash3_x86_32 values (seed 0) keep the reference honest."""
        assert murmur3_32(b"") == 0
        assert murmur3_32(b"hello") == 613153351
        assert murmur3_32(b"The quick brown fox jumps over the lazy dog") == 776992547


class TestProbe:
    async def test_hikvision_redirect_is_followed_once(self) -> None:
        """GET / 302 → /index.asp: both pages' server, the Location and the target's title."""
        icon = b"\x00\x00\x01\x00fake-icon"
        responder = RawHttpResponder(
            routes={
                ("GET", "/"): load("http/hikvision_root_302.http"),
                ("GET", "/index.asp"): load("http/hikvision_index_asp.http"),
                ("GET", "/favicon.ico"): crlf(f"HTTP/1.1 200 OK\nContent-Length: {len(icon)}\n\n")
                + icon,
            }
        )
        async with responder:
            ctx = loopback_context(http_ports=(responder.port,))
            evidence = await HttpBannerProbe().probe(host(responder.port), ctx)
        assert responder.paths() == ["GET /", "GET /index.asp", "GET /favicon.ico"]
        assert values(evidence, "http.server") == ["Hikvision-Webs"]
        assert values(evidence, "http.location") == ["/index.asp"]
        assert values(evidence, "http.headers")[0].startswith(
            "HTTP/1.0 302 Redirect\r\nServer: Hikvision-Webs\r\nDate: "
        )
        assert values(evidence, "http.title") == ["Hikvision & Co login"]
        icon_md5 = hashlib.md5(icon, usedforsecurity=False).hexdigest()
        assert values(evidence, "http.favicon_md5") == [icon_md5]
        assert values(evidence, "http.favicon_mmh3") == [str(murmur3_32(base64.encodebytes(icon)))]
        assert "/doc/page/login.asp" in values(evidence, "http.body")[0]
        assert {item.port for item in evidence} == {responder.port}
        assert {item.probe for item in evidence} == {"http_banner"}

    async def test_dahua_upper_case_headers_and_no_server(self) -> None:
        """Dahua-style replies: raw upper-case names kept, no http.server at all, BOM in body."""
        responder = RawHttpResponder(routes={("GET", "/"): load("http/dahua_root.http")})
        async with responder:
            ctx = loopback_context(http_ports=(responder.port,))
            evidence = await HttpBannerProbe().probe(host(responder.port), ctx)
        headers = values(evidence, "http.headers")[0]
        assert headers.startswith("HTTP/1.1 200 OK\r\nCONNECTION: close\r\nCONTENT-LENGTH: ")
        assert "CACHE-CONTROL: max-age=0\r\n" in headers
        assert values(evidence, "http.server") == []
        assert values(evidence, "http.title") == ["WEB SERVICE"]
        assert values(evidence, "http.body")[0].startswith("\ufeff<!DOCTYPE html")
        assert values(evidence, "http.favicon_md5") == []  # 404 favicon is not hashed
        assert values(evidence, "http.favicon_mmh3") == []

    async def test_empty_server_header_and_challenges(self) -> None:
        """A bare "Server:" yields an empty http.server; each challenge is its own value."""
        responder = RawHttpResponder(
            routes={("GET", "/"): load("http/hikvision_capabilities_401.http")}
        )
        async with responder:
            ctx = loopback_context(http_ports=(responder.port,))
            evidence = await HttpBannerProbe().probe(host(responder.port), ctx)
        assert values(evidence, "http.server") == [""]
        challenges = values(evidence, "http.www_authenticate")
        assert challenges[0].startswith('Digest realm="DVRNVRDVS"')
        assert challenges[1] == 'Basic realm="DVRNVRDVS"'

    async def test_https_certificate_subject_and_issuer(self) -> None:
        """On an HTTPS port the self-signed certificate's subject and issuer are read back."""
        context, _der = self_signed_tls()
        page = (
            crlf("HTTP/1.1 200 OK\nServer: DNVRS-Webs\nContent-Length: 24\n\n")
            + (b"<title>Secure</title>\r\n\r\n")[:24]
        )
        responder = RawHttpResponder(routes={("GET", "/"): page}, ssl_context=context)
        async with responder:
            ctx = loopback_context(https_ports=(responder.port,))
            evidence = await HttpBannerProbe().probe(host(responder.port), ctx)
        assert values(evidence, "tls.subject") == [HIKVISION_SUBJECT]
        assert values(evidence, "tls.issuer") == [HIKVISION_SUBJECT]
        assert values(evidence, "http.server") == ["DNVRS-Webs"]
        assert values(evidence, "http.title") == ["Secure"]

    async def test_redirect_to_other_host_is_not_followed(self) -> None:
        """A Location on another host is recorded but never requested."""
        responder = RawHttpResponder(
            routes={
                ("GET", "/"): crlf(
                    "HTTP/1.1 302 Found\nLocation: http://198.51.100.7/login\nContent-Length: 0\n\n"
                )
            }
        )
        async with responder:
            ctx = loopback_context(http_ports=(responder.port,))
            evidence = await HttpBannerProbe().probe(host(responder.port), ctx)
        assert responder.paths() == ["GET /", "GET /favicon.ico"]
        assert values(evidence, "http.location") == ["http://198.51.100.7/login"]

    async def test_redirect_carrying_credentials_is_not_followed(self) -> None:
        """A same-origin Location with user:password@ is not requested (no Basic login)."""

        def redirect(_request: object) -> bytes:
            return crlf(f"HTTP/1.1 302 Found\nLocation: {location()}\nContent-Length: 0\n\n")

        def location() -> str:
            return f"http://admin:12345@127.0.0.1:{responder.port}/doc/page/login.asp"

        responder = RawHttpResponder(routes={("GET", "/"): redirect})
        async with responder:
            ctx = loopback_context(http_ports=(responder.port,))
            evidence = await HttpBannerProbe().probe(host(responder.port), ctx)
        assert responder.paths() == ["GET /", "GET /favicon.ico"]
        assert values(evidence, "http.location") == [location()]

    async def test_only_open_web_ports_are_asked(self) -> None:
        """Ports not configured as web ports, or not open, get no request."""
        responder = RawHttpResponder()
        async with responder:
            ctx = loopback_context(http_ports=(responder.port,))
            assert await HttpBannerProbe().probe(host(), ctx) == []
            ctx_other = loopback_context(http_ports=(1,))
            assert await HttpBannerProbe().probe(host(responder.port), ctx_other) == []
        assert responder.requests == []

    async def test_huge_body_is_capped(self) -> None:
        """A multi-megabyte page is cut at 64 KiB and still gives its title."""
        body = b"<title>Big</title>" + b"A" * (4 * 1024 * 1024)
        reply = crlf(f"HTTP/1.1 200 OK\nContent-Length: {len(body)}\n\n") + body
        responder = RawHttpResponder(routes={("GET", "/"): reply})
        async with responder:
            ctx = loopback_context(http_ports=(responder.port,))
            evidence = await HttpBannerProbe().probe(host(responder.port), ctx)
        assert len(values(evidence, "http.body")[0]) == 64 * 1024
        assert values(evidence, "http.title") == ["Big"]

    async def test_slowloris_returns_within_deadline(self) -> None:
        """A server that trickles its body forever ends at the request deadline, headers kept."""
        responder = StreamResponder(trickle_headers_forever)
        async with responder:
            ctx = loopback_context(http_ports=(responder.port,), request_timeout_s=0.5)
            # A hang guard, not a benchmark: without the deadline this would never return.
            async with asyncio.timeout(10):
                evidence = await HttpBannerProbe().probe(host(responder.port), ctx)
        assert values(evidence, "http.server") == ["Slowpoke"]
        assert 0 < len(values(evidence, "http.body")[0]) < 100_000

    async def test_silent_and_garbage_servers_give_nothing(self) -> None:
        """No reply, or bytes that are not HTTP, produce no evidence and no exception."""
        silent = StreamResponder(say_nothing)
        garbage = RawHttpResponder(default=b"\x00\xff\x13garbage\r\n\r\n\x00" * 50)
        async with silent, garbage:
            ctx = loopback_context(http_ports=(silent.port, garbage.port), request_timeout_s=0.3)
            evidence = await HttpBannerProbe().probe(host(silent.port, garbage.port), ctx)
        assert evidence == []

    async def test_closed_port_gives_nothing(self) -> None:
        """A refused connection is an answer, not an error."""
        responder = RawHttpResponder()
        async with responder:
            port = responder.port
        ctx = loopback_context(http_ports=(port,))
        assert await HttpBannerProbe().probe(host(port), ctx) == []

"""HTTP(S) banner probe: GET / (one same-origin redirect hop) and /favicon.ico on each web port."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import ClassVar
from urllib.parse import urljoin, urlsplit

import aiohttp

from camaudit.errors import DecodeError
from camaudit.htmltitle import extract_title
from camaudit.models import Evidence
from camaudit.net import close_quietly, open_tcp
from camaudit.probes import http_codec
from camaudit.probes.base import HostProbe, HostTarget, ProbeContext
from camaudit.probes.http_session import Reply, fetch, insecure_tls_context, shared_session

log = logging.getLogger(__name__)

BODY_EVIDENCE_BYTES = 64 * 1024  # the login page markers sit early; more is noise for fingerprints
FAVICON_MAX_BYTES = 64 * 1024  # real favicons are a few KiB; bigger is not an icon worth hashing
_HEADER_CHANNELS = (
    ("Server", "http.server"),
    ("WWW-Authenticate", "http.www_authenticate"),
    ("Location", "http.location"),
)


def web_ports(host: HostTarget, ctx: ProbeContext) -> list[tuple[str, int]]:
    """(scheme, port) for each open port configured as HTTP or HTTPS, HTTPS winning ties."""
    https = set(ctx.options.https_ports)
    wanted = sorted(host.open_ports & (set(ctx.options.http_ports) | https))
    return [("https" if port in https else "http", port) for port in wanted]


def base_url(scheme: str, host: HostTarget, port: int) -> str:
    """The origin of one web port of a host."""
    return f"{scheme}://{host.ip}:{port}"


# Asks one web port: (session, ctx, host, scheme, port) -> evidence.
PortProbe = Callable[
    [aiohttp.ClientSession, ProbeContext, HostTarget, str, int], Awaitable[list[Evidence]]
]


async def probe_web_ports(
    host: HostTarget, ctx: ProbeContext, probe_port: PortProbe
) -> list[Evidence]:
    """`probe_port` on every open web port at once, through the scan's session; repeats dropped
    (a redirect and its target often share headers), first-seen order kept."""
    ports = web_ports(host, ctx)
    if not ports:
        return []
    session = shared_session(ctx)
    per_port = await asyncio.gather(
        *(probe_port(session, ctx, host, scheme, port) for scheme, port in ports)
    )
    return list(dict.fromkeys(item for items in per_port for item in items))


class HttpBannerProbe(HostProbe):
    """Reads the front page, headers, favicon and TLS certificate of every open web port."""

    name: ClassVar[str] = "http_banner"
    description: ClassVar[str] = "GET / (+1 same-origin redirect) and /favicon.ico on web ports"

    async def probe(self, host: HostTarget, ctx: ProbeContext) -> list[Evidence]:
        """Evidence from each web port; ports that do not answer add nothing."""
        return await probe_web_ports(host, ctx, self._probe_port)

    async def _probe_port(
        self,
        session: aiohttp.ClientSession,
        ctx: ProbeContext,
        host: HostTarget,
        scheme: str,
        port: int,
    ) -> list[Evidence]:
        origin = base_url(scheme, host, port)
        evidence: list[Evidence] = []
        if scheme == "https":
            der = await peer_certificate(ctx, host, port)
            if der is not None:
                evidence += self._tls_evidence(host, port, der, ctx)
        front = await fetch(session, ctx, origin + "/", max_bytes=BODY_EVIDENCE_BYTES)
        if front is None:
            return evidence
        evidence += self._page_evidence(host, port, front)
        hop = same_origin_location(front, origin)
        if hop is not None:
            landing = await fetch(session, ctx, hop, max_bytes=BODY_EVIDENCE_BYTES)
            if landing is not None:
                evidence += self._page_evidence(host, port, landing)
        icon = await fetch(session, ctx, origin + "/favicon.ico", max_bytes=FAVICON_MAX_BYTES + 1)
        if icon is not None and icon.status == 200 and not icon.truncated and icon.body:
            evidence += [
                self.evidence(host, port, channel, value)
                for channel, value in http_codec.favicon_hashes(icon.body)
            ]
        return evidence

    def _page_evidence(self, host: HostTarget, port: int, reply: Reply) -> list[Evidence]:
        """Server, challenges, title, header block, body and Location of one response."""
        # NOTE: an empty Server value is kept: some Hikvision firmware sends "Server:" bare.
        items = [
            self.evidence(host, port, channel, value)
            for header, channel in _HEADER_CHANNELS
            for value in http_codec.header_values(reply.raw_headers, header)
        ]
        items.append(
            self.evidence(
                host,
                port,
                "http.headers",
                http_codec.header_block(reply.raw_headers, reply.status_line),
            )
        )
        body = http_codec.decode_body(reply.body[:BODY_EVIDENCE_BYTES])
        title = extract_title(body)
        if title is not None:
            items.append(self.evidence(host, port, "http.title", title))
        if body:
            items.append(self.evidence(host, port, "http.body", body))
        return items

    def _tls_evidence(
        self, host: HostTarget, port: int, der: bytes, ctx: ProbeContext
    ) -> list[Evidence]:
        try:
            subject, issuer = http_codec.certificate_names(der)
        except DecodeError as exc:
            ctx.log_once("http_banner: unreadable certificate from %s:%s: %s", host.ip, port, exc)
            return []
        return [
            self.evidence(host, port, "tls.subject", subject),
            self.evidence(host, port, "tls.issuer", issuer),
        ]


async def peer_certificate(ctx: ProbeContext, host: HostTarget, port: int) -> bytes | None:
    """The DER certificate a TLS port presents, from a handshake of its own; None if no handshake.

    NOTE: taken apart from the HTTP request because aiohttp releases the connection (and its TLS
    object) as soon as a short body is read, and because a port that completes TLS but then
    speaks no HTTP still shows its certificate.
    """
    await ctx.limiter.acquire()
    try:
        async with asyncio.timeout(ctx.options.connect_timeout_s + ctx.options.request_timeout_s):
            _reader, writer = await open_tcp(
                host.ip,
                port,
                timeout_s=ctx.options.connect_timeout_s + ctx.options.request_timeout_s,
                ssl_context=insecure_tls_context(),
            )
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        log.debug("tls handshake with %s:%s failed: %s", host.ip, port, exc)
        return None
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        return bytes(der) if der else None
    finally:
        await close_quietly(writer)


def same_origin_location(reply: Reply, origin: str) -> str | None:
    """The absolute Location of a 3xx reply when it stays on the same scheme, host and port and
    carries no user name or password (aiohttp would send those as Basic credentials)."""
    if not 300 <= reply.status < 400:
        return None
    locations = http_codec.header_values(reply.raw_headers, "Location")
    if not locations or not locations[0]:
        return None
    try:
        target = urljoin(origin + "/", locations[0])
        wanted, got = urlsplit(origin), urlsplit(target)
        same = (got.scheme, got.hostname, got.port) == (wanted.scheme, wanted.hostname, wanted.port)
        same = same and got.username is None and got.password is None
    except ValueError:  # a malformed Location (bad port, bad IPv6 literal) is not followed
        return None
    return target if same else None

"""One aiohttp session per scan, shared by the HTTP probes, and a capped, deadline-bound fetch.

Probes call `async with http_session(ctx) as session:`. The first user creates the session and
the last one out closes it; a scanner that wraps the whole scan in `http_session(ctx)` keeps one
connection pool for every host.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
import warnings
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import aiohttp

from camaudit import __version__
from camaudit.probes.base import ProbeContext

log = logging.getLogger(__name__)

USER_AGENT = f"camaudit/{__version__} (inventory scan; read-only)"
_ATTRIBUTE = "_camaudit_http_session"


@dataclass(kw_only=True)
class _Shared:
    session: aiohttp.ClientSession
    users: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """One HTTP response as received: status line, raw headers and a capped body."""

    status: int
    reason: str
    version: str  # "HTTP/1.1"
    raw_headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    truncated: bool  # the body was longer than the cap, or stopped at the deadline

    @property
    def status_line(self) -> str:
        """The status line as the device sent it (reason phrase kept)."""
        return f"{self.version} {self.status} {self.reason}".rstrip()


@functools.cache
def insecure_tls_context() -> ssl.SSLContext:
    """TLS that accepts any certificate and old protocol versions (one shared context).

    NOTE: cameras ship self-signed certificates and old TLS stacks; we only read what they
    present (the certificate is evidence), we never send credentials, so verification buys nothing.
    No CA bundle is loaded, which also keeps file I/O off the event loop.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with contextlib.suppress(ValueError, ssl.SSLError), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0 is deprecated, cameras use it
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


def _new_session(ctx: ProbeContext) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=max(ctx.options.concurrency, 1),
        ssl=insecure_tls_context(),
        # One connection per request: embedded web servers handle keep-alive badly, and the rate
        # limiter counts new connections.
        force_close=True,
    )
    timeout = aiohttp.ClientTimeout(
        total=ctx.options.request_timeout_s, connect=ctx.options.connect_timeout_s
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        cookie_jar=aiohttp.DummyCookieJar(),  # keep nothing a device hands out
        auto_decompress=False,  # a compressed body stays capped at its wire size
        trust_env=False,  # never route a scan through a proxy from the environment
        headers={"User-Agent": USER_AGENT, "Accept": "*/*"},
    )


@contextlib.asynccontextmanager
async def http_session(ctx: ProbeContext) -> AsyncIterator[aiohttp.ClientSession]:
    """The scan's shared ClientSession: made on first use, closed when the last user leaves."""
    shared = _join(ctx)
    try:
        yield shared.session
    finally:
        shared.users -= 1
        if shared.users == 0:
            if getattr(ctx, _ATTRIBUTE, None) is shared:
                delattr(ctx, _ATTRIBUTE)
            await shared.session.close()


def _join(ctx: ProbeContext) -> _Shared:
    # No await between the lookup and the store, so concurrent first users share one session.
    shared: _Shared | None = getattr(ctx, _ATTRIBUTE, None)
    if shared is None or shared.session.closed:
        shared = _Shared(session=_new_session(ctx))
        setattr(ctx, _ATTRIBUTE, shared)
    shared.users += 1
    return shared


async def fetch(
    session: aiohttp.ClientSession,
    ctx: ProbeContext,
    url: str,
    *,
    method: str = "GET",
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int | None = None,
) -> Reply | None:
    """One request, never following redirects; None when the host did not answer in time.

    A body that stalls after the headers arrived is returned as far as it got (truncated=True).
    """
    cap = ctx.options.max_read_bytes
    if max_bytes is not None:
        cap = min(cap, max_bytes)
    await ctx.limiter.acquire()
    try:
        # The session's ClientTimeout already bounds the request; this outer deadline also covers
        # connection setup and TLS handshakes on every aiohttp version.
        async with (
            asyncio.timeout(ctx.options.request_timeout_s + ctx.options.connect_timeout_s),
            session.request(
                method, url, data=data, headers=dict(headers or {}), allow_redirects=False
            ) as response,
        ):
            body, truncated = await _read_capped(response, cap)
            return Reply(
                status=response.status,
                reason=response.reason or "",
                version=f"HTTP/{response.version.major}.{response.version.minor}"
                if response.version
                else "HTTP/1.1",
                raw_headers=tuple(response.raw_headers),
                body=body,
                truncated=truncated,
            )
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
        # A closed port, a reset or a garbage reply is an answer about the host, not a scan error.
        log.debug("%s %s: %s", method, url, exc or type(exc).__name__)
        return None


async def _read_capped(response: aiohttp.ClientResponse, cap: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    total = 0
    try:
        while total < cap:
            chunk = await response.content.read(min(65536, cap - total))
            if not chunk:
                return b"".join(chunks), False
            chunks.append(chunk)
            total += len(chunk)
    except (TimeoutError, aiohttp.ClientError) as exc:
        log.debug("body of %s stopped early: %s", response.url, exc or type(exc).__name__)
        return b"".join(chunks), True
    return b"".join(chunks), True

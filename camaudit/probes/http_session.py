"""One aiohttp session per scan, shared by every HTTP probe, and a capped, deadline-bound fetch.

Probes call `shared_session(ctx)`: the first call makes the session and keeps it in
`ctx.resources`; the scanner's `await ctx.aclose()` at the end of the scan closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from camaudit import __version__
from camaudit.probes.base import ProbeContext

log = logging.getLogger(__name__)

USER_AGENT = f"camaudit/{__version__} (inventory scan; read-only)"
_RESOURCE = "http_session"  # key in ProbeContext.resources
# For SOAP and UPnP documents: a compressed body would stay compressed (auto_decompress=False).
IDENTITY_ENCODING: Mapping[str, str] = {"Accept-Encoding": "identity"}


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


def shared_session(ctx: ProbeContext) -> aiohttp.ClientSession:
    """The scan's ClientSession: made on first use, closed by `ctx.aclose()` when the scan ends."""
    # Not a coroutine: nothing can interleave between the lookup and the store, so concurrent
    # first users get one session.
    session = ctx.resources.get(_RESOURCE)
    if isinstance(session, aiohttp.ClientSession) and not session.closed:
        return session
    session = _new_session(ctx)
    ctx.resources[_RESOURCE] = session
    ctx.add_closer(functools.partial(_close, ctx, session))
    return session


async def _close(ctx: ProbeContext, session: aiohttp.ClientSession) -> None:
    if ctx.resources.get(_RESOURCE) is session:
        del ctx.resources[_RESOURCE]
    await session.close()


async def fetch(
    session: aiohttp.ClientSession,
    ctx: ProbeContext,
    url: str,
    *,
    method: str = "GET",
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int | None = None,
    whole_body: bool = False,
    digest: tuple[str, str] | None = None,
) -> Reply | None:
    """One request, never following redirects; None when the host did not answer in time.

    A body that stalls after the headers arrived is returned as far as it got (truncated=True),
    or, with `whole_body` (documents that are useless in part), the reply is None.
    With `digest` (user, password), a 401 carrying an HTTP Digest challenge is answered once,
    by aiohttp's DigestAuthMiddleware; a Basic-only challenge is never answered, so the password
    itself never crosses the network.
    """
    cap = ctx.options.max_read_bytes
    if max_bytes is not None:
        cap = min(cap, max_bytes)
    await ctx.limiter.acquire()
    middlewares: tuple[aiohttp.DigestAuthMiddleware, ...] = ()
    if digest is not None:
        await ctx.limiter.acquire()  # the challenge and the answer are two requests
        middlewares = (aiohttp.DigestAuthMiddleware(digest[0], digest[1], preemptive=False),)
    try:
        # The session's ClientTimeout already bounds the request; this outer deadline also covers
        # connection setup and TLS handshakes on every aiohttp version.
        async with (
            asyncio.timeout(ctx.options.request_timeout_s + ctx.options.connect_timeout_s),
            session.request(
                method,
                url,
                data=data,
                headers=dict(headers or {}),
                allow_redirects=False,
                middlewares=middlewares,
            ) as response,
        ):
            body, truncated, stalled = await _read_capped(response, cap)
            if stalled and whole_body:
                return None
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


async def _read_capped(response: aiohttp.ClientResponse, cap: int) -> tuple[bytes, bool, bool]:
    """(body, truncated, stalled): truncated when cut at the cap or stalled mid-body."""
    # NOTE: Content-Length is never trusted; read until EOF or the cap.
    chunks: list[bytes] = []
    total = 0
    try:
        while total < cap:
            chunk = await response.content.read(min(65536, cap - total))
            if not chunk:
                return b"".join(chunks), False, False
            chunks.append(chunk)
            total += len(chunk)
    except (TimeoutError, aiohttp.ClientError) as exc:
        log.debug("body of %s stopped early: %s", response.url, exc or type(exc).__name__)
        return b"".join(chunks), True, True
    return b"".join(chunks), True, False

"""ONVIF probe: a small direct SOAP client asking one host for its clock and device information."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar
from urllib.parse import SplitResult, urlsplit

import aiohttp

from camaudit.models import MAX_VALUE_CHARS, Evidence
from camaudit.probes import onvif_codec
from camaudit.probes.base import HostProbe, HostTarget, ProbeContext

log = logging.getLogger(__name__)

DEVICE_SERVICE_PATH = "/onvif/device_service"  # ONVIF Core §5.1.1 fixed device-service path
NONCE_BYTES = 16  # WS-Security UsernameToken nonce; 16 random bytes as most ONVIF clients send
# Replies that may mean "ask again with credentials": 401/403 at the HTTP layer, or a SOAP
# Fault (ONVIF Core §5.11.2.1 ter:NotAuthorized comes back as 400, gSOAP servers often use 500).
REFUSAL_STATUSES = frozenset({400, 401, 403, 500})


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpReply:
    """One HTTP response: status, headers in order, body capped at the scan's max_read_bytes."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header_values(self, name: str) -> list[str]:
        """Every value of one header, case-insensitively, in the order received."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]


@contextlib.asynccontextmanager
async def http_session(ctx: ProbeContext) -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session for device requests: no proxies, no decompression, no keep-alive."""
    timeout = aiohttp.ClientTimeout(
        total=ctx.options.request_timeout_s, sock_connect=ctx.options.connect_timeout_s
    )
    connector = aiohttp.TCPConnector(force_close=True, use_dns_cache=False, limit=4)
    # NOTE: trust_env=False keeps HTTP(S)_PROXY from routing device traffic elsewhere, and
    # auto_decompress=False stops a gzip bomb from expanding past the read cap.
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, trust_env=False, auto_decompress=False
    ) as session:
        yield session


async def http_request(
    session: aiohttp.ClientSession,
    ctx: ProbeContext,
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> HttpReply | None:
    """One request under the scan's deadline and read cap; None when the host does not answer."""
    await ctx.limiter.acquire()
    sent_headers = {"Accept-Encoding": "identity", **(headers or {})}
    try:
        async with session.request(
            method, url, data=body, headers=sent_headers, allow_redirects=False, ssl=False
        ) as response:
            payload = await _read_capped(response.content, ctx.options.max_read_bytes)
            return HttpReply(
                status=response.status,
                headers=tuple((str(key), str(value)) for key, value in response.headers.items()),
                body=payload,
            )
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
        log.debug("%s %s: no usable answer: %s", method, url, exc)
        return None


async def _read_capped(stream: aiohttp.StreamReader, max_bytes: int) -> bytes:
    # NOTE: Content-Length is never trusted; read until EOF or the cap.
    chunks: list[bytes] = []
    total = 0
    while total < max_bytes:
        chunk = await stream.read(max_bytes - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def onvif_endpoint(host: HostTarget, http_ports: tuple[int, ...]) -> str | None:
    """The device-service URL to ask, always on this host's IP; None when there is none to ask.

    Prefers an XAddr the host advertised for its own address; another XAddr (a NAT or IPv6
    address) is rewritten to this IP so nothing but the target is ever contacted.
    """
    candidates = list(_xaddr_candidates(host))
    own = [parts for parts in candidates if parts.hostname == str(host.ip)]
    for parts in sorted(own or candidates, key=lambda parts: parts.scheme != "http"):
        with contextlib.suppress(ValueError):
            port = parts.port or (443 if parts.scheme == "https" else 80)
            query = f"?{parts.query}" if parts.query else ""
            return f"{parts.scheme}://{host.ip}:{port}{parts.path or DEVICE_SERVICE_PATH}{query}"
    for port in http_ports:
        if port in host.open_ports:
            return f"http://{host.ip}:{port}{DEVICE_SERVICE_PATH}"
    return None


def _xaddr_candidates(host: HostTarget) -> list[SplitResult]:
    candidates: list[SplitResult] = []
    for value in host.known_values("wsd.xaddrs"):
        for token in value.split():
            with contextlib.suppress(ValueError):
                parts = urlsplit(token)
                if parts.scheme in {"http", "https"} and parts.hostname:
                    candidates.append(parts)
    return candidates


class OnvifProbe(HostProbe):
    """GetSystemDateAndTime, GetDeviceInformation, and one authenticated retry if configured."""

    name: ClassVar[str] = "onvif"
    description: ClassVar[str] = "ONVIF device service SOAP (HTTP, XAddrs from WS-Discovery)"

    async def probe(self, host: HostTarget, ctx: ProbeContext) -> list[Evidence]:
        """Evidence from the host's ONVIF device service; empty when it has none."""
        if host.ip not in ctx.scope:
            return []
        url = onvif_endpoint(host, ctx.options.http_ports)
        if url is None:
            return []
        async with http_session(ctx) as session:
            interview = _Interview(probe=self.name, host=host, ctx=ctx, session=session, url=url)
            await interview.run()
        return list(dict.fromkeys(interview.evidence))


class _Interview:
    """The conversation with one host; collects evidence as it goes."""

    def __init__(
        self,
        *,
        probe: str,
        host: HostTarget,
        ctx: ProbeContext,
        session: aiohttp.ClientSession,
        url: str,
    ) -> None:
        self.probe = probe
        self.host = host
        self.ctx = ctx
        self.session = session
        self.url = url
        self.port = urlsplit(url).port
        self.clock_offset = timedelta(0)
        self.evidence: list[Evidence] = []

    async def run(self) -> None:
        reply = await self.call(onvif_codec.GET_SYSTEM_DATE_AND_TIME)
        if reply is None:
            return
        if not self.read_clock(reply) and reply.status not in REFUSAL_STATUSES:
            log.debug("onvif: %s answered %d, not an ONVIF device service", self.url, reply.status)
            return
        reply = await self.call(onvif_codec.GET_DEVICE_INFORMATION)
        if reply is None or self.read_device_information(reply):
            return
        if reply.status in REFUSAL_STATUSES and self.has_credentials():
            await self.retry_with_credentials()

    async def call(
        self, action: str, token: onvif_codec.UsernameToken | None = None
    ) -> HttpReply | None:
        reply = await http_request(
            self.session,
            self.ctx,
            "POST",
            self.url,
            body=onvif_codec.build_request(action, token),
            headers={"Content-Type": onvif_codec.content_type(action)},
        )
        if reply is not None:
            self.record_challenges(reply)
            if reply.status != 200:
                reason = onvif_codec.fault_reason(reply.body)
                log.debug("onvif: %s %s -> %d %s", self.url, action, reply.status, reason or "")
        return reply

    def record_challenges(self, reply: HttpReply) -> None:
        # The HTTP layer names the device even when SOAP refuses (Dahua: realm "Login to <serial>").
        for value in reply.header_values("WWW-Authenticate"):
            self.add("http.www_authenticate", value)

    def read_clock(self, reply: HttpReply) -> bool:
        if reply.status != 200:
            return False
        try:
            device_time = onvif_codec.parse_system_date_and_time(reply.body)
        except onvif_codec.DecodeError as exc:
            log.debug("onvif: %s: unreadable GetSystemDateAndTime: %s", self.url, exc)
            return False
        self.clock_offset = device_time - datetime.now(UTC)
        self.add("onvif.system_date_time", device_time.strftime("%Y-%m-%dT%H:%M:%SZ"))
        return True

    def read_device_information(self, reply: HttpReply) -> bool:
        if reply.status != 200:
            return False
        try:
            element = onvif_codec.extract_device_information(reply.body)
        except onvif_codec.DecodeError as exc:
            log.debug("onvif: %s: unreadable GetDeviceInformation: %s", self.url, exc)
            return False
        self.add("onvif.device_information", element)
        return True

    def has_credentials(self) -> bool:
        options = self.ctx.options
        return bool(options.onvif_user) and options.onvif_password is not None

    async def retry_with_credentials(self) -> None:
        """Exactly one authenticated attempt: camaudit audits, it never guesses passwords."""
        options = self.ctx.options
        token = onvif_codec.username_token(
            user=options.onvif_user or "",
            password=options.onvif_password or "",
            nonce=secrets.token_bytes(NONCE_BYTES),
            # Created on the device's clock: devices reject tokens outside their own time window.
            device_time=datetime.now(UTC) + self.clock_offset,
        )
        reply = await self.call(onvif_codec.GET_DEVICE_INFORMATION, token)
        if reply is not None and not self.read_device_information(reply):
            self.ctx.log_once("onvif: %s refused the given ONVIF credentials", self.host.ip)

    def add(self, channel: str, value: str) -> None:
        value = value[:MAX_VALUE_CHARS]  # a reply may be up to max_read_bytes; evidence is capped
        self.evidence.append(
            Evidence(
                host=self.host.ip, channel=channel, value=value, probe=self.probe, port=self.port
            )
        )

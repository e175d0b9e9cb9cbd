"""ONVIF probe: a small direct SOAP client asking one host for its clock and device information."""

from __future__ import annotations

import contextlib
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import ClassVar
from urllib.parse import SplitResult, urlsplit

import aiohttp

from camaudit.errors import DecodeError
from camaudit.models import MAX_VALUE_CHARS, Evidence
from camaudit.probes import http_codec, onvif_codec
from camaudit.probes.base import HostProbe, HostTarget, ProbeContext
from camaudit.probes.http_session import IDENTITY_ENCODING, Reply, fetch, shared_session

log = logging.getLogger(__name__)

DEVICE_SERVICE_PATH = "/onvif/device_service"  # ONVIF Core §5.1.1 fixed device-service path
NONCE_BYTES = 16  # WS-Security UsernameToken nonce; 16 random bytes as most ONVIF clients send
# Replies that may mean "ask again with credentials": 401/403 at the HTTP layer, or a SOAP
# Fault (ONVIF Core §5.11.2.1 ter:NotAuthorized comes back as 400, gSOAP servers often use 500).
REFUSAL_STATUSES = frozenset({400, 401, 403, 500})


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
    reads_discovery: ClassVar[bool] = True  # the XAddrs WS-Discovery heard

    async def probe(self, host: HostTarget, ctx: ProbeContext) -> list[Evidence]:
        """Evidence from the host's ONVIF device service; empty when it has none."""
        if host.ip not in ctx.scope:
            return []
        url = onvif_endpoint(host, ctx.options.http_ports)
        if url is None:
            return []
        session = shared_session(ctx)
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
        if reply.status in REFUSAL_STATUSES and self.ctx.options.has_credentials:
            await self.retry_with_credentials()

    async def call(
        self, action: str, token: onvif_codec.UsernameToken | None = None
    ) -> Reply | None:
        reply = await fetch(
            self.session,
            self.ctx,
            self.url,
            method="POST",
            data=onvif_codec.build_request(action, token),
            headers={**IDENTITY_ENCODING, "Content-Type": onvif_codec.content_type(action)},
            whole_body=True,
        )
        if reply is not None:
            self.record_challenges(reply)
            if reply.status != 200:
                reason = onvif_codec.fault_reason(reply.body)
                log.debug("onvif: %s %s -> %d %s", self.url, action, reply.status, reason or "")
        return reply

    def record_challenges(self, reply: Reply) -> None:
        # The HTTP layer names the device even when SOAP refuses (Dahua: realm "Login to <serial>").
        for value in http_codec.header_values(reply.raw_headers, "WWW-Authenticate"):
            self.add("http.www_authenticate", value)

    def read_clock(self, reply: Reply) -> bool:
        if reply.status != 200:
            return False
        try:
            device_time = onvif_codec.parse_system_date_and_time(reply.body)
        except DecodeError as exc:
            log.debug("onvif: %s: unreadable GetSystemDateAndTime: %s", self.url, exc)
            return False
        self.clock_offset = device_time - datetime.now(UTC)
        self.add("onvif.system_date_time", device_time.strftime("%Y-%m-%dT%H:%M:%SZ"))
        return True

    def read_device_information(self, reply: Reply) -> bool:
        if reply.status != 200:
            return False
        try:
            element = onvif_codec.extract_device_information(reply.body)
        except DecodeError as exc:
            log.debug("onvif: %s: unreadable GetDeviceInformation: %s", self.url, exc)
            return False
        self.add("onvif.device_information", element)
        return True

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

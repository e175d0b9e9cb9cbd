"""RTSP probe: OPTIONS then DESCRIBE on the RTSP port, reading Server, Public and challenges."""

from __future__ import annotations

import asyncio
import logging
from typing import ClassVar

from camaudit.errors import DecodeError
from camaudit.models import Evidence
from camaudit.net import close_quietly, open_tcp
from camaudit.probes import rtsp_codec
from camaudit.probes.base import HostProbe, HostTarget, ProbeContext

log = logging.getLogger(__name__)

MAX_REPLY_BYTES = 128 * 1024  # head + SDP; anything longer is not a camera answering DESCRIBE
_HEADER_CHANNELS = (
    ("Server", "rtsp.server"),
    ("Public", "rtsp.public"),
    ("WWW-Authenticate", "rtsp.www_authenticate"),
)


class RtspProbe(HostProbe):
    """Sends OPTIONS (CSeq 1) and DESCRIBE (CSeq 2) without credentials and records the replies."""

    name: ClassVar[str] = "rtsp"
    description: ClassVar[str] = "RTSP OPTIONS and DESCRIBE (RFC 2326) on the RTSP port, no login"

    async def probe(self, host: HostTarget, ctx: ProbeContext) -> list[Evidence]:
        """Evidence from the RTSP port; nothing when it is closed or silent."""
        port = ctx.options.port("rtsp")
        if not should_try(host, port, ctx):
            return []
        url = f"rtsp://{host.ip}:{port}/"
        requests = (
            ("OPTIONS", rtsp_codec.build_request("OPTIONS", url, 1)),
            (
                "DESCRIBE",
                rtsp_codec.build_request(
                    "DESCRIBE", url, 2, extra=(("Accept", "application/sdp"),)
                ),
            ),
        )
        evidence: list[Evidence] = []
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            for method, payload in requests:
                reused = connection is not None
                if connection is None:
                    connection = await self._connect(host, port, ctx)
                    if connection is None:
                        break
                reply = await exchange(*connection, payload, ctx)
                if reply is None and reused and connection[0].at_eof():
                    # Some servers hang up after each reply: ask once more on a fresh connection.
                    await close_quietly(connection[1])
                    connection = await self._connect(host, port, ctx)
                    if connection is None:
                        break
                    reply = await exchange(*connection, payload, ctx)
                if reply is None:
                    break  # silent or not RTSP: a second request would only cost another deadline
                evidence += self._reply_evidence(host, port, method, reply)
        finally:
            if connection is not None:
                await close_quietly(connection[1])
        return list(dict.fromkeys(evidence))

    async def _connect(
        self, host: HostTarget, port: int, ctx: ProbeContext
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        await ctx.limiter.acquire()
        try:
            return await open_tcp(host.ip, port, timeout_s=ctx.options.connect_timeout_s)
        except (OSError, TimeoutError) as exc:
            log.debug("rtsp: %s:%s not reachable: %s", host.ip, port, exc)
            return None

    def _reply_evidence(
        self, host: HostTarget, port: int, method: str, reply: rtsp_codec.RtspReply
    ) -> list[Evidence]:
        items = [self.evidence(host, port, "rtsp.status", f"{method} {reply.status_line}")]
        items += [
            self.evidence(host, port, channel, value)
            for header, channel in _HEADER_CHANNELS
            for value in reply.values(header)
        ]
        return items


def should_try(host: HostTarget, port: int, ctx: ProbeContext) -> bool:
    """Ask when the port is known open, or when the liveness sweep did not check it at all."""
    return port in host.open_ports or port not in ctx.options.tcp_ports


async def exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    payload: bytes,
    ctx: ProbeContext,
) -> rtsp_codec.RtspReply | None:
    """Send one request and read one reply within the request deadline; None if none came."""
    try:
        writer.write(payload)
        await writer.drain()
    except OSError:
        return None
    cap = min(MAX_REPLY_BYTES, ctx.options.max_read_bytes)
    data = await read_reply(reader, ctx.options.request_timeout_s, cap)
    if not data:
        return None
    try:
        return rtsp_codec.parse_reply(data)
    except DecodeError as exc:
        ctx.log_once("rtsp: not an RTSP reply from %s: %s", writer.get_extra_info("peername"), exc)
        return None


async def read_reply(reader: asyncio.StreamReader, timeout_s: float, max_bytes: int) -> bytes:
    """Bytes of one reply: until it is complete, the peer closes, the cap or the deadline."""
    data = b""
    try:
        async with asyncio.timeout(timeout_s):
            while len(data) < max_bytes and not rtsp_codec.is_complete(data):
                chunk = await reader.read(min(65536, max_bytes - len(data)))
                if not chunk:
                    break
                data += chunk
    except (TimeoutError, OSError):
        pass
    return data

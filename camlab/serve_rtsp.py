"""RTSP (OPTIONS/DESCRIBE, RFC 2326) and bare accept-and-close TCP ports for lab devices."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from camlab.device import DeviceContext

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 8 * 1024
READ_TIMEOUT_S = 10.0
MAX_REQUESTS = 16  # per connection; clients send OPTIONS then DESCRIBE on one connection
REASONS = {
    200: "OK",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    454: "Session Not Found",
}


def rtsp_reply(spec: dict[str, Any], device: DeviceContext, method: str, cseq: str) -> bytes:
    """The reply to one RTSP request, with the persona's headers on every reply."""
    values = device.instance.values()
    extra = [(str(n), str(v)) for n, v in device.instance.render(spec.get("headers", []), values)]
    if method == "OPTIONS":
        status = 200
        headers = [("Public", spec.get("options_public", "OPTIONS, DESCRIBE"))]
    elif method == "DESCRIBE":
        status = int(spec.get("describe_status", 401))
        headers = [
            (str(n), str(v))
            for n, v in device.instance.render(spec.get("describe_headers", []), values)
        ]
    else:
        status = 405
        headers = [("Allow", spec.get("options_public", "OPTIONS, DESCRIBE"))]
    lines = [
        f"RTSP/1.0 {status} {REASONS.get(status, 'Error')}",
        f"CSeq: {cseq}",
        *(f"{n}: {v}" for n, v in extra + headers),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


class RtspServer:
    """One device's RTSP port."""

    def __init__(self, device: DeviceContext, spec: dict[str, Any]) -> None:
        self.device = device
        self.spec = spec

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer requests on one connection until the client stops or misbehaves."""
        peer = writer.get_extra_info("peername") or ("?", 0)
        try:
            for _ in range(MAX_REQUESTS):
                async with asyncio.timeout(READ_TIMEOUT_S):
                    head = await reader.readuntil(b"\r\n\r\n")
                if len(head) > MAX_HEAD_BYTES:  # the stream's own limit is the looser 64 KiB
                    return
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                self.device.log_request("rtsp", self.spec["port"], peer, lines[0])
                if len(parts) != 3 or not parts[2].startswith("RTSP/"):
                    return
                cseq = "0"
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "cseq":
                        cseq = value.strip()[:16]
                writer.write(rtsp_reply(self.spec, self.device, parts[0].upper(), cseq))
                await writer.drain()
        except (
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
        ):
            pass
        except Exception:  # a lab responder must survive any client
            log.exception("device %d rtsp: handler failed", self.device.number)
        finally:
            await _close(writer)


class OpenPort:
    """A TCP port that accepts and closes (vendor SDK ports such as 8000 and 37777)."""

    def __init__(self, device: DeviceContext, port: int) -> None:
        self.device = device
        self.port = port

    async def handle(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Log and close."""
        self.device.log_request(
            "tcp", self.port, writer.get_extra_info("peername") or ("?", 0), "connect"
        )
        await _close(writer)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            await writer.wait_closed()

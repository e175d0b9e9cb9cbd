"""Small asyncio responders on 127.0.0.1 for the WS-Discovery, ONVIF and SSDP probe tests."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

from aiohttp import web

from camaudit.net import Sockets
from camaudit.options import ScanOptions
from camaudit.probes.base import ProbeContext
from camaudit.targets import build_scope

DATA = Path(__file__).resolve().parent.parent / "data"
FIXED_RELATES_TO = b"urn:uuid:3f8a2f62-5c1e-4a6e-9d3b-000000000001"  # placeholder in tests/data/wsd
LOOPBACK = "127.0.0.1"

UdpHandler = Callable[[bytes], list[bytes]]


def data(relative: str) -> bytes:
    """A file from tests/data."""
    return (DATA / relative).read_bytes()


def make_ctx(address: str = LOOPBACK, **overrides: object) -> ProbeContext:
    """A probe context scoped to one loopback address, unicast only (no multicast here)."""
    timing: dict[str, object] = {
        "wsd_listen_s": 0.3,
        "ssdp_listen_s": 0.3,
        "request_timeout_s": 1.0,
        "connect_timeout_s": 0.5,
    }
    timing.update(overrides)
    options = ScanOptions(**timing)  # type: ignore[arg-type]
    return ProbeContext(
        options=options,
        scope=build_scope([address], resolve=False),
        sockets=Sockets(),
        interfaces=(),
    )


class _UdpResponder(asyncio.DatagramProtocol):
    def __init__(
        self,
        handler: UdpHandler,
        received: list[bytes],
        reply_via: asyncio.DatagramTransport | None = None,
    ) -> None:
        self.handler = handler
        self.received = received
        self.reply_via = reply_via
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        self.received.append(data)
        sender = self.reply_via or self.transport
        assert sender is not None
        for reply in self.handler(data):
            sender.sendto(reply, addr)


@dataclass
class UdpServer:
    """A running UDP responder: its port and every datagram it received."""

    port: int
    received: list[bytes] = field(default_factory=list)


@contextlib.asynccontextmanager
async def udp_responder(
    handler: UdpHandler, host: str = LOOPBACK, *, reply_from: str | None = None
) -> AsyncIterator[UdpServer]:
    """Answer each datagram with handler(datagram) (zero or more replies) on host:<free port>;
    `reply_from` sends the replies from another loopback address (a host outside the scope)."""
    received: list[bytes] = []
    loop = asyncio.get_running_loop()
    reply_via: asyncio.DatagramTransport | None = None
    if reply_from is not None:
        reply_via, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=(reply_from, 0)
        )
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _UdpResponder(handler, received, reply_via), local_addr=(host, 0)
    )
    try:
        port = int(transport.get_extra_info("sockname")[1])
        yield UdpServer(port=port, received=received)
    finally:
        transport.close()
        if reply_via is not None:
            reply_via.close()


def message_id_of(probe: bytes) -> bytes:
    """The MessageID of a WS-Discovery Probe (regex: the responder is not the code under test)."""
    found = re.search(rb"<(?:\w+:)?MessageID>([^<]+)</", probe)
    assert found is not None, probe
    return found.group(1)


def answer_probes_with(*files: str) -> UdpHandler:
    """A WS-Discovery handler replying with the given ProbeMatches, related to each Probe."""

    def handler(probe: bytes) -> list[bytes]:
        message_id = message_id_of(probe)
        return [data(name).replace(FIXED_RELATES_TO, message_id) for name in files]

    return handler


@contextlib.asynccontextmanager
async def http_server(app: web.Application, host: str = LOOPBACK) -> AsyncIterator[int]:
    """Serve an aiohttp app on host:<free port>; yields the port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    try:
        server = site._server  # noqa: SLF001 - aiohttp exposes the bound port only here
        assert server is not None
        yield int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
    finally:
        await runner.cleanup()


@dataclass
class OnvifDevice:
    """A fake ONVIF device service with a configurable refusal style and device clock."""

    auth: str = "none"  # "none" | "digest-401" | "soap-fault"
    user: str = "admin"
    password: str = "lab-only-not-secret"  # noqa: S105 - a test device's password
    clock: datetime = datetime(2015, 6, 7, 3, 4, 5, tzinfo=UTC)
    www_authenticate: str = (
        'Digest realm="Login to 2J01018PAA00813",qop="auth",'
        'nonce="b252aWYtZGlnZXN0OjQzMjYxNjc5MTQw",opaque="",stale="false"'
    )
    calls: list[tuple[str, bool]] = field(default_factory=list)  # (action, had a token)
    accepted_tokens: int = 0

    def app(self) -> web.Application:
        """The aiohttp application serving /onvif/device_service."""
        app = web.Application()
        app.router.add_post("/onvif/device_service", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        action = (
            "GetSystemDateAndTime" if b"GetSystemDateAndTime" in body else "GetDeviceInformation"
        )
        has_token = b"UsernameToken" in body
        self.calls.append((action, has_token))
        if action == "GetSystemDateAndTime":
            return _soap(data("onvif/system_date_and_time.xml"))
        if self.auth == "none" or (has_token and self.token_ok(body)):
            return _soap(data("onvif/device_information.xml"))
        if self.auth == "digest-401":
            return web.Response(
                status=401,
                headers={"WWW-Authenticate": self.www_authenticate},
                text="This onvif request requires authentication information",
            )
        return _soap(data("onvif/fault_not_authorized.xml"), status=400)

    def token_ok(self, body: bytes) -> bool:
        """Check a PasswordDigest token independently of camaudit's codec, Created within 5 min."""
        fields = {
            name: _element_text(body, name) for name in ("Username", "Password", "Nonce", "Created")
        }
        if None in fields.values():
            return False
        nonce = base64.b64decode(fields["Nonce"] or "")
        created = fields["Created"] or ""
        expected = base64.b64encode(
            hashlib.sha1(nonce + created.encode() + self.password.encode()).digest()  # noqa: S324
        ).decode()
        when = datetime.fromisoformat(created.replace("Z", "+00:00"))
        fresh = abs(when - self.clock) < timedelta(minutes=5)
        ok = fields["Username"] == self.user and fields["Password"] == expected and fresh
        self.accepted_tokens += ok
        return ok


def _element_text(body: bytes, name: str) -> str | None:
    found = re.search(rb"<(?:\w+:)?" + name.encode() + rb"\b[^>]*>([^<]*)</", body)
    return None if found is None else found.group(1).decode()


def _soap(payload: bytes, status: int = 200) -> web.Response:
    return web.Response(status=status, body=payload, content_type="application/soap+xml")


def ssdp_reply(template: str, *, ip: IPv4Address | str, port: int) -> bytes:
    """An SSDP reply from tests/data/ssdp with {ip}/{port} filled in."""
    return (
        data(f"ssdp/{template}")
        .replace(b"{ip}", str(ip).encode())
        .replace(b"{port}", str(port).encode())
    )

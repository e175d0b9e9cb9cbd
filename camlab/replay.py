"""Replay devices: loopback servers that answer with given bytes, or misbehave on purpose.

The persona responder (camlab.responder) plays whole device models from TOML. These play one
channel of one device exactly as a capture, or a hostile peer, does: raw HTTP replies chosen by
request line, stream behaviours (silence, trickling forever, RTSP answered by method), UDP
answers on one or several loopback addresses sharing a port, a DNS-SD legacy-unicast answerer,
and an ONVIF device service with its own clock. The probe tests use them. They bind 127.0.0.x
only, on ports the kernel picks, and never answer a sender that is not on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any, cast

import defusedxml.ElementTree as DefusedET
from aiohttp import web
from zeroconf import DNSIncoming, DNSOutgoing, DNSRecord  # type: ignore[attr-defined]
from zeroconf.const import _FLAGS_AA, _FLAGS_QR_RESPONSE

from camlab.serve_discovery import dhip_frame
from camlab.serve_http import Request, read_request, self_signed, soap_action, username_token_valid

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
SHARED_PORT_ATTEMPTS = 20
CLOSE_WAIT_S = 1.0
# Hikvision's stock certificate subject, CN first as recog writes it (x509_subjects.xml).
HIKVISION_SUBJECT = [
    ["CN", "www.hikvision.com"],
    ["OU", "DVRNVR"],
    ["O", "HIKVISION"],
    ["L", "HangZhou"],
    ["ST", "ZheJiang"],
    ["C", "CN"],
]

Handler = Callable[[Request], bytes | None]  # raw reply bytes; None = say nothing, hold the line
Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Answer = Callable[[bytes], list[bytes]]


def _on_loopback(address: str) -> str:
    if not IPv4Address(address).is_loopback:
        raise ValueError(f"replay devices live on loopback only, not {address}")
    return address


def _is_loopback_peer(peer: Any) -> bool:
    try:
        return IPv4Address(peer[0]).is_loopback
    except (TypeError, ValueError, IndexError):
        return False


# --- TCP -------------------------------------------------------------------------------------


class _TcpDevice:
    """A TCP listener on a loopback address and a kernel-picked port, for an `async with`."""

    address: str
    port: int
    _server: asyncio.Server | None
    ssl_context: ssl.SSLContext | None = None

    async def __aenter__(self) -> Any:
        self._server = await asyncio.start_server(
            self._accept, _on_loopback(self.address), 0, ssl=self.ssl_context
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        # Slowloris and silent behaviours hold their connection open: cancel, do not wait.
        with contextlib.suppress(Exception):
            self._server.close_clients()  # type: ignore[attr-defined]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_WAIT_S):
                await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if _is_loopback_peer(writer.get_extra_info("peername")):
                await self.serve(reader, writer)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Handle one connection (subclasses)."""
        raise NotImplementedError


@dataclass
class RawHttpResponder(_TcpDevice):
    """HTTP/1.x that answers each (method, target) with fixed raw bytes, or a handler's bytes."""

    routes: Mapping[tuple[str, str], bytes | Handler] = field(default_factory=dict)
    default: bytes = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    ssl_context: ssl.SSLContext | None = None
    address: str = LOOPBACK
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    def paths(self) -> list[str]:
        """Requests seen, as "METHOD target"."""
        return [f"{request.method} {request.target}" for request in self.requests]

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One request, one reply as configured, close."""
        request = await read_request(reader)
        if request is None:
            return
        self.requests.append(request)
        route = self.routes.get((request.method, request.target), self.default)
        reply = route(request) if callable(route) else route
        if reply is None:
            await until_peer_leaves(reader)
            return
        writer.write(reply)
        await writer.drain()


@dataclass
class StreamResponder(_TcpDevice):
    """A TCP device whose every connection is one behaviour coroutine (trickling, RTSP...)."""

    behaviour: Behaviour
    address: str = LOOPBACK
    port: int = 0
    connections: int = 0
    _server: asyncio.Server | None = None

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Count the connection and hand it to the behaviour."""
        self.connections += 1
        await self.behaviour(reader, writer)


@contextlib.asynccontextmanager
async def running(*devices: RawHttpResponder | StreamResponder) -> AsyncIterator[None]:
    """Start several TCP devices for the length of a block."""
    async with contextlib.AsyncExitStack() as stack:
        for device in devices:
            await stack.enter_async_context(device)
        yield


async def until_peer_leaves(reader: asyncio.StreamReader) -> None:
    """Read and drop everything until the client hangs up."""
    while await reader.read(4096):
        pass


async def say_nothing(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
    """Accept, read, and never answer."""
    await until_peer_leaves(reader)


async def trickle_headers_forever(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Slowloris: a status line and headers, then one body byte every 0.2 s, never finishing."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nServer: Slowpoke\r\nContent-Length: 100000\r\n\r\n")
    await writer.drain()
    for _ in range(3600):
        writer.write(b"<")
        await writer.drain()
        await asyncio.sleep(0.2)


@dataclass
class RtspDevice:
    """An RTSP behaviour: each request answered by its method with fixed bytes, all recorded."""

    replies: Mapping[str, bytes]
    close_after_each: bool = False  # some servers hang up after every reply
    received: list[bytes] = field(default_factory=list)

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection."""
        while True:
            try:
                request = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            self.received.append(request)
            reply = self.replies.get(request.split(b" ", 1)[0].decode("latin-1"))
            if reply is None:
                await until_peer_leaves(reader)
                return
            writer.write(reply)
            await writer.drain()
            if self.close_after_each:
                return

    def methods(self) -> list[str]:
        """Methods received, in order."""
        return [request.split(b" ", 1)[0].decode() for request in self.received]


def self_signed_tls(common_name: str = "www.hikvision.com") -> tuple[ssl.SSLContext, bytes]:
    """A server TLS context with a self-signed certificate in Hikvision's default layout (CN
    first); returns (context, certificate DER)."""
    subject = [["CN", common_name], *HIKVISION_SUBJECT[1:]]
    return self_signed(subject)


@contextlib.asynccontextmanager
async def http_server(app: web.Application, host: str = LOOPBACK) -> AsyncIterator[int]:
    """Serve an aiohttp application on host:<kernel-picked port>; yields the port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, _on_loopback(host), 0)
    await site.start()
    try:
        server = site._server  # noqa: SLF001 - aiohttp exposes the bound port only here
        assert server is not None
        yield int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
    finally:
        await runner.cleanup()


# --- ONVIF -----------------------------------------------------------------------------------


@dataclass
class OnvifDevice:
    """An ONVIF device service (`/onvif/device_service`) with a refusal style and its own clock.

    `replies` holds the SOAP bodies it answers with: "system_date_and_time",
    "device_information" and "fault" (the refusal for auth = "soap-fault").
    """

    replies: Mapping[str, bytes]
    auth: str = "none"  # "none" | "digest-401" | "soap-fault"
    user: str = "admin"
    password: str = "lab-only-not-secret"  # noqa: S105 - a simulated device's password
    clock: dt.datetime = dt.datetime(2015, 6, 7, 3, 4, 5, tzinfo=dt.UTC)
    www_authenticate: str = (
        'Digest realm="Login to 2J01018PAA00813",qop="auth",'
        'nonce="b252aWYtZGlnZXN0OjQzMjYxNjc5MTQw",opaque="",stale="false"'
    )
    calls: list[tuple[str, bool]] = field(default_factory=list)  # (action, had a token)
    accepted_tokens: int = 0

    def app(self) -> web.Application:
        """The aiohttp application serving the device service."""
        app = web.Application()
        app.router.add_post("/onvif/device_service", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one SOAP call."""
        body = await request.read()
        try:
            envelope = DefusedET.fromstring(body)
        except Exception:  # defusedxml raises several types for hostile or broken XML
            return _soap(self.replies["fault"], status=400)
        action = soap_action(envelope)
        has_token = b"UsernameToken" in body
        self.calls.append((action, has_token))
        if action == "GetSystemDateAndTime":
            return _soap(self.replies["system_date_and_time"])
        accepted = has_token and username_token_valid(
            envelope, self.user, self.password, clock=self.clock
        )
        self.accepted_tokens += accepted
        if self.auth == "none" or accepted:
            return _soap(self.replies["device_information"])
        if self.auth == "digest-401":
            return web.Response(
                status=401,
                headers={"WWW-Authenticate": self.www_authenticate},
                text="This onvif request requires authentication information",
            )
        return _soap(self.replies["fault"], status=400)


def _soap(payload: bytes, status: int = 200) -> web.Response:
    return web.Response(status=status, body=payload, content_type="application/soap+xml")


# --- UDP -------------------------------------------------------------------------------------


@dataclass
class Responder:
    """One UDP device: its address, its port and every datagram it was sent."""

    address: str
    port: int
    received: list[bytes] = field(default_factory=list)


UdpServer = Responder  # the one-device name the discovery tests use


class _Answering(asyncio.DatagramProtocol):
    def __init__(
        self,
        answer: Answer,
        device: Responder,
        reply_via: asyncio.DatagramTransport | None = None,
    ) -> None:
        self.answer = answer
        self.device = device
        self.reply_via = reply_via
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.device.received.append(data)
        if not _is_loopback_peer(addr):
            log.warning("replay %s: not answering %s (loopback senders only)", self.device, addr)
            return
        sender = self.reply_via or self.transport
        assert sender is not None
        for reply in self.answer(data):
            sender.sendto(reply, addr)


def _protocol_factory(
    answer: Answer, device: Responder, reply_via: asyncio.DatagramTransport | None
) -> Callable[[], _Answering]:
    return lambda: _Answering(answer, device, reply_via)


def _free_udp_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def responders(
    answers: Mapping[str, Answer], *, reply_from: str | None = None
) -> AsyncIterator[tuple[int, dict[str, Responder]]]:
    """One UDP device per loopback address, all on one kernel-picked port; yields (port,
    devices). `reply_from` sends every reply from that other loopback address instead (a host
    outside the scope answering)."""
    loop = asyncio.get_running_loop()
    reply_via: asyncio.DatagramTransport | None = None
    if reply_from is not None:
        reply_via, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=(_on_loopback(reply_from), 0)
        )
    try:
        for _attempt in range(SHARED_PORT_ATTEMPTS):
            port = _free_udp_port(_on_loopback(next(iter(answers))))
            started: dict[str, Responder] = {}
            transports: list[asyncio.DatagramTransport] = []
            try:
                for address, answer in answers.items():
                    device = Responder(address=_on_loopback(address), port=port)
                    transport, _ = await loop.create_datagram_endpoint(
                        _protocol_factory(answer, device, reply_via), local_addr=(address, port)
                    )
                    transports.append(transport)
                    started[address] = device
            except OSError as exc:
                for transport in transports:
                    transport.close()
                if exc.errno != errno.EADDRINUSE:
                    raise
                continue  # the number was free on the first address only: pick another
            try:
                yield port, started
            finally:
                for transport in transports:
                    transport.close()
            return
        raise RuntimeError("no UDP port free on every loopback address")
    finally:
        if reply_via is not None:
            reply_via.close()


@contextlib.asynccontextmanager
async def udp_responder(
    answer: Answer, host: str = LOOPBACK, *, reply_from: str | None = None
) -> AsyncIterator[Responder]:
    """One UDP device answering each datagram with answer(datagram) (zero or more replies)."""
    async with responders({host: answer}, reply_from=reply_from) as (_port, started):
        yield started[host]


def dhip_header(body: bytes) -> bytes:
    """The 32-byte DHIP header in front of `body` (as camlab's Dahua devices frame it)."""
    return dhip_frame(body)[:32]


def sadp_device(reply: bytes, *, times: int = 1) -> Answer:
    """A Hikvision device: answers an inquiry with `reply` (`times` copies), ignores the rest."""

    def answer(data: bytes) -> list[bytes]:
        return [reply] * times if b"<Types>inquiry</Types>" in data else []

    return answer


def dhip_device(body: bytes, *, times: int = 1) -> Answer:
    """A Dahua device: answers a framed DHDiscover.search with a framed body, "\\n" and a NUL."""

    def answer(data: bytes) -> list[bytes]:
        if data[4:8] != b"DHIP" or b"DHDiscover.search" not in data:
            return []
        return [dhip_frame(body.rstrip(b"\n") + b"\n") + b"\x00"] * times

    return answer


def constant(*replies: bytes) -> Answer:
    """A rude host: answers anything with the same datagrams (garbage, huge, other protocol)."""

    def answer(_data: bytes) -> list[bytes]:
        return list(replies)

    return answer


def echo(data: bytes) -> list[bytes]:
    """A host that sends the request straight back."""
    return [data]


def relating(
    replies: list[bytes], placeholder: bytes, message_id: Callable[[bytes], bytes]
) -> Answer:
    """WS-Discovery style: each reply with `placeholder` replaced by the request's MessageID."""

    def answer(request: bytes) -> list[bytes]:
        own = message_id(request)
        return [reply.replace(placeholder, own) for reply in replies]

    return answer


@dataclass
class MdnsUnicastResponder(asyncio.DatagramProtocol):
    """A DNS-SD responder on a loopback address answering legacy-unicast queries (RFC 6762 §6.7).

    `records` maps (name, type) to the records answering that question; the reply echoes the
    query id and questions and goes back to the query's source port, as the RFC requires.
    """

    records: Mapping[tuple[str, int], list[DNSRecord]] = field(default_factory=dict)
    additionals: Mapping[tuple[str, int], list[DNSRecord]] = field(default_factory=dict)
    raw_reply: bytes | None = None  # when set, sent instead of a DNS answer (garbage tests)
    address: str = LOOPBACK
    port: int = 0
    questions: list[tuple[str, int]] = field(default_factory=list)
    senders: list[tuple[str, int]] = field(default_factory=list)
    _transport: asyncio.DatagramTransport | None = None

    async def __aenter__(self) -> MdnsUnicastResponder:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=(_on_loopback(self.address), 0)
        )
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._transport is not None
        self._transport.close()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        """Answer every question we hold records for, in one datagram."""
        assert self._transport is not None
        self.senders.append(addr)
        if not _is_loopback_peer(addr):
            return
        if self.raw_reply is not None:
            self._transport.sendto(self.raw_reply, addr)
            return
        query = DNSIncoming(data)
        reply = DNSOutgoing(_FLAGS_QR_RESPONSE | _FLAGS_AA, multicast=False, id_=query.id)
        answered = False
        for question in query.questions:
            key = (question.name, question.type)
            self.questions.append(key)
            reply.add_question(question)
            for record in self.records.get(key, []):
                reply.add_answer_at_time(record, 0)
                answered = True
            for record in self.additionals.get(key, []):
                reply.add_additional_answer(record)
        if answered:
            for packet in reply.packets():
                self._transport.sendto(packet, addr)

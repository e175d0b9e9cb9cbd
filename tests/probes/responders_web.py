"""Loopback responders for the web probes: raw HTTP/RTSP bytes, self-signed TLS, mDNS unicast."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ssl
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from zeroconf import DNSIncoming, DNSOutgoing, DNSRecord
from zeroconf.const import _FLAGS_AA, _FLAGS_QR_RESPONSE

from camaudit.net import Interface, RateLimiter, Sockets
from camaudit.options import ScanOptions
from camaudit.probes.base import HostTarget, ProbeContext
from camaudit.targets import Scope

DATA = Path(__file__).resolve().parent.parent / "data"
LOOPBACK = "127.0.0.1"
MAX_REQUEST_BYTES = 64 * 1024


def load(relative: str) -> bytes:
    """A captured or reconstructed payload from tests/data."""
    return (DATA / relative).read_bytes()


def crlf(text: str) -> bytes:
    """A text reply with LF line ends turned into the CRLF the protocols use."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("latin-1")


@dataclass(frozen=True, slots=True)
class Request:
    """One request a responder received."""

    method: str
    target: str
    head: bytes
    body: bytes


Handler = Callable[[Request], bytes | None]  # raw reply bytes; None = say nothing, hold the line


@dataclass
class RawHttpResponder:
    """An HTTP/1.x server on 127.0.0.1 that answers each (method, path) with fixed raw bytes."""

    routes: Mapping[tuple[str, str], bytes | Handler] = field(default_factory=dict)
    default: bytes = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    ssl_context: ssl.SSLContext | None = None
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    async def __aenter__(self) -> RawHttpResponder:
        self._server = await asyncio.start_server(self._serve, LOOPBACK, 0, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        # Slowloris handlers hold their connection open; cancel them rather than wait.
        with contextlib.suppress(Exception):
            self._server.close_clients()  # type: ignore[attr-defined]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await self._server.wait_closed()

    def paths(self) -> list[str]:
        """Requests seen, as "METHOD target"."""
        return [f"{request.method} {request.target}" for request in self.requests]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(reader)
            if request is None:
                return
            self.requests.append(request)
            route = self.routes.get((request.method, request.target), self.default)
            reply = route(request) if callable(route) else route
            if reply is None:
                await _until_peer_leaves(reader)
                return
            writer.write(reply)
            await writer.drain()
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None
    first = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = min(int(value.strip() or 0), MAX_REQUEST_BYTES)
    body = await reader.readexactly(length) if length else b""
    return Request(method=first[0], target=first[1] if len(first) > 1 else "", head=head, body=body)


@dataclass
class StreamResponder:
    """A TCP server whose per-connection behaviour is a coroutine (for trickling and RTSP)."""

    behaviour: Callable[[asyncio.StreamReader, asyncio.StreamWriter], object]
    port: int = 0
    connections: int = 0
    _server: asyncio.Server | None = None

    async def __aenter__(self) -> StreamResponder:
        self._server = await asyncio.start_server(self._serve, LOOPBACK, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            self._server.close_clients()  # type: ignore[attr-defined]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.behaviour(reader, writer)  # type: ignore[misc]
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def trickle_headers_forever(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Slowloris: send a status line and headers, then one body byte a second, never finishing."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(crlf("HTTP/1.1 200 OK\nServer: Slowpoke\nContent-Length: 100000\n\n"))
    await writer.drain()
    for _ in range(3600):
        writer.write(b"<")
        await writer.drain()
        await asyncio.sleep(0.2)


async def say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept, read, and never answer."""
    await _until_peer_leaves(reader)


async def _until_peer_leaves(reader: asyncio.StreamReader) -> None:
    while await reader.read(4096):
        pass


def self_signed_tls(common_name: str = "www.hikvision.com") -> tuple[ssl.SSLContext, bytes]:
    """A server TLS context with a fresh self-signed certificate in Hikvision's default layout.

    The subject is listed CN first in DER, as recog writes it; returns (context, certificate DER).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "DVRNVR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HIKVISION"),
            x509.NameAttribute(NameOID.LOCALITY_NAME, "HangZhou"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "ZheJiang"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return _server_context(cert, key), cert.public_bytes(serialization.Encoding.DER)


def _server_context(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        cert_path, key_path = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context.load_cert_chain(cert_path, key_path)
    return context


def loopback_context(
    *,
    ports: Mapping[str, int] | None = None,
    http_ports: tuple[int, ...] = (),
    https_ports: tuple[int, ...] = (),
    tcp_ports: tuple[int, ...] = (),
    address: str = LOOPBACK,
    request_timeout_s: float = 1.0,
    connect_timeout_s: float = 0.5,
    mdns_listen_s: float = 0.3,
    max_read_bytes: int = 256 * 1024,
    interfaces: tuple[Interface, ...] = (),
) -> ProbeContext:
    """A probe context scoped to one loopback address, with fast timings and no multicast."""
    options = ScanOptions(
        ports=dict(ports or {}),
        http_ports=http_ports,
        https_ports=https_ports,
        tcp_ports=tcp_ports,
        request_timeout_s=request_timeout_s,
        connect_timeout_s=connect_timeout_s,
        mdns_listen_s=mdns_listen_s,
        max_read_bytes=max_read_bytes,
        multicast=False,
    )
    return ProbeContext(
        options=options,
        scope=Scope(networks=(IPv4Network(f"{address}/32"),)),
        sockets=Sockets(),
        limiter=RateLimiter(10_000.0),
        interfaces=interfaces,
    )


def host(*ports: int, address: str = LOOPBACK) -> HostTarget:
    """A host target on loopback with the given ports open."""
    return HostTarget(ip=IPv4Address(address), open_ports=frozenset(ports))


@contextlib.asynccontextmanager
async def running(*responders: RawHttpResponder | StreamResponder) -> AsyncIterator[None]:
    """Start several responders for the length of a block."""
    async with contextlib.AsyncExitStack() as stack:
        for responder in responders:
            await stack.enter_async_context(responder)
        yield


@dataclass
class RtspDevice:
    """RTSP behaviour: answers each request by method with fixed bytes, recording what it got."""

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
            method = request.split(b" ", 1)[0].decode("latin-1")
            reply = self.replies.get(method)
            if reply is None:
                await _until_peer_leaves(reader)
                return
            writer.write(reply)
            await writer.drain()
            if self.close_after_each:
                return

    def methods(self) -> list[str]:
        """Methods received, in order."""
        return [request.split(b" ", 1)[0].decode() for request in self.received]


@dataclass
class MdnsUnicastResponder(asyncio.DatagramProtocol):
    """A DNS-SD responder on 127.0.0.1:<free port> answering legacy-unicast queries (RFC 6762 §6.7).

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
            lambda: self, local_addr=(self.address, 0)
        )
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._transport is not None
        self._transport.close()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        """Answer every question we hold records for, in one datagram."""
        assert self._transport is not None
        self.senders.append(addr)
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

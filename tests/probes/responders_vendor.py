"""Loopback UDP responders playing SADP/DHIP devices (and rude senders) for vendor probe tests.

Every responder binds a 127.0.0.x address on one shared free port, so a probe whose scope is
127.0.0.0/29 and whose port option points at that port meets several "devices" at once.
Nothing here sends to anything but the loopback sender that spoke first.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

DATA = Path(__file__).resolve().parent.parent / "data"

Answer = Callable[[bytes], list[bytes]]


@dataclass
class Responder:
    """One fake host: its address and every datagram it was sent."""

    address: str
    port: int
    received: list[bytes] = field(default_factory=list)


class _AnsweringProtocol(asyncio.DatagramProtocol):
    def __init__(self, answer: Answer, responder: Responder) -> None:
        self.answer = answer
        self.responder = responder
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.responder.received.append(data)
        assert addr[0].startswith("127."), "responders only ever answer loopback senders"
        assert self.transport is not None
        for reply in self.answer(data):
            self.transport.sendto(reply, addr)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def responders(answers: dict[str, Answer]) -> AsyncIterator[tuple[int, dict[str, Responder]]]:
    """Start one responder per loopback address (all on one free port); yield (port, responders)."""
    loop = asyncio.get_running_loop()
    for _attempt in range(20):
        port = _free_udp_port()
        started: dict[str, Responder] = {}
        transports: list[asyncio.DatagramTransport] = []
        try:
            for address, answer in answers.items():
                assert address.startswith("127."), "responders live on loopback only"
                responder = Responder(address=address, port=port)
                transport, _ = await loop.create_datagram_endpoint(
                    lambda answer=answer, responder=responder: _AnsweringProtocol(
                        answer, responder
                    ),
                    local_addr=(address, port),
                )
                transports.append(transport)
                started[address] = responder
        except OSError:
            for transport in transports:
                transport.close()
            continue
        try:
            yield port, started
        finally:
            for transport in transports:
                transport.close()
        return
    raise RuntimeError("no free UDP port shared by all loopback responders")


def dhip_header(body: bytes) -> bytes:
    """The 32-byte DHIP header, written out field by field (independent of the codec's own)."""
    return (
        struct.pack("<I", 0x20)
        + b"DHIP"
        + bytes(8)
        + struct.pack("<IIII", len(body), 0, len(body), 0)
    )


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
        payload = body.rstrip(b"\n") + b"\n"
        return [dhip_header(payload) + payload + b"\x00"] * times

    return answer


def constant(*replies: bytes) -> Answer:
    """A rude host: answers anything with the same datagrams (garbage, huge, other protocol)."""

    def answer(_data: bytes) -> list[bytes]:
        return list(replies)

    return answer


def echo(data: bytes) -> list[bytes]:
    """A host that sends our own request back to us."""
    return [data]

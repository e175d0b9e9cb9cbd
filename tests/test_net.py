"""Socket helpers: the rate limiter and capped reads, on loopback."""

from __future__ import annotations

import asyncio
import time

from camaudit.net import RateLimiter, open_tcp, read_capped


async def test_rate_limiter_spaces_out_a_burst() -> None:
    """60 acquisitions at 100/s with a burst of 10 take at least half a second."""
    limiter = RateLimiter(100.0, burst=10)
    started = time.monotonic()
    for _ in range(60):
        await limiter.acquire()
    assert time.monotonic() - started >= 0.45


async def test_read_capped_stops_at_the_byte_cap_from_an_endless_sender() -> None:
    """A peer that never stops sending yields exactly max_bytes."""

    async def flood(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                writer.write(b"x" * 65536)
                await writer.drain()
        except (ConnectionError, OSError):
            pass

    server = await asyncio.start_server(flood, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        reader, writer = await open_tcp("127.0.0.1", port, timeout_s=2)
        data = await read_capped(reader, max_bytes=100_000, timeout_s=5)
        writer.close()
    assert len(data) == 100_000


async def test_read_capped_returns_what_came_before_a_stalled_peer_times_out() -> None:
    """A peer that sends a little and then stalls gives what it sent when the deadline passes."""

    async def stall(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"RTSP/1.0 200 OK\r\n")
        await writer.drain()
        await asyncio.sleep(10)

    server = await asyncio.start_server(stall, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        reader, writer = await open_tcp("127.0.0.1", port, timeout_s=2)
        data = await read_capped(reader, max_bytes=4096, timeout_s=0.3)
        writer.close()
    assert data == b"RTSP/1.0 200 OK\r\n"

"""RtspProbe and rtsp_codec: codec on samples, fuzzing, loopback round trips."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from camaudit.errors import DecodeError
from camaudit.models import Evidence
from camaudit.probes import rtsp_codec
from camaudit.probes.rtsp import RtspProbe
from camlab.replay import RtspDevice, StreamResponder, say_nothing
from tests.probes.kit import host, load, loopback_context

HIKVISION_DIGEST = (
    'Digest realm="IP Camera(21388)", nonce="534407f373af1bdff561b7b4da295354", stale="FALSE"'
)


def values(evidence: list[Evidence], channel: str) -> list[str]:
    """Values of one channel, in order."""
    return [item.value for item in evidence if item.channel == channel]


class TestCodec:
    def test_dahua_options(self) -> None:
        """Server and Public come back as sent."""
        reply = rtsp_codec.parse_reply(load("rtsp/dahua_options.rtsp"))
        assert reply.status_line == "RTSP/1.0 200 OK"
        assert reply.values("server") == ["Rtsp Server/2.0"]
        assert reply.values("Public")[0].startswith("OPTIONS, DESCRIBE, ANNOUNCE")

    def test_bare_lf_reply(self) -> None:
        """Replies with LF line ends parse; the two-space Date value is trimmed, not lost."""
        data = load("rtsp/hikvision_options_lf.rtsp")
        assert rtsp_codec.is_complete(data)
        reply = rtsp_codec.parse_reply(data)
        assert reply.values("Server") == []
        assert reply.values("Date") == ["Thu, May 14 2020 08:00:00 GMT"]

    def test_two_challenges_kept_in_order(self) -> None:
        """Digest then Basic: both values, in order."""
        reply = rtsp_codec.parse_reply(load("rtsp/hikvision_describe_401.rtsp"))
        assert reply.status == 401
        assert reply.values("WWW-Authenticate") == [
            HIKVISION_DIGEST,
            'Basic realm="IP Camera(21388)"',
        ]

    def test_body_follows_content_length(self) -> None:
        """The SDP body is exactly Content-Length long; a partial one is not complete."""
        data = load("rtsp/dahua_describe_sdp.rtsp")
        assert rtsp_codec.is_complete(data)
        assert not rtsp_codec.is_complete(data[:-5])
        assert rtsp_codec.parse_reply(data).body.startswith(b"v=0\r\n")

    def test_huge_content_length_is_capped(self) -> None:
        """A lying Content-Length never asks for more than MAX_BODY_BYTES."""
        data = b"RTSP/1.0 200 OK\r\nContent-Length: 99999999999\r\n\r\n" + b"x" * (
            rtsp_codec.MAX_BODY_BYTES
        )
        assert rtsp_codec.is_complete(data)
        assert len(rtsp_codec.parse_reply(data).body) == rtsp_codec.MAX_BODY_BYTES

    def test_header_flood_is_capped(self) -> None:
        """Thousands of header lines keep only MAX_HEADERS."""
        data = b"RTSP/1.0 200 OK\r\n" + b"X-A: b\r\n" * 5000 + b"\r\n"
        assert len(rtsp_codec.parse_reply(data).headers) == rtsp_codec.MAX_HEADERS

    def test_http_is_not_rtsp(self) -> None:
        """An HTTP status line is rejected with DecodeError."""
        with pytest.raises(DecodeError):
            rtsp_codec.parse_reply(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    def test_request_layout(self) -> None:
        """Requests carry CSeq and our User-Agent and end with a blank line."""
        request = rtsp_codec.build_request(
            "DESCRIBE", "rtsp://198.51.100.9:554/", 2, extra=(("Accept", "application/sdp"),)
        )
        assert request == (
            b"DESCRIBE rtsp://198.51.100.9:554/ RTSP/1.0\r\nCSeq: 2\r\nUser-Agent: camaudit\r\n"
            b"Accept: application/sdp\r\n\r\n"
        )

    @given(st.binary(max_size=4096))
    def test_fuzz_parse(self, data: bytes) -> None:
        """Random bytes parse or raise DecodeError; is_complete never raises."""
        rtsp_codec.is_complete(data)
        try:
            reply = rtsp_codec.parse_reply(data)
        except DecodeError:
            return
        assert len(reply.headers) <= rtsp_codec.MAX_HEADERS
        assert len(reply.body) <= rtsp_codec.MAX_BODY_BYTES

    @given(st.lists(st.text(max_size=80), max_size=80))
    def test_fuzz_header_lines(self, lines: list[str]) -> None:
        """A valid status line with arbitrary header text always parses."""
        data = ("RTSP/1.0 200 OK\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
        reply = rtsp_codec.parse_reply(data)
        assert reply.status == 200


class TestProbe:
    async def test_dahua_options_then_describe(self) -> None:
        """OPTIONS then DESCRIBE on one connection; server, public, challenge and statuses."""
        device = RtspDevice(
            replies={
                "OPTIONS": load("rtsp/dahua_options.rtsp"),
                "DESCRIBE": load("rtsp/dahua_describe_401.rtsp"),
            }
        )
        responder = StreamResponder(device)
        async with responder:
            ctx = loopback_context(ports={"rtsp": responder.port})
            evidence = await RtspProbe().probe(host(responder.port), ctx)
        assert device.methods() == ["OPTIONS", "DESCRIBE"]
        assert responder.connections == 1
        assert b"CSeq: 1\r\n" in device.received[0]
        assert b"Accept: application/sdp\r\n" in device.received[1]
        assert values(evidence, "rtsp.server") == ["Rtsp Server/2.0"]
        assert len(values(evidence, "rtsp.public")) == 1
        assert values(evidence, "rtsp.www_authenticate") == ['Basic realm="DahuaRtsp"']
        assert values(evidence, "rtsp.status") == [
            "OPTIONS RTSP/1.0 200 OK",
            "DESCRIBE RTSP/1.0 401 Unauthorized",
        ]
        assert {item.port for item in evidence} == {responder.port}

    async def test_server_closing_after_each_reply_gets_a_new_connection(self) -> None:
        """A server that hangs up after OPTIONS is reconnected for DESCRIBE."""
        device = RtspDevice(
            replies={
                "OPTIONS": load("rtsp/hikvision_options_lf.rtsp"),
                "DESCRIBE": load("rtsp/hikvision_describe_401.rtsp"),
            },
            close_after_each=True,
        )
        responder = StreamResponder(device)
        async with responder:
            ctx = loopback_context(ports={"rtsp": responder.port})
            evidence = await RtspProbe().probe(host(responder.port), ctx)
        assert responder.connections == 2
        assert values(evidence, "rtsp.server") == []
        assert values(evidence, "rtsp.www_authenticate")[0] == HIKVISION_DIGEST

    async def test_silent_server_returns_within_deadline(self) -> None:
        """A server that never answers ends at the request deadline with no evidence."""
        responder = StreamResponder(say_nothing)
        async with responder:
            ctx = loopback_context(ports={"rtsp": responder.port}, request_timeout_s=0.3)
            async with asyncio.timeout(10):  # hang guard, not a benchmark
                evidence = await RtspProbe().probe(host(responder.port), ctx)
        assert evidence == []

    async def test_garbage_gives_nothing(self) -> None:
        """A reply that is not RTSP yields no evidence and no exception."""
        device = RtspDevice(replies={"OPTIONS": b"\x00\x01garbage\xff\r\n\r\n" * 10})
        responder = StreamResponder(device)
        async with responder:
            ctx = loopback_context(ports={"rtsp": responder.port})
            assert await RtspProbe().probe(host(responder.port), ctx) == []

    async def test_port_checked_closed_is_not_asked(self) -> None:
        """When the liveness sweep checked the RTSP port and found it closed, nothing is sent."""
        device = RtspDevice(replies={"OPTIONS": load("rtsp/dahua_options.rtsp")})
        responder = StreamResponder(device)
        async with responder:
            ctx = loopback_context(ports={"rtsp": responder.port}, tcp_ports=(responder.port,))
            assert await RtspProbe().probe(host(), ctx) == []
        assert responder.connections == 0

    async def test_closed_port_gives_nothing(self) -> None:
        """A refused connection is an answer, not an error."""
        responder = StreamResponder(say_nothing)
        async with responder:
            port = responder.port
        ctx = loopback_context(ports={"rtsp": port})
        assert await RtspProbe().probe(host(), ctx) == []

"""VendorHttpProbe against loopback responders playing Hikvision and Dahua web servers."""

from __future__ import annotations

import asyncio
import json

from camaudit.models import Evidence
from camaudit.probes.vendor_http import VENDOR_REQUESTS, VendorHttpProbe
from camlab.replay import RawHttpResponder, Request, StreamResponder, say_nothing
from tests.probes.kit import crlf, host, load, loopback_context

CAPABILITIES = "/ISAPI/Security/sessionLogin/capabilities?username=admin"
ALL_REQUESTS = [
    "GET /SDK/activateStatus",
    f"GET {CAPABILITIES}",
    "GET /doc/page/login.asp",
    "GET /ISAPI/System/deviceInfo",
    "POST /RPC2_Login",
    "GET /upnpdevicedesc.xml",
]


def values(evidence: list[Evidence], channel: str) -> list[str]:
    """Values of one channel, in order."""
    return [item.value for item in evidence if item.channel == channel]


def ok(body: bytes, content_type: str = "application/xml") -> bytes:
    """A 200 reply with a body."""
    head = f"HTTP/1.1 200 OK\nContent-Type: {content_type}\nContent-Length: {len(body)}\n\n"
    return crlf(head) + body


def echo_404(request: Request) -> bytes:
    """A stock server's 404 that repeats the path asked for."""
    body = f"<html>The requested URL {request.target} was not found</html>".encode()
    return crlf(f"HTTP/1.1 404 Not Found\nContent-Length: {len(body)}\n\n") + body


async def test_hikvision_answers_are_recorded_with_path_status() -> None:
    """Activation XML and the old-firmware 401 digest realm come back, each with its status."""
    responder = RawHttpResponder(
        routes={
            ("GET", "/SDK/activateStatus"): ok(load("http/hikvision_activate_status.xml")),
            ("GET", CAPABILITIES): load("http/hikvision_capabilities_401.http"),
        }
    )
    async with responder:
        ctx = loopback_context(http_ports=(responder.port,))
        evidence = await VendorHttpProbe().probe(host(responder.port), ctx)
    assert responder.paths() == ALL_REQUESTS
    assert values(evidence, "http.path_status") == [
        "GET /SDK/activateStatus 200",
        f"GET {CAPABILITIES} 401",
        "GET /doc/page/login.asp 404",
        "GET /ISAPI/System/deviceInfo 404",
        "POST /RPC2_Login 404",
        "GET /upnpdevicedesc.xml 404",
    ]
    bodies = values(evidence, "http.body")
    assert len(bodies) == 1
    assert "<Activated>true</Activated>" in bodies[0]
    assert values(evidence, "http.server") == [""]
    assert values(evidence, "http.www_authenticate")[1] == 'Basic realm="DVRNVRDVS"'
    assert {item.port for item in evidence} == {responder.port}


async def test_dahua_login_challenge_is_first_step_only() -> None:
    """The RPC2_Login POST carries an empty password and the challenge body is kept."""
    challenge = load("http/dahua_rpc2_login.json")
    responder = RawHttpResponder(
        routes={("POST", "/RPC2_Login"): ok(challenge, "application/json")}
    )
    async with responder:
        ctx = loopback_context(http_ports=(responder.port,))
        evidence = await VendorHttpProbe().probe(host(responder.port), ctx)
    posts = [request for request in responder.requests if request.method == "POST"]
    assert len(posts) == 1
    sent = json.loads(posts[0].body)
    assert sent["method"] == "global.login"
    assert sent["params"]["password"] == ""
    assert b"application/json" in posts[0].head
    assert values(evidence, "http.body") == [challenge.decode()]
    assert "POST /RPC2_Login 200" in values(evidence, "http.path_status")


async def test_error_pages_echoing_the_path_are_not_bodies() -> None:
    """A 404 page that repeats "/doc/page/login.asp" must not become http.body evidence."""
    responder = RawHttpResponder(default=echo_404)  # type: ignore[arg-type]
    async with responder:
        ctx = loopback_context(http_ports=(responder.port,))
        evidence = await VendorHttpProbe().probe(host(responder.port), ctx)
    assert values(evidence, "http.body") == []
    assert len(values(evidence, "http.path_status")) == len(VENDOR_REQUESTS)


async def test_exactly_the_listed_requests_on_each_port() -> None:
    """Two web ports get exactly the listed requests each, nothing more."""
    first, second = RawHttpResponder(), RawHttpResponder()
    async with first, second:
        ctx = loopback_context(http_ports=(first.port, second.port))
        await VendorHttpProbe().probe(host(first.port, second.port), ctx)
    assert first.paths() == ALL_REQUESTS
    assert second.paths() == ALL_REQUESTS


async def test_silent_port_costs_one_deadline() -> None:
    """A port that never answers is abandoned after its first request."""
    silent = StreamResponder(say_nothing)
    async with silent:
        ctx = loopback_context(http_ports=(silent.port,), request_timeout_s=0.3)
        async with asyncio.timeout(10):  # hang guard, not a benchmark
            evidence = await VendorHttpProbe().probe(host(silent.port), ctx)
    assert evidence == []
    assert silent.connections == 1


async def test_no_web_port_no_request() -> None:
    """A host without an open web port is not asked anything."""
    responder = RawHttpResponder()
    async with responder:
        ctx = loopback_context(http_ports=(responder.port,))
        assert await VendorHttpProbe().probe(host(554), ctx) == []
    assert responder.requests == []

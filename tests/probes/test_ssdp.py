"""SSDP: the codec on search replies from the facts, fuzzing, and loopback round trips."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from ipaddress import IPv4Address

import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from camaudit.errors import DecodeError
from camaudit.probes import ssdp_codec
from camaudit.probes.ssdp import SsdpProbe
from camlab.replay import http_server, udp_responder
from tests.probes.kit import data, make_ctx, ssdp_reply

HOST = IPv4Address("127.0.0.1")
AXIS_SERVER = "Linux/4.9.94-axis5, UPnP/1.0, Portable SDK for UPnP devices/1.6.22"


def description_app(body: bytes, hits: list[str]) -> web.Application:
    """Serves `body` at /upnpdevicedesc.xml and counts every request it gets."""

    async def serve(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=body, content_type="text/xml")

    app = web.Application()
    app.router.add_get("/upnpdevicedesc.xml", serve)
    return app


class TestCodec:
    def test_msearch_has_man_mx_st_and_host(self) -> None:
        """The M-SEARCH names the host it goes to, the ST, MX 1 and the quoted MAN."""
        request = ssdp_codec.build_msearch("ssdp:all", host="239.255.255.250", port=1900).decode()
        assert request.startswith("M-SEARCH * HTTP/1.1\r\n")
        assert "HOST: 239.255.255.250:1900\r\n" in request
        assert 'MAN: "ssdp:discover"\r\n' in request
        assert "MX: 1\r\n" in request
        assert "ST: ssdp:all\r\n" in request
        assert request.endswith("\r\n\r\n")

    def test_axis_reply_headers(self) -> None:
        """SERVER, ST and LOCATION are read case-insensitively, as sent."""
        reply = ssdp_codec.parse_search_reply(ssdp_reply("axis_search_reply.txt", ip=HOST, port=80))
        assert reply.header("server") == AXIS_SERVER
        assert reply.header("ST") == "upnp:rootdevice"
        assert reply.header("Location") == "http://127.0.0.1:80/upnpdevicedesc.xml"
        assert reply.header("EXT") == ""

    def test_router_reply_is_parsed_too(self) -> None:
        """A MiniUPnPd router answers like any device; identify calls it a router."""
        reply = ssdp_codec.parse_search_reply(data("ssdp/miniupnpd_search_reply.txt"))
        assert reply.header("SERVER") == "LINUX-2.6 UPnP/1.0 MiniUPnPd/1.5"

    @pytest.mark.parametrize(
        "payload",
        [
            b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNTS: ssdp:alive\r\n\r\n",
            ssdp_codec.build_msearch("ssdp:all", host="239.255.255.250", port=1900),
            b"HTTP/1.1 404 Not Found\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            b"\x00\x01\x02",
            b"",
        ],
    )
    def test_non_replies_are_refused(self, payload: bytes) -> None:
        """Announcements, other searches, errors and junk are not search replies."""
        with pytest.raises(DecodeError):
            ssdp_codec.parse_search_reply(payload)

    def test_oversized_reply_is_refused(self) -> None:
        """Datagrams over the cap are refused before parsing."""
        huge = b"HTTP/1.1 200 OK\r\nSERVER: " + b"x" * 20_000 + b"\r\n\r\n"
        with pytest.raises(DecodeError, match="bytes"):
            ssdp_codec.parse_search_reply(huge)

    def test_location_on_an_ipv4_literal(self) -> None:
        """LOCATION http://a.b.c.d:port/path keeps its path and query."""
        location = ssdp_codec.parse_location("http://198.51.100.40:49152/desc.xml?x=1")
        assert location.host == IPv4Address("198.51.100.40")
        assert location.port == 49152
        assert location.url == "http://198.51.100.40:49152/desc.xml?x=1"

    @pytest.mark.parametrize(
        "value",
        [
            "http://camera.example/desc.xml",  # a name: resolving it could point anywhere
            "https://198.51.100.40/desc.xml",
            "file:///etc/passwd",
            "http://198.51.100.40:99999/desc.xml",
            "http://[fe80::1]/desc.xml",
            "http://198.51.100.40/a b",
        ],
    )
    def test_unusable_locations_are_refused(self, value: str) -> None:
        """Only plain http on an IPv4 literal is ever fetched."""
        with pytest.raises(DecodeError):
            ssdp_codec.parse_location(value)

    def test_description_is_returned_as_received(self) -> None:
        """A well-formed <root> description comes back as its text."""
        body = data("ssdp/upnpdevicedesc.xml")
        assert ssdp_codec.check_description(body) == body.decode()

    @pytest.mark.parametrize(
        "body",
        [
            b'<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><root>&b;</root>',
            b"<html><body>login</body></html>",
            b"<root>" + b"<x/>" * 20_000 + b"</root>",
            b"\xff\xfe garbage",
        ],
    )
    def test_bad_descriptions_are_refused(self, body: bytes) -> None:
        """Bombs, HTML, oversized and garbage bodies are not descriptions."""
        with pytest.raises(DecodeError):
            ssdp_codec.check_description(body)

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=2048))
    def test_random_bytes_never_crash(self, payload: bytes) -> None:
        """Every parse function gives a result or DecodeError on any bytes."""
        for parse in (ssdp_codec.parse_search_reply, ssdp_codec.check_description):
            with contextlib.suppress(DecodeError):
                parse(payload)

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=200))
    def test_random_locations_never_crash(self, value: str) -> None:
        """Any LOCATION text gives a Location or DecodeError."""
        with contextlib.suppress(DecodeError):
            ssdp_codec.parse_location(value)


class TestLoopback:
    async def test_reply_and_description_become_evidence(self) -> None:
        """SERVER, ST and the device's own description are recorded; the description once."""
        hits: list[str] = []
        async with http_server(description_app(data("ssdp/upnpdevicedesc.xml"), hits)) as web_port:
            reply = ssdp_reply("axis_search_reply.txt", ip=HOST, port=web_port)
            async with udp_responder(lambda _search: [reply]) as device:
                evidence = await SsdpProbe().discover(make_ctx(ports={"ssdp": device.port}))
        searches = sorted(
            search.split(b"\r\nST: ")[1].split(b"\r\n")[0] for search in device.received
        )
        assert searches == [b"ssdp:all"]  # it draws every search target, the root device too
        assert all(f"HOST: 127.0.0.1:{device.port}".encode() in s for s in device.received)
        values = {(item.channel, item.value) for item in evidence}
        assert ("ssdp.server", AXIS_SERVER) in values
        assert ("ssdp.st", "upnp:rootdevice") in values
        [description] = [item for item in evidence if item.channel == "upnp.description"]
        assert "<modelNumber>DS-2CD2385G1-I</modelNumber>" in description.value
        assert description.host == HOST
        assert description.port == web_port
        assert hits == ["/upnpdevicedesc.xml"]  # two replies, one distinct LOCATION, one fetch

    async def test_location_on_another_host_is_never_fetched(self) -> None:
        """A reply pointing at 127.0.0.2 gets its SERVER recorded but no request goes there."""
        hits: list[str] = []
        app = description_app(data("ssdp/upnpdevicedesc.xml"), hits)
        async with http_server(app, host="127.0.0.2") as web_port:
            reply = ssdp_reply("axis_search_reply.txt", ip="127.0.0.2", port=web_port)
            async with udp_responder(lambda _search: [reply]) as device:
                ctx = make_ctx("127.0.0.0/30", ports={"ssdp": device.port})
                evidence = await SsdpProbe().discover(ctx)
        assert hits == []
        assert "upnp.description" not in {item.channel for item in evidence}
        assert {item.host for item in evidence} == {HOST}

    async def test_out_of_scope_sender_is_not_fetched(self) -> None:
        """A reply from a host outside the scope (its own LOCATION) is heard but not fetched."""
        hits: list[str] = []
        app = description_app(data("ssdp/upnpdevicedesc.xml"), hits)
        async with http_server(app, host="127.0.0.2") as web_port:
            reply = ssdp_reply("axis_search_reply.txt", ip="127.0.0.2", port=web_port)
            async with udp_responder(lambda _search: [reply], reply_from="127.0.0.2") as device:
                evidence = await SsdpProbe().discover(make_ctx(ports={"ssdp": device.port}))
        assert hits == []
        assert [item.channel for item in evidence if item.host == IPv4Address("127.0.0.2")]
        assert "upnp.description" not in {item.channel for item in evidence}

    async def test_redirects_are_not_followed(self) -> None:
        """A description URL that redirects elsewhere is not followed."""
        elsewhere: list[str] = []

        async def redirect(_request: web.Request) -> web.Response:
            raise web.HTTPFound(f"http://127.0.0.2:{other_port}/upnpdevicedesc.xml")

        app = web.Application()
        app.router.add_get("/upnpdevicedesc.xml", redirect)
        other = description_app(data("ssdp/upnpdevicedesc.xml"), elsewhere)
        async with http_server(other, host="127.0.0.2") as other_port, http_server(app) as port:
            reply = ssdp_reply("axis_search_reply.txt", ip=HOST, port=port)
            async with udp_responder(lambda _search: [reply]) as device:
                evidence = await SsdpProbe().discover(make_ctx(ports={"ssdp": device.port}))
        assert elsewhere == []
        assert "upnp.description" not in {item.channel for item in evidence}

    async def test_hostile_description_is_refused(self) -> None:
        """An entity-bomb description gives SERVER evidence but no upnp.description."""
        bomb = b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><root>&b;</root>'
        hits: list[str] = []
        async with http_server(description_app(bomb, hits)) as web_port:
            reply = ssdp_reply("axis_search_reply.txt", ip=HOST, port=web_port)
            async with udp_responder(lambda _search: [reply]) as device:
                evidence = await SsdpProbe().discover(make_ctx(ports={"ssdp": device.port}))
        assert hits == ["/upnpdevicedesc.xml"]
        assert {item.channel for item in evidence} == {"ssdp.server", "ssdp.st"}

    async def test_garbage_is_ignored_and_logged_once(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Junk datagrams give no evidence and a single warning."""
        async with udp_responder(lambda _search: [b"\xde\xad\xbe\xef"]) as device:
            with caplog.at_level(logging.WARNING):
                evidence = await SsdpProbe().discover(make_ctx(ports={"ssdp": device.port}))
        assert evidence == []
        assert len([r for r in caplog.records if "not SSDP" in r.getMessage()]) == 1

    async def test_silent_device_gives_no_evidence(self) -> None:
        """A device that never answers yields nothing once the window closes."""
        async with udp_responder(lambda _search: []) as device:
            evidence = await SsdpProbe().discover(make_ctx(ports={"ssdp": device.port}))
        assert evidence == []
        assert len(device.received) == 1

    async def test_description_server_that_hangs(self) -> None:
        """A LOCATION that accepts but never answers costs one request deadline, no evidence."""
        release = asyncio.Event()

        async def hang(_request: web.Request) -> web.Response:
            await release.wait()
            return web.Response(text="late")

        app = web.Application()
        app.router.add_get("/upnpdevicedesc.xml", hang)
        async with http_server(app) as web_port:
            reply = ssdp_reply("axis_search_reply.txt", ip=HOST, port=web_port)
            async with udp_responder(lambda _search: [reply]) as device:
                ctx = make_ctx(ports={"ssdp": device.port}, request_timeout_s=0.3)
                evidence = await SsdpProbe().discover(ctx)
            release.set()
        assert {item.channel for item in evidence} == {"ssdp.server", "ssdp.st"}

"""ONVIF: the SOAP codec, endpoint choice, and the probe against a loopback device service."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
from datetime import UTC, datetime
from ipaddress import IPv4Address

import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from camaudit.errors import DecodeError
from camaudit.models import Evidence
from camaudit.probes import onvif_codec
from camaudit.probes.base import HostTarget
from camaudit.probes.onvif import OnvifProbe, onvif_endpoint
from camlab.replay import http_server
from tests.probes.kit import OnvifDevice, data, make_ctx

HOST = IPv4Address("127.0.0.1")
DAHUA_REALM = 'Digest realm="Login to 2J01018PAA00813"'


def target(port: int, *, xaddrs: str | None = None) -> HostTarget:
    """A host known from WS-Discovery to serve ONVIF on `port`."""
    value = xaddrs or f"http://127.0.0.1:{port}/onvif/device_service"
    known = (Evidence(host=HOST, channel="wsd.xaddrs", value=value, probe="wsdiscovery"),)
    return HostTarget(ip=HOST, known=known)


def by_channel(evidence: list[Evidence], channel: str) -> list[str]:
    return [item.value for item in evidence if item.channel == channel]


class TestCodec:
    def test_password_digest_matches_the_profile_formula(self) -> None:
        """Digest = Base64(SHA1(nonce + created + password)), checked against hashlib directly."""
        nonce, created = b"0123456789abcdef", "2015-06-07T03:04:05.000Z"
        expected = base64.b64encode(
            hashlib.sha1(nonce + created.encode() + b"pw").digest()  # noqa: S324
        ).decode()
        assert onvif_codec.password_digest(nonce, created, "pw") == expected

    def test_token_uses_the_given_device_time_and_hides_the_password(self) -> None:
        """Created is the device time in UTC; the request has digest and nonce, not the password."""
        device_time = datetime(2015, 6, 7, 3, 4, 5, 678_000, tzinfo=UTC)
        token = onvif_codec.username_token(
            user="ad<min",
            password="s3cret-pw",  # noqa: S106 - test value
            nonce=b"n" * 16,
            device_time=device_time,
        )
        assert token.created == "2015-06-07T03:04:05.678Z"
        request = onvif_codec.build_request(onvif_codec.GET_DEVICE_INFORMATION, token).decode()
        assert "s3cret-pw" not in request
        assert "s3cret-pw" not in repr(token)
        assert "<wsse:Username>ad&lt;min</wsse:Username>" in request
        assert token.digest in request
        assert "#PasswordDigest" in request
        assert "<tds:GetDeviceInformation/>" in request

    def test_parse_system_date_and_time(self) -> None:
        """The UTC clock is read from UTCDateTime, not LocalDateTime."""
        clock = onvif_codec.parse_system_date_and_time(data("onvif/system_date_and_time.xml"))
        assert clock == datetime(2015, 6, 7, 3, 4, 5, tzinfo=UTC)

    def test_device_information_is_the_element_as_received(self) -> None:
        """The response element comes back byte for byte, prefixes and indentation included."""
        element = onvif_codec.extract_device_information(data("onvif/device_information.xml"))
        assert element.startswith("<tds:GetDeviceInformationResponse>")
        assert element.endswith("</tds:GetDeviceInformationResponse>")
        assert "            <tds:Manufacturer>IPCAM</tds:Manufacturer>\n" in element
        assert "<tds:SerialNumber>gm8135_v2</tds:SerialNumber>" in element

    def test_fault_reason(self) -> None:
        """A NotAuthorized fault is recognised; a normal response is not a fault."""
        reason = onvif_codec.fault_reason(data("onvif/fault_not_authorized.xml"))
        assert reason is not None
        assert "ter:NotAuthorized" in reason
        assert onvif_codec.fault_reason(data("onvif/device_information.xml")) is None

    def test_fault_is_not_device_information(self) -> None:
        """Asking a fault for device information raises DecodeError."""
        with pytest.raises(DecodeError):
            onvif_codec.extract_device_information(data("onvif/fault_not_authorized.xml"))

    def test_entity_bomb_is_refused(self) -> None:
        """DTDs are refused before any entity expands."""
        bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><Envelope>&b;</Envelope>'
        with pytest.raises(DecodeError):
            onvif_codec.parse_system_date_and_time(bomb)
        with pytest.raises(DecodeError):
            onvif_codec.extract_device_information(bomb)

    def test_self_closing_device_information_is_kept_as_received(self) -> None:
        """An empty response element comes back as its own tag, attributes included."""
        payload = (
            b'<s:Envelope xmlns:s="urn:s" xmlns:tds="urn:t"><s:Body>'
            b'<tds:GetDeviceInformationResponse a="1"/></s:Body></s:Envelope>'
        )
        element = onvif_codec.extract_device_information(payload)
        assert element == '<tds:GetDeviceInformationResponse a="1"/>'

    def test_deeply_nested_reply_in_another_encoding_is_a_decode_error(self) -> None:
        """The re-serialising fallback (UTF-16 replies) turns deep nesting into DecodeError."""
        depth = 20_000
        text = (
            '<?xml version="1.0" encoding="utf-16"?><GetDeviceInformationResponse>'
            + "<a>" * depth
            + "</a>" * depth
            + "</GetDeviceInformationResponse>"
        )
        with pytest.raises(DecodeError):
            onvif_codec.extract_device_information(text.encode("utf-16"))

    def test_impossible_clock_is_a_decode_error(self) -> None:
        """Month 13 is refused cleanly."""
        payload = data("onvif/system_date_and_time.xml").replace(
            b"<tt:Month>6</tt:Month>", b"<tt:Month>13</tt:Month>", 1
        )
        with pytest.raises(DecodeError):
            onvif_codec.parse_system_date_and_time(payload)

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=2048))
    def test_random_bytes_never_crash(self, payload: bytes) -> None:
        """Every parse function gives a result or DecodeError on any input."""
        for parse in (
            onvif_codec.parse_system_date_and_time,
            onvif_codec.extract_device_information,
        ):
            with contextlib.suppress(DecodeError):
                parse(payload)
        onvif_codec.fault_reason(payload)

    @settings(max_examples=200, deadline=None)
    @given(st.binary(max_size=32), st.integers(min_value=0, max_value=900))
    def test_mangled_replies_never_crash(self, noise: bytes, at: int) -> None:
        """Real replies with bytes spliced in give a result or DecodeError."""
        for name, parse in (
            ("onvif/system_date_and_time.xml", onvif_codec.parse_system_date_and_time),
            ("onvif/device_information.xml", onvif_codec.extract_device_information),
        ):
            payload = data(name)
            with contextlib.suppress(DecodeError):
                parse(payload[:at] + noise + payload[at + len(noise) :])


class TestEndpoint:
    def test_prefers_the_xaddr_for_this_ip(self) -> None:
        """Of several XAddrs, the one on the host's own address is used."""
        host = target(
            0,
            xaddrs="http://[fe80::1]/onvif/device_service http://127.0.0.1:8899/onvif/dev",
        )
        assert onvif_endpoint(host, (80,)) == "http://127.0.0.1:8899/onvif/dev"

    def test_foreign_xaddr_is_rewritten_to_this_ip(self) -> None:
        """An XAddr naming another address (NAT, stale DHCP) is asked on this host only."""
        host = target(0, xaddrs="http://192.168.124.40/onvif/device_service")
        assert onvif_endpoint(host, (80,)) == "http://127.0.0.1:80/onvif/device_service"

    def test_falls_back_to_an_open_http_port(self) -> None:
        """Without XAddrs, port 80 open means the standard device-service path."""
        host = HostTarget(ip=HOST, open_ports=frozenset({80, 554}))
        assert onvif_endpoint(host, (80, 8080)) == "http://127.0.0.1:80/onvif/device_service"

    def test_nothing_to_ask(self) -> None:
        """No XAddrs and no HTTP port: the host is skipped."""
        assert onvif_endpoint(HostTarget(ip=HOST, open_ports=frozenset({554})), (80,)) is None
        bad = target(0, xaddrs="ftp://127.0.0.1/x http://[::1/ not-a-url")
        assert onvif_endpoint(bad, (80,)) is None


class TestLoopback:
    async def test_open_device_gives_clock_and_device_information(self) -> None:
        """An unauthenticated device gives its clock and the raw GetDeviceInformationResponse."""
        device = OnvifDevice(auth="none")
        async with http_server(device.app()) as port:
            evidence = await OnvifProbe().probe(target(port), make_ctx())
        assert by_channel(evidence, "onvif.system_date_time") == ["2015-06-07T03:04:05Z"]
        [info] = by_channel(evidence, "onvif.device_information")
        assert "<tds:Manufacturer>IPCAM</tds:Manufacturer>" in info
        assert all(item.port == port and item.probe == "onvif" for item in evidence)
        assert device.calls == [("GetSystemDateAndTime", False), ("GetDeviceInformation", False)]

    async def test_refusal_records_www_authenticate_and_never_retries_without_credentials(
        self,
    ) -> None:
        """A Dahua-style 401 leaves the realm as evidence; no credentials, no second attempt."""
        device = OnvifDevice(auth="digest-401")
        async with http_server(device.app()) as port:
            evidence = await OnvifProbe().probe(target(port), make_ctx())
        [challenge] = by_channel(evidence, "http.www_authenticate")
        assert challenge.startswith(DAHUA_REALM)
        assert by_channel(evidence, "onvif.device_information") == []
        assert [has_token for _action, has_token in device.calls] == [False, False]

    @pytest.mark.parametrize("auth", ["digest-401", "soap-fault"])
    async def test_one_authenticated_retry_on_the_device_clock(self, auth: str) -> None:
        """With credentials: one UsernameToken retry, Created on the device's (2015) clock."""
        device = OnvifDevice(auth=auth)
        ctx = make_ctx(onvif_user=device.user, onvif_password=device.password)
        async with http_server(device.app()) as port:
            evidence = await OnvifProbe().probe(target(port), ctx)
        assert device.accepted_tokens == 1
        assert [has_token for _action, has_token in device.calls] == [False, False, True]
        assert len(by_channel(evidence, "onvif.device_information")) == 1

    async def test_wrong_password_is_tried_exactly_once(self) -> None:
        """A refused password is never retried or varied: one authenticated request per host."""
        device = OnvifDevice(auth="soap-fault")
        ctx = make_ctx(onvif_user="admin", onvif_password="wrong-password")  # noqa: S106
        async with http_server(device.app()) as port:
            evidence = await OnvifProbe().probe(target(port), ctx)
        assert device.accepted_tokens == 0
        assert sum(has_token for _action, has_token in device.calls) == 1
        assert by_channel(evidence, "onvif.device_information") == []
        assert by_channel(evidence, "onvif.system_date_time") == ["2015-06-07T03:04:05Z"]

    async def test_not_an_onvif_server(self) -> None:
        """A web server that 404s the device service gives no evidence and one request."""
        hits: list[str] = []

        async def not_found(request: web.Request) -> web.Response:
            hits.append(request.path)
            return web.Response(status=404, text="<html>nope</html>")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", not_found)
        async with http_server(app) as port:
            evidence = await OnvifProbe().probe(target(port), make_ctx())
        assert evidence == []
        assert hits == ["/onvif/device_service"]

    async def test_garbage_replies_give_no_device_information(self) -> None:
        """200 replies that are not SOAP give nothing, and nothing crashes."""

        async def garbage(_request: web.Request) -> web.Response:
            return web.Response(body=b"\x00\xff<<<>>>" * 50, content_type="application/soap+xml")

        app = web.Application()
        app.router.add_post("/onvif/device_service", garbage)
        async with http_server(app) as port:
            evidence = await OnvifProbe().probe(target(port), make_ctx())
        assert evidence == []

    async def test_huge_reply_is_cut_at_the_read_cap(self) -> None:
        """A reply far past max_read_bytes is cut off and yields nothing."""

        async def huge(_request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse()
            response.content_type = "application/soap+xml"
            await response.prepare(_request)
            chunk = b"<a>" * 10_000
            for _ in range(50):
                await response.write(chunk)
            return response

        app = web.Application()
        app.router.add_post("/onvif/device_service", huge)
        async with http_server(app) as port:
            evidence = await OnvifProbe().probe(target(port), make_ctx(max_read_bytes=4096))
        assert evidence == []

    async def test_body_that_drips_forever_hits_the_deadline(self) -> None:
        """Headers then one byte at a time, forever: the request deadline ends it, no evidence."""

        async def drip(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse()
            response.content_type = "application/soap+xml"
            await response.prepare(request)
            while True:
                await response.write(b" ")
                await asyncio.sleep(0.05)

        app = web.Application()
        app.router.add_post("/onvif/device_service", drip)
        async with http_server(app) as port:
            evidence = await OnvifProbe().probe(target(port), make_ctx(request_timeout_s=0.4))
        assert evidence == []

    async def test_device_that_never_answers(self) -> None:
        """A host that accepts the connection but never replies gives no evidence."""
        accepted: list[int] = []
        release = asyncio.Event()

        async def hang(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(1)
            await release.wait()
            writer.close()

        server = await asyncio.start_server(hang, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            ctx = make_ctx(request_timeout_s=0.3)
            evidence = await OnvifProbe().probe(target(port), ctx)
        finally:
            release.set()
            server.close()
            await server.wait_closed()
        assert evidence == []
        assert accepted == [1]

    async def test_host_outside_scope_is_not_contacted(self) -> None:
        """A HostTarget outside the scope is refused before any connection."""
        device = OnvifDevice()
        async with http_server(device.app()) as port:
            evidence = await OnvifProbe().probe(target(port), make_ctx("127.0.0.2"))
        assert evidence == []
        assert device.calls == []

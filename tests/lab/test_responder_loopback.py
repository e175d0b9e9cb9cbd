"""The responder answers each channel like the persona says, on real loopback sockets."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import json
import socket
import ssl
import struct
import uuid
from collections.abc import AsyncIterator
from ipaddress import IPv4Address

import pytest
from cryptography import x509
from zeroconf import DNSIncoming, DNSOutgoing, DNSQuestion, const

from camlab.device import DeviceContext, RequestLog
from camlab.persona import SELFTEST_DIR, Instance, derive_mac, load_all
from camlab.responder import Responder, loopback_device, reply_allowed
from camlab.serve_discovery import dhip_frame

PERSONAS = load_all([SELFTEST_DIR])
ADDRESSES = {
    "selftest-hikvision-dome": "127.0.0.21",
    "selftest-dahua-bullet": "127.0.0.22",
    "selftest-lorex-oem": "127.0.0.23",
    "selftest-axis-dome": "127.0.0.24",
}


class Lab:
    """Devices served in-process on loopback with ephemeral ports."""

    def __init__(self, responder: Responder, requests: RequestLog) -> None:
        self.responder = responder
        self.requests = requests

    def device(self, persona_id: str) -> DeviceContext:
        return next(d for d in self.responder.devices if d.instance.persona.id == persona_id)


@pytest.fixture
async def lab() -> AsyncIterator[Lab]:
    responder = Responder()
    requests = RequestLog(None)
    for number, (persona_id, address) in enumerate(ADDRESSES.items(), start=1):
        persona = PERSONAS[persona_id]
        channels = (
            persona.speaks()
            if persona_id != "selftest-axis-dome"
            else frozenset({"rtsp", "mdns", "ssdp"})
        )
        instance = Instance(
            persona=persona,
            ip=IPv4Address(address),
            mac=derive_mac(persona.mac_prefix, address),
            channels=channels,
        )
        responder.add_device(loopback_device(number, instance, requests))
    await responder.start()
    try:
        yield Lab(responder, requests)
    finally:
        await responder.stop()


async def http(device: DeviceContext, request: bytes, port: int = 80, tls: bool = False) -> bytes:
    context = None
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection(
        str(device.instance.ip), device.bound[("tcp", port)], ssl=context
    )
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return data


async def udp(
    device: DeviceContext, port: int, payload: bytes, source_port: int = 0
) -> list[bytes]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", source_port))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        await loop.sock_sendto(
            sock, payload, (str(device.instance.ip), device.bound[("udp", port)])
        )
        replies: list[bytes] = []
        try:
            while True:  # the first reply may take a moment; further ones come right after it
                replies.append(
                    await asyncio.wait_for(loop.sock_recv(sock, 65535), 0.1 if replies else 0.3)
                )
        except TimeoutError:
            pass
        return replies
    finally:
        sock.close()


async def test_http_routes_keep_raw_header_names_and_order(lab: Lab) -> None:
    """Headers come out exactly as the persona wrote them, with placeholders filled."""
    dahua = lab.device("selftest-dahua-bullet")
    reply = await http(dahua, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "CONNECTION",
        "CONTENT-LENGTH",
        "CACHE-CONTROL",
        "CONTENT-TYPE",
    ]
    assert f"CONTENT-LENGTH: {len(body)}" in lines
    assert b"WEB SERVICE" in body
    hik = lab.device("selftest-hikvision-dome")
    reply = await http(hik, b"GET /?x=1 HTTP/1.1\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 302 Redirect\r\nServer: App-webs/\r\n")
    # On loopback the persona's port 80 is served elsewhere; its own URLs say where.
    web = hik.bound[("tcp", 80)]
    assert f"Location: http://127.0.0.21:{web}/doc/page/login.asp".encode() in reply
    assert (await http(hik, b"GET /nothing HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 404")


async def test_https_certificate_carries_the_persona_subject(lab: Lab) -> None:
    """The TLS port presents a self-signed certificate with the persona's subject."""
    hik = lab.device("selftest-hikvision-dome")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection(
        "127.0.0.21", hik.bound[("tcp", 443)], ssl=context
    )
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    cert = x509.load_der_x509_certificate(der)
    assert (
        cert.subject.rfc4514_string()
        == "C=CN,ST=ZheJiang,L=HangZhou,O=HIKVISION,OU=DVRNVR,CN=www.hikvision.com"
    )
    assert cert.issuer == cert.subject


async def test_rtsp_answers_options_then_describe_on_one_connection(lab: Lab) -> None:
    """OPTIONS gives Public, DESCRIBE the persona's challenge, CSeq echoed."""
    dahua = lab.device("selftest-dahua-bullet")
    reader, writer = await asyncio.open_connection("127.0.0.22", dahua.bound[("tcp", 554)])
    writer.write(b"OPTIONS rtsp://127.0.0.22/ RTSP/1.0\r\nCSeq: 7\r\n\r\n")
    first = await reader.readuntil(b"\r\n\r\n")
    writer.write(b"DESCRIBE rtsp://127.0.0.22/ RTSP/1.0\r\nCSeq: 8\r\n\r\n")
    second = await reader.readuntil(b"\r\n\r\n")
    writer.close()
    assert first.startswith(b"RTSP/1.0 200 OK\r\nCSeq: 7\r\nServer: Dahua Rtsp Server\r\n")
    assert second.startswith(b"RTSP/1.0 401 Unauthorized\r\nCSeq: 8\r\n")
    assert b'Digest realm="Login to 1F006E4PAX00075"' in second


def soap(body: str, header: str = "") -> bytes:
    return (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
        f"<s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def post(body: bytes) -> bytes:
    return (
        b"POST /onvif/device_service HTTP/1.1\r\nContent-Type: application/soap+xml\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )


def username_token(user: str, password: str, created: str | None = None) -> str:
    nonce = b"0123456789abcdef"
    created = created or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = base64.b64encode(
        hashlib.sha1(nonce + created.encode() + password.encode()).digest()  # noqa: S324
    ).decode()  # noqa: S324
    return (
        '<Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken>'
        f"<Username>{user}</Username><Password>{digest}</Password><Nonce>{base64.b64encode(nonce).decode()}</Nonce>"
        '<Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">'
        f"{created}</Created></UsernameToken></Security>"
    )


async def test_onvif_time_is_open_and_device_information_needs_the_lab_credentials(
    lab: Lab,
) -> None:
    """GetSystemDateAndTime answers anyone; GetDeviceInformation: 401 without the token."""
    hik = lab.device("selftest-hikvision-dome")
    reply = await http(hik, post(soap("<tds:GetSystemDateAndTime/>")))
    assert reply.startswith(b"HTTP/1.1 200")
    assert b"UTCDateTime" in reply
    assert b"Server: App-webs/" in reply
    refused = await http(hik, post(soap("<tds:GetDeviceInformation/>")))
    assert refused.startswith(b"HTTP/1.1 401")
    assert b'WWW-Authenticate: Digest realm="IP Camera(42150)"' in refused
    wrong = await http(
        hik, post(soap("<tds:GetDeviceInformation/>", username_token("admin", "guess")))
    )
    assert wrong.startswith(b"HTTP/1.1 401")
    stale = username_token("admin", "lab-only-not-secret", created="2016-01-01T00:00:00Z")
    # Created far from the device's clock: refused, as cameras refuse a replayed token.
    assert (await http(hik, post(soap("<tds:GetDeviceInformation/>", stale)))).startswith(
        b"HTTP/1.1 401"
    )
    allowed = await http(
        hik,
        post(soap("<tds:GetDeviceInformation/>", username_token("admin", "lab-only-not-secret"))),
    )
    assert allowed.startswith(b"HTTP/1.1 200")
    assert b"<tds:Manufacturer>HIKVISION</tds:Manufacturer>" in allowed
    assert b"<tds:SerialNumber>DS-2CD2385G1-I20200414AAWRE33842150</tds:SerialNumber>" in allowed
    bad = await http(hik, post(b"<not xml"))
    assert bad.startswith(b"HTTP/1.1 400")


async def test_wsdiscovery_unicast_probe_gets_a_probe_match_relating_to_it(lab: Lab) -> None:
    """A unicast Probe is answered to the sender with RelatesTo = its MessageID."""
    hik = lab.device("selftest-hikvision-dome")
    message_id = f"urn:uuid:{uuid.uuid4()}"
    probe = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">'
        f'<s:Header><a:MessageID>{message_id}</a:MessageID></s:Header><s:Body><d:Probe xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">'
        '<d:Types xmlns:dn="http://www.onvif.org/ver10/network/wsdl">dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>'
    ).encode()
    [reply] = await udp(hik, 3702, probe)
    assert f"<wsadis:RelatesTo>{message_id}</wsadis:RelatesTo>".encode() in reply
    assert b"onvif://www.onvif.org/name/HIKVISION%20DS-2CD2385G1-I" in reply
    assert f"http://127.0.0.21:{hik.bound[('tcp', 80)]}/onvif/device_service".encode() in reply
    printer_probe = probe.replace(b"dn:NetworkVideoTransmitter", b"dn:PrintDeviceType")
    assert await udp(hik, 3702, printer_probe) == []  # match_types = "nvt"


async def test_sadp_and_dhip_unicast_inquiries_are_answered_to_the_sender(lab: Lab) -> None:
    """SADP gives a ProbeMatch echoing the Uuid; DHIP a framed client.notifyDevInfo."""
    hik = lab.device("selftest-hikvision-dome")
    [sadp] = await udp(
        hik,
        37020,
        b'<?xml version="1.0" encoding="utf-8"?>'
        b"<Probe><Uuid>ABC-1</Uuid><Types>inquiry</Types></Probe>",
    )
    assert sadp.startswith(b'<?xml version="1.0" encoding="UTF-8"?><ProbeMatch><Uuid>ABC-1</Uuid>')
    assert f"<MAC>{hik.instance.mac.replace(':', '-')}</MAC>".encode() in sadp
    assert await udp(hik, 37020, b"<Probe><Uuid>X</Uuid><Types>reboot</Types></Probe>") == []
    lorex = lab.device("selftest-lorex-oem")
    search = dhip_frame(
        b'{ "method" : "DHDiscover.search", "params" : { "mac" : "", "uni" : 1 } }\n'
    )
    [dhip] = await udp(lorex, 37810, search)
    assert dhip[4:8] == b"DHIP"
    (length,) = struct.unpack_from("<I", dhip, 16)
    body = json.loads(dhip[32 : 32 + length].rstrip(b"\0\n"))
    assert body["method"] == "client.notifyDevInfo"
    assert body["mac"].startswith("00:1f:54:")
    assert body["params"]["deviceInfo"]["Vendor"] == "Lorex"
    assert body["params"]["deviceInfo"]["IPv4Address"]["IPAddress"] == "127.0.0.23"
    assert await udp(lorex, 37810, search[32:]) == []  # bare JSON without the DHIP header: no reply


async def test_ssdp_search_points_at_a_served_description(lab: Lab) -> None:
    """M-SEARCH gets LOCATION; the description there carries the persona's fields."""
    axis = lab.device("selftest-axis-dome")
    search = (
        b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
        b'MAN: "ssdp:discover"\r\nMX: 1\r\nST: upnp:rootdevice\r\n\r\n'
    )
    [reply] = await udp(axis, 1900, search)
    assert b"SERVER: Linux/4.9.94-axis5, UPnP/1.0, Portable SDK for UPnP devices/1.6.22" in reply
    location = next(
        line for line in reply.decode().split("\r\n") if line.startswith("LOCATION:")
    ).split(" ", 1)[1]
    assert location == f"http://127.0.0.24:{axis.bound[('tcp', 49152)]}/rootdesc1.xml"
    description = await http(axis, b"GET /rootdesc1.xml HTTP/1.1\r\n\r\n", port=49152)
    assert b"<modelNumber>M5014</modelNumber>" in description


async def test_mdns_legacy_unicast_query_gets_ptr_srv_txt_and_address(lab: Lab) -> None:
    """A query from a port other than 5353 is answered unicast with the same id (RFC 6762 §6.7)."""
    hik = lab.device("selftest-hikvision-dome")
    query = DNSOutgoing(const._FLAGS_QR_QUERY, False, 4242)
    query.add_question(DNSQuestion("_CGI._tcp.local.", const._TYPE_PTR, const._CLASS_IN))
    [packet] = query.packets()
    [reply] = await udp(hik, 5353, packet)
    parsed = DNSIncoming(reply)
    assert parsed.id == 4242
    assert parsed.is_response()
    names = {(record.name, record.type) for record in parsed.answers()}
    assert ("_CGI._tcp.local.", const._TYPE_PTR) in names
    assert any(
        r.type == const._TYPE_SRV and r.name.startswith("HIKVISION DS-2CD2385G1-I - 42150")
        for r in parsed.answers()
    )
    assert any(
        r.type == const._TYPE_A and r.name == "DS-2CD2385G1-I20200414AAWRE33842150.local."
        for r in parsed.answers()
    )


async def test_site_channel_restriction_silences_other_channels(lab: Lab) -> None:
    """A device limited to some channels opens no socket for the others."""
    axis = lab.device("selftest-axis-dome")
    assert ("tcp", 80) not in axis.bound
    assert ("udp", 3702) not in axis.bound
    assert ("tcp", 554) in axis.bound


async def test_extra_tcp_ports_accept_and_close_and_every_request_is_logged(lab: Lab) -> None:
    """Port 8000 accepts and closes; the request log names device, channel and port."""
    hik = lab.device("selftest-hikvision-dome")
    reader, writer = await asyncio.open_connection("127.0.0.21", hik.bound[("tcp", 8000)])
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    await asyncio.sleep(0.05)
    assert any(
        r["channel"] == "tcp" and r["port"] == 8000 and r["ip"] == "127.0.0.21"
        for r in lab.requests.records
    )


async def test_garbage_on_every_port_leaves_the_responder_serving(lab: Lab) -> None:
    """Random bytes on every TCP and UDP port; afterwards every device still answers HTTP/RTSP."""
    junk = [
        b"\x00" * 10,
        b"\xff" * 3000,
        b"GET / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
        b"<" * 5000,
        b"DHIP" * 20,
    ]
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    async def throw(device: DeviceContext, port: int, payload: bytes) -> None:
        reader, writer = await asyncio.open_connection(str(device.instance.ip), port)
        writer.write(payload)
        writer.write_eof()
        with contextlib.suppress(ConnectionResetError):
            await asyncio.wait_for(reader.read(), 12)
        writer.close()

    jobs = []
    for device in lab.responder.devices:
        for (proto, _port), real in device.bound.items():
            for payload in junk:
                if proto == "udp":
                    sender.sendto(payload, (str(device.instance.ip), real))
                else:
                    jobs.append(throw(device, real, payload))
    await asyncio.gather(*jobs)
    sender.close()
    dahua = lab.device("selftest-dahua-bullet")
    assert (await http(dahua, b"GET / HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 200")


async def test_oversized_request_heads_get_no_answer(lab: Lab) -> None:
    """HTTP heads over 16 KiB and RTSP heads over 8 KiB are dropped, not answered."""
    dahua = lab.device("selftest-dahua-bullet")
    padding = b"X-Pad: " + b"a" * 20_000 + b"\r\n"
    assert await http(dahua, b"GET / HTTP/1.1\r\n" + padding + b"\r\n") == b""
    reader, writer = await asyncio.open_connection("127.0.0.22", dahua.bound[("tcp", 554)])
    writer.write(b"OPTIONS rtsp://127.0.0.22/ RTSP/1.0\r\nCSeq: 1\r\n" + padding + b"\r\n")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    assert (await http(dahua, b"GET / HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 200")


def test_loopback_mode_answers_loopback_unicast_only(lab: Lab) -> None:
    """Without a namespace, a reply to a group, broadcast or real address is never sent."""
    hik = lab.device("selftest-hikvision-dome")
    assert reply_allowed(hik, ("127.0.0.1", 40000))
    for target in ("239.255.255.250", "224.0.0.251", "255.255.255.255", "198.51.100.2", "x"):
        assert not reply_allowed(hik, (target, 37020)), target
    in_lab = DeviceContext(
        number=9,
        instance=hik.instance,
        network=hik.network,
        router=hik.router,
        requests=hik.requests,
        netns="cal-x-d9",
    )
    assert reply_allowed(in_lab, ("239.255.255.250", 37020))

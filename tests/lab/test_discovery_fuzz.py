"""Every discovery answer function takes hostile bytes without raising (hypothesis)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zeroconf import DNSOutgoing, DNSQuestion, const

from camlab.device import DeviceContext, RequestLog
from camlab.persona import SELFTEST_DIR, Instance, load_all
from camlab.serve_discovery import UDP_CHANNELS, dhip_frame, dhip_unframe
from camlab.serve_http import HttpServer, Request

PERSONAS = load_all([SELFTEST_DIR])


def device_for(persona_id: str) -> DeviceContext:
    persona = PERSONAS[persona_id]
    instance = Instance(
        persona=persona,
        ip=IPv4Address("198.51.100.10"),
        mac="58:50:ed:1f:e3:85",
        channels=persona.speaks(),
    )
    return DeviceContext(
        number=1,
        instance=instance,
        network=IPv4Network("198.51.100.0/24"),
        router=IPv4Address("198.51.100.1"),
        requests=RequestLog(None),
    )


DEVICES = [device_for(pid) for pid in sorted(PERSONAS)]
SEEDS = [
    b"<Probe><Uuid>1</Uuid><Types>inquiry</Types></Probe>",
    dhip_frame(b'{"method":"DHDiscover.search","params":{"mac":"","uni":1}}'),
    b"M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n",
    b"<Envelope><Header><MessageID>x</MessageID></Header><Body><Probe/></Body></Envelope>",
]


@pytest.mark.parametrize("channel", sorted(UDP_CHANNELS))
@settings(max_examples=150, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=600),
        st.sampled_from(SEEDS).flatmap(
            lambda s: st.binary(max_size=40).map(lambda b: s[: len(s) // 2] + b)
        ),
    )
)
def test_answers_to_random_bytes_are_lists_of_datagrams(channel: str, data: bytes) -> None:
    """No exception; whatever comes back is (bytes, (host, port)) pairs."""
    _port, _group, answer = UDP_CHANNELS[channel]
    for device in DEVICES:
        for reply, (host, port) in answer(device, data, ("198.51.100.2", 40000), "198.51.100.10"):
            assert isinstance(reply, bytes)
            assert isinstance(host, str)
            assert isinstance(port, int)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200), claimed=st.integers(min_value=0, max_value=2**32 - 1))
def test_dhip_unframe_never_trusts_the_claimed_length(data: bytes, claimed: int) -> None:
    """The body is at most what arrived, whatever the header claims."""
    frame = bytearray(dhip_frame(data))
    frame[16:20] = claimed.to_bytes(4, "little")
    body = dhip_unframe(bytes(frame))
    assert body is not None
    assert len(body) <= len(data)
    assert data.startswith(body)


@settings(max_examples=150, deadline=None)
@given(method=st.text(max_size=10), target=st.text(max_size=60), body=st.binary(max_size=300))
def test_http_responses_to_odd_requests_are_well_formed(
    method: str, target: str, body: bytes
) -> None:
    """Any parsed request gets a status line and a correct Content-Length."""
    for device in DEVICES:
        for spec in device.persona.get("http", []):
            reply = HttpServer(device, spec["port"], spec).respond(
                Request(method, target, {}, body)
            )
            head, _, rest = reply.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 ")


def test_mdns_repeated_questions_do_not_multiply_the_answer() -> None:
    """Three hundred copies of one question get the same single reply as one copy."""
    _port, _group, answer = UDP_CHANNELS["mdns"]
    device = next(d for d in DEVICES if "mdns" in d.persona)

    def query(copies: int) -> bytes:
        out = DNSOutgoing(0)
        for _ in range(copies):
            out.add_question(
                DNSQuestion("_services._dns-sd._udp.local.", const._TYPE_PTR, const._CLASS_IN)
            )
        packet: bytes = out.packets()[0]
        return packet

    single = answer(device, query(1), ("198.51.100.2", 5353), "224.0.0.251")
    repeated = answer(device, query(300), ("198.51.100.2", 5353), "224.0.0.251")
    assert single
    assert len(repeated) == len(single) == 1
    assert len(repeated[0][0]) == len(single[0][0])

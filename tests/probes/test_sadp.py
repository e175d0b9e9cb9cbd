"""SADP: the codec on real-shaped payloads and fuzz, and the probe against loopback responders."""

from __future__ import annotations

import re
import socket
import uuid
from ipaddress import IPv4Address, IPv4Interface

import pytest
from hypothesis import given
from hypothesis import strategies as st

from camaudit.errors import DecodeError, ProbeError
from camaudit.net import Interface
from camaudit.options import ScanOptions
from camaudit.probes import dhip_codec, sadp_codec
from camaudit.probes.base import ProbeContext
from camaudit.probes.sadp import SadpProbe
from camaudit.targets import build_scope
from camlab.replay import constant, echo, responders, sadp_device
from tests.probes.kit import DATA

HIKVISION_XML = (DATA / "sadp" / "ds-2cd2385g1-i.xml").read_bytes()
MALFORMED_XML = (DATA / "sadp" / "malformed-flase.xml").read_bytes()
LORE_DHIP = (DATA / "dhip" / "lorex-w461asc.json").read_bytes()


def loopback_ctx(port: int, *, interfaces: tuple[Interface, ...] = ()) -> ProbeContext:
    """A context that only ever reaches 127.0.0.1-6 on `port`, listening briefly."""
    options = ScanOptions(ports={"sadp": port}, sadp_listen_s=0.3)
    return ProbeContext(options=options, scope=build_scope(["127.0.0.0/29"]), interfaces=interfaces)


class TestInquiry:
    def test_inquiry_is_the_xml_sadptool_sends_with_an_upper_case_uuid(self) -> None:
        """The inquiry is the exact one-line XML of protocols.md §3."""
        inquiry_id = uuid.UUID("e8ecfe09-90e4-44c0-842b-703f46b58c81")
        assert sadp_codec.build_inquiry(inquiry_id) == (
            b'<?xml version="1.0" encoding="utf-8"?><Probe>'
            b"<Uuid>E8ECFE09-90E4-44C0-842B-703F46B58C81</Uuid><Types>inquiry</Types></Probe>"
        )

    def test_our_own_inquiry_is_not_a_reply(self) -> None:
        """A <Probe> heard back (our own, or another tool's) is refused, not read as a device."""
        with pytest.raises(DecodeError, match="not a ProbeMatch"):
            sadp_codec.parse_probe_match(sadp_codec.build_inquiry(uuid.uuid4()))


class TestProbeMatch:
    def test_hikvision_reply_fields_are_read(self) -> None:
        """Model, serial, MAC, firmware, ports and flags come out of a DS-2CD2385G1-I reply."""
        reply = sadp_codec.parse_probe_match(HIKVISION_XML)
        assert reply.model == "DS-2CD2385G1-I"
        assert reply.serial == "DS-2CD2385G1-I20200414AAWRE00000001"
        assert reply.mac == "58:50:ed:00:00:01"
        assert reply.firmware == "V5.6.2build 190701"
        assert reply.dsp == "V7.3 build 190626"
        assert reply.activated is True
        assert reply.device_type == 141945
        assert reply.oem_code == 1
        assert reply.ipv4 == IPv4Address("198.51.100.40")
        assert reply.ports == {"command": 8000, "http": 80, "sdk_tls": 8443}
        assert reply.malformed is False
        assert reply.text == HIKVISION_XML.decode()

    def test_cap006_serial_alone_is_read(self) -> None:
        """The DeviceSN element of cap-006, wrapped in a ProbeMatch, yields the serial as sent."""
        data = b"<ProbeMatch><DeviceSN>DS-2CD2385G1-I20200414AAWRE33842150</DeviceSN></ProbeMatch>"
        reply = sadp_codec.parse_probe_match(data)
        assert reply.serial == "DS-2CD2385G1-I20200414AAWRE33842150"
        assert reply.model is None
        assert reply.mac is None

    def test_malformed_reply_is_read_by_the_tolerant_fallback(self) -> None:
        """A cut-off reply with a bare '&' still gives its fields, and 'flase' means False."""
        reply = sadp_codec.parse_probe_match(MALFORMED_XML)
        assert reply.malformed is True
        assert reply.model == "DS-2CD2385G1-I"
        assert reply.mac == "58:50:ed:00:00:01"
        assert reply.activated is False
        assert reply.ports == {"command": 8000, "http": 80}

    def test_namespaced_elements_are_read_like_plain_ones(self) -> None:
        """A firmware that namespaces its XML still gives its model and MAC."""
        data = (
            b'<ProbeMatch xmlns="urn:example"><DeviceDescription>DS-7608NI-K2</DeviceDescription>'
            b"<MAC>bc-ad-28-00-00-02</MAC></ProbeMatch>"
        )
        reply = sadp_codec.parse_probe_match(data)
        assert (reply.model, reply.mac) == ("DS-7608NI-K2", "bc:ad:28:00:00:02")

    def test_invalid_values_are_dropped_not_trusted(self) -> None:
        """Non-numeric ports, out-of-range ports, bad addresses and zero MACs are left out."""
        data = (
            b"<ProbeMatch><HttpPort>eighty</HttpPort><CommandPort>70000</CommandPort>"
            b"<IPv4Address>999.1.1.1</IPv4Address><MAC>00-00-00-00-00-00</MAC>"
            b"<DeviceType>\xd9\xa3</DeviceType><Activated>maybe</Activated></ProbeMatch>"
        )
        reply = sadp_codec.parse_probe_match(data)
        assert reply.ports == {}
        assert reply.ipv4 is None
        assert reply.mac is None
        assert reply.device_type is None
        assert reply.activated is None

    @pytest.mark.parametrize(
        "data",
        [
            b"",
            b"\x00\x01\x02",
            b"<Probe><Types>inquiry</Types></Probe>",
            b'{"method": "client.notifyDevInfo"}',
            b"<ProbeMatch>" + b"A" * sadp_codec.MAX_REPLY_BYTES,
            b'<!DOCTYPE x [<!ENTITY a "b">]><ProbeMatch><MAC>&a;</MAC></ProbeMatch>',
            b'<!DOCTYPE x [<!ENTITY a "b">]><ProbeMatch><MAC>&a;</MAC>',
            b"<ProbeMatch>no fields at all",
        ],
        ids=[
            "empty",
            "binary",
            "inquiry",
            "json",
            "huge",
            "entity",
            "entity-malformed",
            "empty-match",
        ],
    )
    def test_things_that_are_not_a_probe_match_raise_decode_error(self, data: bytes) -> None:
        """Empty, binary, other messages, oversized datagrams and XML entities are refused."""
        with pytest.raises(DecodeError):
            sadp_codec.parse_probe_match(data)

    @given(st.binary(max_size=2048))
    def test_random_bytes_raise_only_decode_error(self, data: bytes) -> None:
        """Hostile bytes either parse or raise DecodeError, never anything else."""
        try:
            reply = sadp_codec.parse_probe_match(data)
        except DecodeError:
            return
        assert "ProbeMatch" in reply.text

    @given(
        st.lists(
            st.sampled_from(
                [
                    "<ProbeMatch>",
                    "</ProbeMatch>",
                    "<MAC>",
                    "</MAC>",
                    "<HttpPort>",
                    "</HttpPort>",
                    "<!DOCTYPE a>",
                    "&amp;",
                    "&",
                    "<",
                    ">",
                    "58-50-ed-00-00-01",
                    "65535",
                    "flase",
                    "<?xml version='1.0'?>",
                    "\x00",
                    "\udcff",
                    "]]>",
                    "<![CDATA[",
                ]
            )
            | st.text(max_size=8),
            max_size=40,
        )
    )
    def test_xml_shaped_noise_raises_only_decode_error(self, parts: list[str]) -> None:
        """Near-XML built from SADP pieces either parses or raises DecodeError."""
        data = "".join(parts).encode("utf-8", errors="surrogatepass")
        try:
            reply = sadp_codec.parse_probe_match(data)
        except DecodeError:
            return
        assert reply.mac is None or re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", reply.mac)
        assert all(0 < port < 65536 for port in reply.ports.values())


class TestSadpProbe:
    async def test_probe_reports_the_device_and_ignores_rude_senders(self) -> None:
        """Only the real ProbeMatch becomes evidence; garbage, huge, DHIP and echoes are dropped."""
        dhip_reply = dhip_codec.frame(LORE_DHIP)
        answers = {
            "127.0.0.2": sadp_device(HIKVISION_XML, times=2),
            "127.0.0.3": constant(b"\xff\xfe garbage \x00"),
            "127.0.0.4": constant(b"<ProbeMatch>" + b"A" * 60_000 + b"</ProbeMatch>"),
            "127.0.0.5": constant(dhip_reply),
            "127.0.0.6": echo,
        }
        async with responders(answers) as (port, started):
            evidence = await SadpProbe().discover(loopback_ctx(port))
        device = IPv4Address("127.0.0.2")
        assert [(e.host, e.channel) for e in evidence] == [(device, "sadp"), (device, "mac")]
        assert evidence[0].value == HIKVISION_XML.decode()
        assert evidence[1].value == "58:50:ed:00:00:01"
        assert {e.probe for e in evidence} == {"sadp"}
        assert evidence[0].port == port
        for responder in started.values():
            assert len(responder.received) == 1  # one directed inquiry per target
            assert re.fullmatch(
                rb'<\?xml version="1.0" encoding="utf-8"\?><Probe><Uuid>[0-9A-F-]{36}</Uuid>'
                rb"<Types>inquiry</Types></Probe>",
                responder.received[0],
            )

    async def test_malformed_reply_still_becomes_evidence_as_received(self) -> None:
        """A device that sends broken XML is still reported, with the text exactly as sent."""
        async with responders({"127.0.0.3": sadp_device(MALFORMED_XML)}) as (port, _started):
            evidence = await SadpProbe().discover(loopback_ctx(port))
        assert [(str(e.host), e.channel, e.value) for e in evidence] == [
            ("127.0.0.3", "sadp", MALFORMED_XML.decode()),
            ("127.0.0.3", "mac", "58:50:ed:00:00:01"),
        ]

    async def test_no_answer_is_no_evidence(self) -> None:
        """Silent targets give an empty list, not an error."""
        async with responders({"127.0.0.2": constant()}) as (port, started):
            evidence = await SadpProbe().discover(loopback_ctx(port))
        assert evidence == []
        assert len(started["127.0.0.2"].received) == 1

    async def test_busy_protocol_port_is_a_probe_error(self) -> None:
        """With an interface, the probe must own the SADP port; if it cannot, it says which port."""
        blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            blocker.bind(("127.0.0.1", 0))
            port = blocker.getsockname()[1]
            # NOTE: not a multicast interface, so nothing but loopback unicast could be sent.
            lo = Interface(name="lo", address=IPv4Interface("127.0.0.1/8"), multicast=False)
            ctx = loopback_ctx(port, interfaces=(lo,))
            with pytest.raises(ProbeError, match=f"sadp: cannot use UDP port {port}"):
                await SadpProbe().discover(ctx)
        finally:
            blocker.close()

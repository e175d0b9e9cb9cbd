"""DHIP: the codec on real-shaped replies and fuzz, and the probe against loopback responders."""

from __future__ import annotations

import json
import uuid
from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from camaudit.errors import DecodeError
from camaudit.options import ScanOptions
from camaudit.probes import dhip_codec, sadp_codec
from camaudit.probes.base import ProbeContext
from camaudit.probes.dhip import DhipProbe
from camaudit.targets import build_scope
from camlab.replay import constant, dhip_device, dhip_header, echo, responders
from tests.probes.kit import DATA

DAHUA = (DATA / "dhip" / "ipc-hdw5421s.json").read_bytes()
LOREX = (DATA / "dhip" / "lorex-w461asc.json").read_bytes()
BCS = (DATA / "dhip" / "bcs-tip3401ir-e-v.json").read_bytes()
HCVR = (DATA / "dhip" / "dahua-hcvr.json").read_bytes()
# cap-008 exactly as published: the binary header shown as spaces around "DHIP".
CAP008_AS_SHOWN = b"    DHIP                    " + DAHUA.rstrip(b"\n")


def framed(body: bytes) -> bytes:
    """A reply as a device sends it: header, body, "\\n" and a NUL (0a 00)."""
    body = body.rstrip(b"\n") + b"\n"
    return dhip_header(body) + body + b"\x00"


def loopback_ctx(port: int) -> ProbeContext:
    """A context that only ever reaches 127.0.0.1-6 on `port`, listening briefly."""
    options = ScanOptions(ports={"dhip": port}, dhip_listen_s=0.3)
    return ProbeContext(options=options, scope=build_scope(["127.0.0.0/29"]))


class TestSearch:
    def test_search_is_the_framed_configtool_request(self) -> None:
        """Header (0x20, "DHIP", zero id, length twice) then the 0x49-byte JSON search body."""
        body = b'{ "method" : "DHDiscover.search", "params" : { "mac" : "", "uni" : 1 } }\n'
        assert len(body) == 0x49
        assert dhip_codec.build_search() == (
            b"\x20\x00\x00\x00DHIP"
            + bytes(8)
            + b"\x49\x00\x00\x00"
            + bytes(4)
            + b"\x49\x00\x00\x00"
            + bytes(4)
            + body
        )

    def test_our_own_search_parses_but_is_not_device_info(self) -> None:
        """A search heard back is a DHIP message but not a device describing itself."""
        reply = dhip_codec.parse_reply(dhip_codec.build_search())
        assert reply.method == "DHDiscover.search"
        assert not reply.is_device_info


class TestReply:
    def test_dahua_reply_fields_are_read_from_a_framed_datagram(self) -> None:
        """cap-008 (IPC-HDW5421S) framed as on the wire gives model, serial, MAC and ports."""
        reply = dhip_codec.parse_reply(framed(DAHUA))
        assert reply.is_device_info
        assert reply.mac == "4c:11:bf:00:00:01"
        assert reply.vendor == "Dahua"
        assert reply.manufacturer == "Private"
        assert reply.model == "IPC-HDW5421S"
        assert reply.device_class == "IPC"
        assert reply.serial == "1F006E4PAX00001"
        assert reply.version == "2.400.0.8"
        assert reply.ipv4 == IPv4Address("198.51.100.140")
        assert reply.ports == {"private": 37777, "http": 80}
        assert reply.text == DAHUA.decode().rstrip("\n")

    def test_cap008_as_published_with_spaces_for_the_header_is_read(self) -> None:
        """The header bytes shown as spaces do not hide the JSON body."""
        reply = dhip_codec.parse_reply(CAP008_AS_SHOWN)
        assert reply.model == "IPC-HDW5421S"
        assert reply.text == DAHUA.decode().rstrip("\n")

    def test_bare_json_without_header_is_read(self) -> None:
        """Some senders omit the header; the JSON alone is enough."""
        assert dhip_codec.parse_reply(DAHUA).model == "IPC-HDW5421S"

    def test_lorex_oem_reply_keeps_its_own_brand_and_port(self) -> None:
        """cap-009: Lorex W461ASC says Vendor Lorex, Lorex OUI, private port 35000."""
        reply = dhip_codec.parse_reply(framed(LOREX))
        assert (reply.vendor, reply.manufacturer, reply.model) == ("Lorex", "Private", "W461ASC")
        assert reply.mac == "00:1f:54:00:00:01"
        assert reply.ports == {"private": 35000, "http": 80}
        assert reply.version == "2.800.030000000.3.R"

    @pytest.mark.parametrize(
        ("body", "model", "vendor", "device_class", "mac"),
        [
            (BCS, "BCS-TIP3401IR-E-V", "General", "IPC", "38:c4:e8:00:00:01"),
            (HCVR, "HCVR", "Private", "HCVR", "3c:ef:8c:00:00:01"),
        ],
        ids=["cap-013-bcs", "cap-014-hcvr"],
    )
    def test_rebuilt_replies_give_the_published_fields(
        self, body: bytes, model: str, vendor: str, device_class: str, mac: str
    ) -> None:
        """cap-013/014 fields (BCS OEM, Dahua HCVR) come back out of a framed reply."""
        reply = dhip_codec.parse_reply(framed(body))
        assert (reply.model, reply.vendor, reply.device_class, reply.mac) == (
            model,
            vendor,
            device_class,
            mac,
        )

    def test_machine_name_stands_in_for_a_missing_serial(self) -> None:
        """SerialNo absent: MachineName is the serial."""
        body = json.dumps(
            {"method": "client.notifyDevInfo", "params": {"deviceInfo": {"MachineName": "5J0"}}}
        ).encode()
        assert dhip_codec.parse_reply(body).serial == "5J0"

    def test_wrongly_typed_fields_are_dropped(self) -> None:
        """Strings for numbers, numbers for strings, and booleans are not trusted."""
        body = json.dumps(
            {
                "mac": 12,
                "method": "client.notifyDevInfo",
                "params": {
                    "deviceInfo": {
                        "Port": "37777",
                        "HttpPort": True,
                        "HttpsPort": 70000,
                        "DeviceType": ["IPC"],
                        "Vendor": False,
                        "Version": 3,
                        "IPv4Address": "198.51.100.1",
                    }
                },
            }
        ).encode()
        reply = dhip_codec.parse_reply(body)
        assert reply.ports == {}
        assert (reply.mac, reply.model, reply.vendor, reply.ipv4) == (None, None, None, None)
        assert reply.version == "3"

    @pytest.mark.parametrize(
        "data",
        [
            b"",
            b"\xff",
            b"DHIP",
            dhip_header(b"") + b"\x00",
            dhip_header(b"[1, 2]") + b"[1, 2]",
            b'{"params": {}}',
            b'{"method": 7}',
            b"{" * 3000,
            b"{ not json",
            framed(b'{"method": "client.notifyDevInfo", "pad": "' + b"A" * 40_000 + b'"}'),
            sadp_codec.build_inquiry(uuid.uuid4()),
        ],
        ids=[
            "empty",
            "ff",
            "magic",
            "header-only",
            "array",
            "no-method",
            "method-int",
            "deep",
            "broken",
            "huge",
            "sadp",
        ],
    )
    def test_things_that_are_not_dhip_raise_decode_error(self, data: bytes) -> None:
        """Empty, one byte, headers alone, non-objects, deep nesting, oversize, SADP: refused."""
        with pytest.raises(DecodeError):
            dhip_codec.parse_reply(data)

    @given(st.binary(max_size=2048))
    def test_random_bytes_raise_only_decode_error(self, data: bytes) -> None:
        """Hostile bytes either parse or raise DecodeError, never anything else."""
        try:
            reply = dhip_codec.parse_reply(data)
        except DecodeError:
            return
        assert reply.text.startswith("{")

    @given(st.binary(max_size=512))
    def test_random_bodies_behind_a_header_raise_only_decode_error(self, body: bytes) -> None:
        """A valid header with a hostile body either parses or raises DecodeError."""
        try:
            reply = dhip_codec.parse_reply(dhip_header(body) + body)
        except DecodeError:
            return
        assert "DHIP" not in reply.text[:1]  # the header never leaks into the evidence text

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "mac",
                        "method",
                        "params",
                        "deviceInfo",
                        "Port",
                        "HttpPort",
                        "SerialNo",
                        "MachineName",
                        "IPv4Address",
                        "IPAddress",
                        "DeviceType",
                        "Vendor",
                    ]
                )
                | st.text(max_size=5),
                children,
                max_size=6,
            )
        ),
        max_leaves=30,
    )

    @given(json_values)
    def test_random_json_raises_only_decode_error(self, value: object) -> None:
        """Any JSON document either parses into sane fields or raises DecodeError."""
        body = json.dumps(value).encode()
        try:
            reply = dhip_codec.parse_reply(dhip_header(body) + body + b"\n\x00")
        except DecodeError:
            return
        assert isinstance(reply.method, str)
        assert all(0 < port < 65536 for port in reply.ports.values())


class TestDhipProbe:
    async def test_probe_reports_devices_and_ignores_rude_senders(self) -> None:
        """Dahua and Lorex replies become evidence; garbage, huge, SADP and echoes are dropped."""
        answers = {
            "127.0.0.2": dhip_device(DAHUA, times=2),
            "127.0.0.3": dhip_device(LOREX),
            "127.0.0.4": constant(b"\x20\x00\x00\x00DHIP\xff\xff garbage"),
            "127.0.0.5": constant(
                framed(b'{"method":"client.notifyDevInfo","x":"' + b"A" * 60_000)
            ),
            "127.0.0.6": echo,
            "127.0.0.1": constant(sadp_codec.build_inquiry(uuid.uuid4())),
        }
        async with responders(answers) as (port, started):
            evidence = await DhipProbe().discover(loopback_ctx(port))
        by_host = sorted((str(e.host), e.channel, e.value) for e in evidence)
        assert by_host == [
            ("127.0.0.2", "dhip", DAHUA.decode().rstrip("\n")),
            ("127.0.0.2", "mac", "4c:11:bf:00:00:01"),
            ("127.0.0.3", "dhip", LOREX.decode().rstrip("\n")),
            ("127.0.0.3", "mac", "00:1f:54:00:00:01"),
        ]
        assert {(e.probe, e.port) for e in evidence} == {("dhip", port)}
        for responder in started.values():
            assert responder.received == [dhip_codec.build_search()]

    async def test_no_answer_is_no_evidence(self) -> None:
        """Silent targets give an empty list, not an error."""
        async with responders({"127.0.0.2": constant()}) as (port, _started):
            assert await DhipProbe().discover(loopback_ctx(port)) == []

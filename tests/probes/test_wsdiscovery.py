"""WS-Discovery: the codec on ProbeMatches from the facts, fuzzing, and loopback round trips."""

from __future__ import annotations

import contextlib
import logging
from ipaddress import IPv4Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camaudit.errors import DecodeError
from camaudit.net import Lane
from camaudit.probes import wsd_codec
from camaudit.probes.wsdiscovery import WsDiscoveryProbe
from camlab.replay import udp_responder
from tests.probes.kit import FIXED_RELATES_TO, answer_probes_with, data, make_ctx, message_id_of

OURS = FIXED_RELATES_TO.decode()
HOST = IPv4Address("127.0.0.1")


class TestCodec:
    def test_build_probe_is_soap12_with_action_types_and_message_id(self) -> None:
        """The Probe carries our MessageID, the discovery Action and the asked-for Types."""
        message_id = wsd_codec.new_message_id()
        probe = wsd_codec.build_probe(message_id, "dn:NetworkVideoTransmitter").decode()
        assert message_id.startswith("urn:uuid:")
        assert f"<a:MessageID>{message_id}</a:MessageID>" in probe
        assert "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>" in probe
        assert "<d:Types>dn:NetworkVideoTransmitter</d:Types>" in probe
        assert 'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"' in probe
        assert 'xmlns:s="http://www.w3.org/2003/05/soap-envelope"' in probe

    def test_message_ids_are_fresh(self) -> None:
        """Every Probe gets its own MessageID."""
        assert wsd_codec.new_message_id() != wsd_codec.new_message_id()

    def test_hikvision_probe_match_fields(self) -> None:
        """The Hikvision sample yields its EPR, Types, XAddrs and the Scopes text as sent."""
        payload = data("wsd/hikvision_probematches.xml")
        [match] = wsd_codec.parse_probe_matches(payload, relates_to={OURS})
        assert match.endpoint == "urn:uuid:aa85c000-6324-11b3-819e-5850ed1fe385"
        assert match.types == "dn:NetworkVideoTransmitter tds:Device"
        assert match.xaddrs.split()[0] == "http://192.168.124.40/onvif/device_service"
        assert "onvif://www.onvif.org/name/HIKVISION%20DS-2CD2385G1-I" in match.scopes
        assert "Profile/G\n   onvif://www.onvif.org/Profile/T" in match.scopes  # inner breaks kept
        assert match.metadata_version == "10"

    @pytest.mark.parametrize(
        ("name", "expected_scope"),
        [
            ("dahua_probematches.xml", "onvif://www.onvif.org/name/Dahua"),
            ("cpplus_probematches.xml", "onvif://www.onvif.org/name/CPPLUS"),
        ],
    )
    def test_dahua_family_scope_layout(self, name: str, expected_scope: str) -> None:
        """Dahua and CP Plus ProbeMatches keep their whole scope layout."""
        [match] = wsd_codec.parse_probe_matches(data(f"wsd/{name}"), relates_to={OURS})
        scopes = match.scopes.split()
        assert expected_scope in scopes
        assert "onvif://www.onvif.org/extension/unique_identifier/1" in scopes
        assert len(scopes) == 7

    def test_printer_reply_is_still_evidence(self) -> None:
        """A WS-Print device answers too; the codec reports it and identify decides."""
        [match] = wsd_codec.parse_probe_matches(
            data("wsd/printer_probematches.xml"), relates_to={OURS}
        )
        assert match.types == "wsdp:Device wprt:PrintDeviceType"
        assert match.scopes == ""
        evidence = match.to_evidence(host=HOST, probe="wsdiscovery", port=3702)
        assert {item.channel for item in evidence} == {"wsd.types", "wsd.xaddrs", "wsd.epr"}

    def test_reply_to_someone_elses_probe_is_refused(self) -> None:
        """A ProbeMatches whose RelatesTo is not one of ours is not taken as an answer."""
        payload = data("wsd/hikvision_probematches.xml")
        with pytest.raises(DecodeError, match="RelatesTo"):
            wsd_codec.parse_probe_matches(payload, relates_to={"urn:uuid:other"})

    def test_reply_without_relates_to_is_accepted(self) -> None:
        """Some stacks omit RelatesTo; the match still counts."""
        payload = data("wsd/hikvision_probematches.xml").replace(
            b"<wsadis:RelatesTo>" + FIXED_RELATES_TO + b"</wsadis:RelatesTo>", b""
        )
        assert len(wsd_codec.parse_probe_matches(payload, relates_to={"urn:uuid:x"})) == 1

    def test_probe_from_another_client_is_not_a_match(self) -> None:
        """Another client's Probe heard on the wire is refused, not parsed as a match."""
        probe = wsd_codec.build_probe(OURS, "tds:Device")
        with pytest.raises(DecodeError, match="no ProbeMatches"):
            wsd_codec.parse_probe_matches(probe, relates_to={"urn:uuid:x"})

    def test_entity_bomb_is_refused(self) -> None:
        """A DOCTYPE with nested entities never gets expanded."""
        bomb = (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
            b"<Envelope>&lol3;</Envelope>"
        )
        with pytest.raises(DecodeError):
            wsd_codec.parse_probe_matches(bomb, relates_to={OURS})

    def test_oversized_payload_is_refused_before_parsing(self) -> None:
        """A huge datagram is refused by size, whatever it contains."""
        huge = data("wsd/hikvision_probematches.xml").replace(
            b"<d:MetadataVersion>", b"<d:MetadataVersion>" + b" " * 40_000
        )
        with pytest.raises(DecodeError, match="bytes"):
            wsd_codec.parse_probe_matches(huge, relates_to={OURS})

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=2048))
    def test_random_bytes_never_crash(self, payload: bytes) -> None:
        """Any datagram gives matches or DecodeError, nothing else."""
        with contextlib.suppress(DecodeError):
            wsd_codec.parse_probe_matches(payload, relates_to={OURS})

    @settings(max_examples=200, deadline=None)
    @given(st.binary(max_size=64), st.integers(min_value=0, max_value=2000))
    def test_mangled_probe_matches_never_crash(self, noise: bytes, at: int) -> None:
        """A real ProbeMatches with bytes spliced in gives matches or DecodeError."""
        payload = data("wsd/hikvision_probematches.xml")
        mangled = payload[:at] + noise + payload[at + len(noise) :]
        with contextlib.suppress(DecodeError):
            wsd_codec.parse_probe_matches(mangled, relates_to={OURS})


class TestLoopback:
    async def test_unicast_probe_match_becomes_evidence(self) -> None:
        """One untyped Probe reaches the device directly; its ProbeMatch becomes wsd.* evidence."""
        handler = answer_probes_with("wsd/hikvision_probematches.xml")
        async with udp_responder(handler) as device:
            ctx = make_ctx(ports={"wsd": device.port})
            evidence = await WsDiscoveryProbe().discover(ctx)
        assert len(device.received) == 1
        # WS-Discovery 1.1 §5.1: a Probe without Types matches every target service.
        assert b"<d:Probe></d:Probe>" in device.received[0]
        assert message_id_of(device.received[0]).startswith(b"urn:uuid:")
        channels = sorted(item.channel for item in evidence)
        assert channels == ["wsd.epr", "wsd.scopes", "wsd.types", "wsd.xaddrs"]
        assert all(item.host == HOST and item.port == device.port for item in evidence)
        assert all(item.probe == "wsdiscovery" for item in evidence)
        [scopes] = [item.value for item in evidence if item.channel == "wsd.scopes"]
        assert "onvif://www.onvif.org/hardware/DS-2CD2385G1-I" in scopes

    async def test_several_devices_types_in_one_reply_burst(self) -> None:
        """Two ProbeMatches per Probe (e.g. camera plus printer stack) are both kept."""
        handler = answer_probes_with("wsd/dahua_probematches.xml", "wsd/printer_probematches.xml")
        async with udp_responder(handler) as device:
            evidence = await WsDiscoveryProbe().discover(make_ctx(ports={"wsd": device.port}))
        types = {item.value for item in evidence if item.channel == "wsd.types"}
        assert types == {
            "dn:NetworkVideoTransmitter tds:Device",
            "wsdp:Device wprt:PrintDeviceType",
        }

    async def test_garbage_is_ignored_and_logged_once(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Garbage answers give no evidence and one warning for the host."""
        async with udp_responder(lambda _probe: [b"\x00\xffnot xml", b"<a>"]) as device:
            with caplog.at_level(logging.WARNING):
                evidence = await WsDiscoveryProbe().discover(make_ctx(ports={"wsd": device.port}))
        assert evidence == []
        warnings = [r for r in caplog.records if "not ProbeMatches" in r.getMessage()]
        assert len(warnings) == 1

    async def test_hostile_bomb_and_huge_replies_are_refused(self) -> None:
        """An entity bomb and a 60 KB reply are dropped while a good reply still counts."""
        bomb = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><Envelope>&a;&a;&a;</Envelope>'

        def handler(probe: bytes) -> list[bytes]:
            good = answer_probes_with("wsd/cpplus_probematches.xml")(probe)
            huge = good[0].replace(
                b"<wsdd:MetadataVersion>", b"<wsdd:MetadataVersion>" + b"9" * 60_000
            )
            return [bomb, huge, *good]

        async with udp_responder(handler) as device:
            evidence = await WsDiscoveryProbe().discover(make_ctx(ports={"wsd": device.port}))
        scopes = [item.value for item in evidence if item.channel == "wsd.scopes"]
        assert len(scopes) == 1
        assert "onvif://www.onvif.org/name/CPPLUS" in scopes[0]

    async def test_silent_device_gives_no_evidence(self) -> None:
        """A device that reads but never answers yields nothing once the listen window ends."""
        async with udp_responder(lambda _probe: []) as device:
            evidence = await WsDiscoveryProbe().discover(make_ctx(ports={"wsd": device.port}))
        assert evidence == []
        assert len(device.received) == 1

    async def test_closed_port_gives_no_evidence(self) -> None:
        """Nothing listening (ICMP port unreachable) is not an error."""
        async with udp_responder(lambda _probe: []) as device:
            port = device.port
        assert await WsDiscoveryProbe().discover(make_ctx(ports={"wsd": port})) == []

    async def test_reply_to_a_stale_probe_is_ignored(self) -> None:
        """A ProbeMatch relating to an earlier scan's Probe is not evidence now."""
        stale = data("wsd/hikvision_probematches.xml").replace(
            FIXED_RELATES_TO, b"urn:uuid:00000000-0000-4000-8000-00000000dead"
        )
        async with udp_responder(lambda _probe: [stale]) as device:
            evidence = await WsDiscoveryProbe().discover(make_ctx(ports={"wsd": device.port}))
        assert evidence == []

    async def test_unicast_sends_wait_for_the_rate_limiter(self) -> None:
        """Every unicast Probe takes a token from the scan's shared limiter."""

        class CountingLimiter:
            def __init__(self) -> None:
                self.calls = 0
                self.lanes: set[Lane] = set()

            async def acquire(self, lane: Lane = Lane.HOST) -> None:
                self.calls += 1
                self.lanes.add(lane)

        limiter = CountingLimiter()
        async with udp_responder(lambda _probe: []) as device:
            ctx = make_ctx("127.0.0.0/30", ports={"wsd": device.port})
            ctx.limiter = limiter  # type: ignore[assignment]
            await WsDiscoveryProbe().discover(ctx)
        assert limiter.calls == 2  # two hosts in a /30, one untyped Probe each
        assert limiter.lanes == {Lane.DISCOVERY}  # ahead of host requests (net.Lane)

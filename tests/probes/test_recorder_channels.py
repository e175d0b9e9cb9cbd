"""Recorder channels: the channel-list codec, and the probe against a camlab NVR on loopback that
lists three cameras behind HTTP Digest."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from ipaddress import IPv4Address

import pytest

from camaudit.errors import DecodeError
from camaudit.identify.judge import judge
from camaudit.identify.loader import load_database
from camaudit.identify.policy import load_policy
from camaudit.models import Evidence
from camaudit.probes import recorder_codec
from camaudit.probes.base import HostTarget, ProbeContext
from camaudit.probes.recorder_channels import (
    CHANNELS_PATH,
    REMOTE_DEVICE_PATH,
    RecorderChannelsProbe,
)
from camlab.loopback import LoopbackSite, device, serving
from camlab.persona import PERSONA_DIR
from camlab.replay import RawHttpResponder
from tests.probes.kit import crlf, loopback_context

NVR = "127.0.0.71"
PERSONA = "hikvision-ds-7608ni-i2-8p"
USER, PASSWORD = "auditor", "lab-Recorder-pass-7"  # the persona's digest account
CAMERA_PASSWORDS = ("lab-camera-Secret-1", "lab-camera-Secret-2", "lab-camera-Secret-3")
CHANNEL_LIST = (PERSONA_DIR / "bodies" / "hik-nvr-input-proxy-channels.xml").read_bytes()


def channel_list(*channels: str) -> bytes:
    inner = "".join(f"<InputProxyChannel>{c}</InputProxyChannel>" for c in channels)
    return f'<InputProxyChannelList xmlns="urn:x">{inner}</InputProxyChannelList>'.encode()


class TestCodec:
    def test_reads_each_camera_and_never_its_account(self) -> None:
        """Channel, name, protocol, address, model, serial and firmware; no user, no password."""
        first, second, third = recorder_codec.parse_input_proxy_channels(CHANNEL_LIST)
        assert first == recorder_codec.AttachedChannel(
            channel=1,
            name="Loading bay",
            protocol="HIKVISION",
            address="192.168.254.2",
            model="DS-2CD2143G0-I",
            serial="DS-2CD2143G0-I20190218AAWRD12345678",
            firmware="V5.5.80 build 190122",
        )
        assert second.name == "Yard <east>"
        assert (third.protocol, third.model) == ("ONVIF", "AXIS P3245-LVE")
        values = " ".join(c.as_evidence_value() for c in (first, second, third))
        for secret in (*CAMERA_PASSWORDS, "admin", "root"):
            assert secret not in values

    def test_entities_are_refused(self) -> None:
        hostile = (
            b'<!DOCTYPE x [<!ENTITY a "aaaa">]><InputProxyChannelList>&a;</InputProxyChannelList>'
        )
        with pytest.raises(DecodeError):
            recorder_codec.parse_input_proxy_channels(hostile)

    def test_another_document_is_not_a_channel_list(self) -> None:
        with pytest.raises(DecodeError, match="DeviceInfo"):
            recorder_codec.parse_input_proxy_channels(b"<DeviceInfo><model>x</model></DeviceInfo>")

    def test_bad_ids_are_skipped_repeats_keep_the_first_and_fields_are_capped(self) -> None:
        body = channel_list(
            "<id>x</id><name>no number</name>",
            "<id>0</id>",
            f"<id>2</id><name>{'n' * 500}</name>",
            "<id>2</id><name>second entry for 2</name>",
        )
        (only,) = recorder_codec.parse_input_proxy_channels(body)
        assert only.channel == 2
        assert only.name == "n" * recorder_codec.MAX_FIELD_CHARS

    def test_the_channel_count_is_capped(self) -> None:
        body = channel_list(*(f"<id>{n}</id>" for n in range(1, 1000)))
        channels = recorder_codec.parse_input_proxy_channels(body)
        assert len(channels) == recorder_codec.MAX_CHANNELS


@pytest.fixture
async def nvr() -> AsyncIterator[tuple[LoopbackSite, int]]:
    """The camlab Hikvision NVR on loopback, HTTP only; (site, its real HTTP port)."""
    async with serving([device(PERSONA, NVR, channels={"http"})]) as site:
        yield site, site.devices[0].bound[("tcp", 80)]


BASIC_ONLY = "127.0.0.72"  # a responder that challenges with Basic only


def context(
    port: int, *, user: str | None, password: str | None, address: str = NVR
) -> ProbeContext:
    ctx = loopback_context(address=address, http_ports=(port,))
    ctx.options = dataclasses.replace(ctx.options, onvif_user=user, onvif_password=password)
    return ctx


def target(port: int, address: str = NVR) -> HostTarget:
    return HostTarget(ip=IPv4Address(address), open_ports=frozenset({port}))


def digest_attempts(site: LoopbackSite) -> list[str]:
    return [r["summary"] for r in site.asked(NVR) if "digest=" in r["summary"]]


async def run(ctx: ProbeContext, host: HostTarget) -> list[Evidence]:
    try:
        return await RecorderChannelsProbe().probe(host, ctx)
    finally:
        await ctx.aclose()


class TestProbe:
    async def test_lists_each_camera_with_one_digest_answer(
        self, nvr: tuple[LoopbackSite, int]
    ) -> None:
        site, port = nvr
        evidence = await run(context(port, user=USER, password=PASSWORD), target(port))
        channels = [e.value for e in evidence if e.channel == "recorder.channel"]
        assert len(channels) == 3
        assert '"model":"DS-2CD2387G2-LU"' in channels[1]
        assert [e.value for e in evidence if e.channel == "recorder.channels"] == [
            f"3 IP channels listed at {CHANNELS_PATH}"
        ]
        assert digest_attempts(site) == [f"GET {CHANNELS_PATH} digest=True"]
        for secret in (PASSWORD, *CAMERA_PASSWORDS):
            assert all(secret not in e.value for e in evidence)

    async def test_without_credentials_nothing_is_sent(self, nvr: tuple[LoopbackSite, int]) -> None:
        site, port = nvr
        assert await run(context(port, user=None, password=None), target(port)) == []
        assert site.asked(NVR) == []

    async def test_wrong_credentials_are_tried_once_and_read_nothing(
        self, nvr: tuple[LoopbackSite, int], caplog: pytest.LogCaptureFixture
    ) -> None:
        site, port = nvr
        wrong = context(port, user=USER, password="wrong")  # noqa: S106 - a wrong password
        assert await run(wrong, target(port)) == []
        assert digest_attempts(site) == [f"GET {CHANNELS_PATH} digest=False"]
        assert "refused the given credentials" in caplog.text

    async def test_a_basic_only_challenge_gets_no_credentials(self) -> None:
        """A device asking for Basic would get the password itself: it gets nothing."""
        challenge = crlf(
            'HTTP/1.1 401 Unauthorized\nWWW-Authenticate: Basic realm="DVR"\nContent-Length: 0\n\n'
        )
        async with RawHttpResponder(default=challenge, address=BASIC_ONLY) as responder:
            ctx = context(responder.port, user=USER, password=PASSWORD, address=BASIC_ONLY)
            assert await run(ctx, target(responder.port, BASIC_ONLY)) == []
        assert responder.requests, "the probe asked once"
        for request in responder.requests:
            assert b"authorization" not in request.head.lower()


class TestJudged:
    async def test_each_camera_behind_the_recorder_is_judged_and_flagged_on_its_own(
        self, nvr: tuple[LoopbackSite, int]
    ) -> None:
        _site, port = nvr
        evidence = await run(context(port, user=USER, password=PASSWORD), target(port))
        own = Evidence(host=IPv4Address(NVR), channel="http.server", value="DNVRS-Webs", probe="x")
        (recorder,) = judge([own, *evidence], load_database(), load_policy("uk-2022"))
        assert recorder.maker == "hikvision"
        assert recorder.flagged
        assert recorder.channels_read
        assert recorder.model is None, "the cameras' models are not the recorder's"
        cameras = {c.recorder_channel: c for c in recorder.attached}
        assert sorted(cameras) == [1, 2, 3]
        assert (cameras[1].maker, cameras[1].model, cameras[1].flagged) == (
            "hikvision",
            "DS-2CD2143G0-I",
            True,
        )
        assert cameras[2].firmware == "V5.7.3 build 220112"
        # The address is the recorder's word for its PoE network, kept as reported; the probe
        # and the scanner never send anything to an attached camera.
        assert cameras[2].ip == IPv4Address("192.168.254.3")
        probes = {item.probe for c in recorder.attached for item in c.evidence}
        assert {p for p in probes if not p.startswith("derived:")} == {"recorder_channels"}
        assert (cameras[3].maker, cameras[3].flagged) == ("axis", False)


XVR = "127.0.0.74"
XVR_PERSONA = "dahua-hcvr-xvr"
XVR_USER, XVR_PASSWORD = "auditor", "lab-Xvr-pass-3"  # the persona's digest account
XVR_CAMERA_PASSWORDS = ("lab-xvr-Camera-1", "lab-xvr-Camera-2", "lab-xvr-Camera-3")
REMOTE_DEVICES = (PERSONA_DIR / "bodies" / "dahua-xvr-remote-device.txt").read_bytes()
SLOT = "table.RemoteDevice.uuid:System_CONFIG_NETCAMERA_INFO_{0}.{1}={2}\n"


def remote_devices(*slots: tuple[int, str, str]) -> bytes:
    return "".join(SLOT.format(*slot) for slot in slots).encode()


class TestRemoteDeviceCodec:
    def test_reads_each_enabled_slot_and_never_its_account(self) -> None:
        """Slot n is channel n+1; a switched-off slot's left-overs are not a camera."""
        first, second = recorder_codec.parse_remote_devices(REMOTE_DEVICES)
        assert first == recorder_codec.AttachedChannel(
            channel=1,
            name="Car park",
            protocol="Private",
            address="10.1.1.65",
            model="IPC-HFW2431S-S-S2",
            serial="5K0A3C2PAZ81F42",
            firmware="2.800.0000000.6.R",
        )
        assert (second.channel, second.name, second.protocol) == (2, "Stairs <north>", "Onvif")
        values = " ".join(c.as_evidence_value() for c in (first, second))
        for secret in (*XVR_CAMERA_PASSWORDS, "admin", "root"):
            assert secret not in values

    def test_a_table_of_switched_off_slots_lists_no_camera(self) -> None:
        body = remote_devices((0, "Enable", "false"), (0, "Address", "192.168.0.0"))
        assert recorder_codec.parse_remote_devices(body) == []

    def test_another_answer_is_not_a_remote_device_table(self) -> None:
        for body in (b"Error\r\nBad Request!\r\n", b"<html>login</html>", b""):
            with pytest.raises(DecodeError):
                recorder_codec.parse_remote_devices(body)

    def test_slots_and_fields_are_capped(self) -> None:
        many = [(n, "Enable", "true") for n in range(1000)]
        many += [(n, "Name", "x" * 500) for n in range(1000)]
        channels = recorder_codec.parse_remote_devices(remote_devices(*many))
        assert len(channels) == recorder_codec.MAX_CHANNELS
        assert channels[0].name == "x" * recorder_codec.MAX_FIELD_CHARS

    def test_an_oversized_answer_is_refused(self) -> None:
        with pytest.raises(DecodeError, match="over"):
            recorder_codec.parse_remote_devices(b"x" * (recorder_codec.MAX_LIST_BYTES + 1))


@pytest.fixture
async def xvr() -> AsyncIterator[tuple[LoopbackSite, int]]:
    """The camlab Dahua XVR on loopback, HTTP only; (site, its real HTTP port)."""
    async with serving([device(XVR_PERSONA, XVR, channels={"http"})]) as site:
        yield site, site.devices[0].bound[("tcp", 80)]


class TestDahuaRecorder:
    async def test_a_dahua_recorder_lists_its_cameras_after_the_hikvision_list_is_absent(
        self, xvr: tuple[LoopbackSite, int]
    ) -> None:
        """The ISAPI path answers 404, then the RemoteDevice table is read with one Digest
        answer; the enabled slots become channels and no password leaves the probe."""
        site, port = xvr
        ctx = context(port, user=XVR_USER, password=XVR_PASSWORD, address=XVR)
        evidence = await run(ctx, target(port, XVR))
        channels = [e.value for e in evidence if e.channel == "recorder.channel"]
        assert len(channels) == 2
        assert '"model":"IPC-HFW2431S-S-S2"' in channels[0]
        assert [e.value for e in evidence if e.channel == "recorder.channels"] == [
            f"2 IP channels listed at {REMOTE_DEVICE_PATH}"
        ]
        asked = [r["summary"] for r in site.asked(XVR)]
        assert any(CHANNELS_PATH in line for line in asked)
        assert [line for line in asked if "digest=" in line] == [
            f"GET {REMOTE_DEVICE_PATH} digest=True"
        ]
        for secret in (XVR_PASSWORD, *XVR_CAMERA_PASSWORDS):
            assert all(secret not in e.value for e in evidence)

    async def test_the_dahua_cameras_are_judged_on_their_own(
        self, xvr: tuple[LoopbackSite, int]
    ) -> None:
        _site, port = xvr
        ctx = context(port, user=XVR_USER, password=XVR_PASSWORD, address=XVR)
        evidence = await run(ctx, target(port, XVR))
        own = Evidence(host=IPv4Address(XVR), channel="rtsp.server", value="Dahua Rtsp Server",
                       probe="x")  # fmt: skip
        (recorder,) = judge([own, *evidence], load_database(), load_policy("uk-2022"))
        cameras = {c.recorder_channel: c for c in recorder.attached}
        assert sorted(cameras) == [1, 2]
        assert (cameras[1].maker, cameras[1].flagged) == ("dahua", True)
        assert cameras[1].serial == "5K0A3C2PAZ81F42"

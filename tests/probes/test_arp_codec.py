"""The hand-written ARP codec against scapy's own layers, and against frames it must refuse."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.l2 import ARP, Ether

from camaudit.probes.arp_codec import FRAME_BYTES, IsAt, read_is_at, who_has

OUR_MAC = bytes.fromhex("02005e0000aa")
OUR_IP = IPv4Address("198.51.100.1")
CAMERA_MAC = "58:50:ed:00:00:02"
CAMERA_IP = IPv4Address("198.51.100.2")


def scapy_reply(**fields: object) -> bytes:
    """An is-at from the camera to us, as scapy builds it, with fields overridden."""
    arp = {"op": 2, "hwsrc": CAMERA_MAC, "psrc": str(CAMERA_IP),
           "hwdst": "02:00:5e:00:00:aa", "pdst": str(OUR_IP), **fields}  # fmt: skip
    return bytes(Ether(dst="02:00:5e:00:00:aa", src=CAMERA_MAC) / ARP(**arp))


def test_who_has_is_the_frame_scapy_builds() -> None:
    """Byte for byte the broadcast request scapy makes for the same question."""
    ours = who_has(OUR_MAC, OUR_IP, CAMERA_IP)
    theirs = bytes(
        Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:5e:00:00:aa")
        / ARP(op=1, hwsrc="02:00:5e:00:00:aa", psrc=str(OUR_IP), pdst=str(CAMERA_IP))
    )
    assert ours == theirs
    assert len(ours) == FRAME_BYTES


def test_scapys_reply_reads_as_the_camera() -> None:
    assert read_is_at(scapy_reply()) == IsAt(ip=CAMERA_IP, mac=CAMERA_MAC)


def test_padding_to_the_ethernet_minimum_is_ignored() -> None:
    """Frames on the wire are padded to 60 bytes; the padding is not part of the answer."""
    assert read_is_at(scapy_reply() + b"\x00" * 18) == IsAt(ip=CAMERA_IP, mac=CAMERA_MAC)


def test_our_own_request_coming_back_is_no_answer() -> None:
    """A packet socket also hands back what we sent."""
    assert read_is_at(who_has(OUR_MAC, OUR_IP, CAMERA_IP)) is None


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(scapy_reply()[: FRAME_BYTES - 1], id="truncated"),
        pytest.param(b"", id="empty"),
        pytest.param(scapy_reply(hwtype=6), id="not-ethernet-hardware"),
        pytest.param(scapy_reply(ptype=0x86DD), id="not-ipv4"),
        pytest.param(scapy_reply(hwlen=8), id="odd-hardware-length"),
        pytest.param(scapy_reply(op=3), id="rarp-opcode"),
        pytest.param(bytes(Ether(type=0x0800) / (b"\x00" * 28)), id="ipv4-frame"),
    ],
)
def test_frames_that_are_not_an_ethernet_ipv4_reply_are_refused(frame: bytes) -> None:
    assert read_is_at(frame) is None


def test_a_reply_claiming_the_zero_mac_names_no_device() -> None:
    """The address is read, but an all-zero MAC is no device's (identity.normalise_mac)."""
    assert read_is_at(scapy_reply(hwsrc="00:00:00:00:00:00")) == IsAt(ip=CAMERA_IP, mac=None)


@given(st.binary(max_size=128))
def test_any_bytes_read_as_an_answer_or_none_never_raise(frame: bytes) -> None:
    answer = read_is_at(frame)
    assert answer is None or isinstance(answer.ip, IPv4Address)

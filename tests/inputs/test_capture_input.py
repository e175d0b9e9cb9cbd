"""`camaudit identify` on a tcpdump capture taken while camaudit scanned the simulated site."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from camaudit.inputs import read_inputs
from tests.inputs.conftest import (
    TCPDUMP,
    SiteArtefacts,
    expected_flagged,
    flagged,
    identify,
    lab_module,
    never_flagged,
    wait_until_listening,
)

SCANNER_ADDRESS = "198.51.100.2"  # the lab's scanner namespace (docs/lab.md)
pytestmark = [pytest.mark.netns, pytest.mark.slow, pytest.mark.timeout(900)]


def test_a_capture_of_a_scan_flags_nearly_every_covered_unit_and_nothing_else(
    artefacts: SiteArtefacts,
) -> None:
    """Judged passively, the capture flags at least 90% of the Hikvision/Dahua units (both
    subnets) and never a device that is not covered."""
    code, report, err = identify(str(artefacts.capture))
    assert code == 0, err
    assert report is not None
    seen = flagged(report)
    wanted = expected_flagged(artefacts.site)
    assert len(seen & wanted) >= 0.9 * len(wanted), f"missed: {sorted(wanted - seen)}"
    assert not seen & never_flagged(artefacts.site)


def test_a_capture_agrees_with_the_scan_it_recorded(artefacts: SiteArtefacts) -> None:
    """Every device the live scan flagged is flagged from its capture too, with the same maker."""
    code, report, _ = identify(str(artefacts.capture))
    assert code == 0
    assert report is not None
    passive = {d["ip"]: d for d in report["devices"]}
    for device in artefacts.scan["devices"]:
        if device["flagged"]:
            assert passive[device["ip"]]["flagged"], device["ip"]
            assert passive[device["ip"]]["maker"] == device["maker"]


def test_every_channel_family_is_read_from_the_wire(artefacts: SiteArtefacts) -> None:
    """ARP, the UDP discovery replies, mDNS, HTTP and RTSP over TCP, and TLS 1.2 certificates all
    yield evidence from the real capture."""
    channels = {item.channel for item in read_inputs([str(artefacts.capture)]).evidence}
    assert {"mac", "sadp", "dhip", "wsd.scopes", "ssdp.server", "mdns.service"} <= channels
    assert {"http.server", "http.title", "http.www_authenticate", "http.path_status"} <= channels
    assert {"rtsp.server", "rtsp.public", "upnp.description", "tls.subject"} <= channels


def test_tls12_certificates_read_like_the_live_probe(artefacts: SiteArtefacts) -> None:
    """A certificate taken from a TLS 1.2 handshake on the wire is written exactly as the live
    TLS probe wrote the same host's certificate."""
    passive = {
        (str(e.host), e.value)
        for e in read_inputs([str(artefacts.capture)]).evidence
        if e.channel == "tls.subject"
    }
    live = {
        (d["ip"], item["value"])
        for d in artefacts.scan["devices"]
        for item in d["evidence"]
        if item["channel"] == "tls.subject"
    }
    assert passive
    assert passive <= live


class TestDamagedCaptures:
    def test_a_capture_cut_mid_packet_is_judged_up_to_the_cut_with_one_warning(
        self, artefacts: SiteArtefacts, tmp_path: Path
    ) -> None:
        """Cut 1,000 bytes before its end, the capture still flags the units heard before the
        cut; exactly one warning line names the byte where reading stopped; exit 0."""
        data = artefacts.capture.read_bytes()
        cut = tmp_path / "cut.pcap"
        cut.write_bytes(data[: len(data) - 1000 + 7])  # +7: inside a packet, not on a boundary
        code, report, err = identify(str(cut))
        assert code == 0, err
        assert report is not None
        warnings = [line for line in err.splitlines() if line.startswith("warning:")]
        assert len(warnings) == 1
        assert "stopped at byte" in warnings[0]
        assert str(cut) in warnings[0]
        assert len(flagged(report)) >= 0.8 * len(expected_flagged(artefacts.site))

    def test_a_gzip_capture_reads_as_the_plain_one(
        self, artefacts: SiteArtefacts, tmp_path: Path
    ) -> None:
        """gzip is undone by content (the name says nothing): same devices, same flags."""
        packed = tmp_path / "capture.bin"
        packed.write_bytes(gzip.compress(artefacts.capture.read_bytes()))
        plain = read_inputs([str(artefacts.capture)])
        compressed = read_inputs([str(packed)])
        assert set(compressed.evidence) == set(plain.evidence)
        assert compressed.warnings == ()

    def test_a_cut_gzip_stream_warns_once_and_keeps_what_was_read(
        self, artefacts: SiteArtefacts, tmp_path: Path
    ) -> None:
        """A gzip file cut short is read up to the cut; one warning, exit 0."""
        packed = gzip.compress(artefacts.capture.read_bytes())
        cut = tmp_path / "cut.gz"
        cut.write_bytes(packed[: len(packed) * 3 // 4])
        batch = read_inputs([str(cut)])
        assert len(batch.warnings) == 1
        assert "uncompressed" in batch.warnings[0]
        assert batch.evidence

    def test_pcapng_reads_as_the_pcap_it_was_converted_from(
        self, artefacts: SiteArtefacts, tmp_path: Path
    ) -> None:
        """The same packets written as pcapng (by scapy's writer) give the same evidence."""
        from scapy.utils import PcapNgWriter, RawPcapReader

        converted = tmp_path / "capture.pcapng"
        with PcapNgWriter(str(converted)) as writer:
            for data, _meta in RawPcapReader(str(artefacts.capture)):
                writer.write(data)
        from_pcapng = read_inputs([str(converted)])
        assert from_pcapng.warnings == ()
        assert set(from_pcapng.evidence) == set(read_inputs([str(artefacts.capture)]).evidence)


def test_identify_sends_nothing(artefacts: SiteArtefacts, tmp_path: Path) -> None:
    """Run inside the scanner namespace with tcpdump listening, identify on the capture and the
    nmap file puts not one packet on the wire."""
    topology = lab_module("topology")
    inside = ["ip", "netns", "exec", topology.ns_scanner(artefacts.labid)]
    quiet = tmp_path / "quiet.pcap"
    listener = subprocess.Popen(
        # NOTE: IP from the scanner's address only: the kernel's own ARP neighbour probes and the
        # devices' traffic are not identify's doing.
        [*inside, *TCPDUMP, "-i", "any", "-Z", "root", "-w", str(quiet)]
        + ["ip", "and", "src", "host", SCANNER_ADDRESS],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wait_until_listening(listener)
    try:
        done = subprocess.run(
            [*inside, sys.executable, "-m", "camaudit", "identify"]
            + [str(artefacts.capture), str(artefacts.nmap_xml), "-o", str(tmp_path / "out.json")],
            capture_output=True,
            timeout=300,
            check=False,
        )
    finally:
        listener.terminate()
        listener.wait(timeout=10)
    assert done.returncode == 0, done.stderr[-2000:]
    count = subprocess.run(
        ["tcpdump", "-n", "-r", str(quiet)], capture_output=True, timeout=60, check=False
    )
    assert count.stdout.strip() == b"", count.stdout[:500]


def _rewrite(source: Path, target: Path, reorder: bool) -> None:
    """`source` written again as pcap, each TCP data segment sent twice and, with `reorder`,
    every pair of neighbouring frames swapped: what a span port delivers on a bad day."""
    import struct

    from camaudit.inputs.frames import Tcp, decode
    from camaudit.inputs.pcap import CaptureReader

    with source.open("rb") as stream:
        frames = [frame.data for frame in CaptureReader(stream, pcapng=False)]
    if reorder:
        for at in range(0, len(frames) - 1, 2):
            frames[at], frames[at + 1] = frames[at + 1], frames[at]
    with target.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for data in frames:
            packet = decode(1, data)
            for _copy in range(2 if isinstance(packet, Tcp) and packet.payload else 1):
                out.write(struct.pack("<IIII", 0, 0, len(data), len(data)) + data)


@pytest.mark.parametrize("reorder", [False, True], ids=["duplicated", "duplicated-and-swapped"])
def test_retransmitted_and_reordered_segments_give_the_same_evidence(
    artefacts: SiteArtefacts, tmp_path: Path, reorder: bool
) -> None:
    """TCP reassembly puts duplicated and out-of-order segments back in sequence."""
    messy = tmp_path / "messy.pcap"
    _rewrite(artefacts.capture, messy, reorder)
    tcp_channels = ("http.", "rtsp.", "tls.", "upnp.")
    clean = set(read_inputs([str(artefacts.capture)]).evidence)
    again = set(read_inputs([str(messy)]).evidence)
    assert {e for e in again if e.channel.startswith(tcp_channels)} == {
        e for e in clean if e.channel.startswith(tcp_channels)
    }


def test_random_damage_is_read_around_never_a_crash(
    artefacts: SiteArtefacts, tmp_path: Path
) -> None:
    """The real capture with a few hundred bytes overwritten at random (seeded) in its second
    half: reading never raises, gives at most one warning, and still judges the intact first
    half. (Damage anywhere may cut the file before its first reply; the capture's layout varies
    from run to run, so the intact part is what makes the test deterministic.)"""
    import random

    data = bytearray(artefacts.capture.read_bytes())
    half = len(data) // 2
    intact = tmp_path / "first-half.pcap"
    intact.write_bytes(bytes(data[:half]))
    assert read_inputs([str(intact)]).evidence, "the capture's first half holds no reply"
    chance = random.Random(12)  # noqa: S311 - reproducible damage, not security
    for trial in range(5):
        damaged = bytearray(data)
        for _byte in range(300):
            damaged[chance.randrange(half, len(damaged))] = chance.randrange(256)
        path = tmp_path / f"damaged-{trial}.pcap"
        path.write_bytes(bytes(damaged))
        batch = read_inputs([str(path)])
        assert len(batch.warnings) <= 1
        assert batch.evidence

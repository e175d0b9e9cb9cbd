"""Input files that are not what they claim: garbage, hostile XML, cut JSON lines, stdin."""

from __future__ import annotations

import gzip
import json
import os
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from camaudit.commands import main
from camaudit.errors import ConfigError
from camaudit.inputs import read_inputs
from camaudit.inputs.detect import Format, sniff

OBSERVATION = {"host": "198.51.100.10", "channel": "http.server", "value": "DNVRS-Webs"}


def run(*args: str, input: bytes | str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["identify", *args], input=input)
    return result.exit_code, result.stdout, result.stderr


class TestNotAnInput:
    @pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
    def test_random_bytes_are_one_line_and_exit_2(self, tmp_path: Path, compressed: bool) -> None:
        """Bytes that start no known format: one line on stderr naming the file, exit 2."""
        garbage = b"\x00\x13" + os.urandom(4096)
        path = tmp_path / "capture.pcap"  # the name is a lie, and is not believed
        path.write_bytes(gzip.compress(garbage) if compressed else garbage)
        code, out, err = run(str(path))
        assert code == 2
        assert out == ""
        assert len(err.strip().splitlines()) == 1
        assert str(path) in err
        assert "not camaudit JSON lines, nmap XML" in err

    def test_a_missing_file_is_a_usage_error(self, tmp_path: Path) -> None:
        """A file that does not exist: exit 2, one line."""
        code, _, err = run(str(tmp_path / "absent.xml"))
        assert code == 2
        assert len(err.strip().splitlines()) == 1

    def test_other_xml_is_not_nmap(self) -> None:
        """XML without <nmaprun> is not taken for an nmap file."""
        assert sniff(b'<?xml version="1.0"?><root><device/></root>') is None
        assert sniff(b'<?xml version="1.0"?>\n<!DOCTYPE nmaprun>\n<nmaprun>') is Format.NMAP_XML


def _nmap_document(doctype: str, body: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?>\n{doctype}\n<nmaprun scanner="nmap">'
        f'<host><address addr="198.51.100.9" addrtype="ipv4"/>{body}</host></nmaprun>\n'
    ).encode()


class TestHostileXml:
    def test_billion_laughs_is_refused_fast_in_little_memory(self, tmp_path: Path) -> None:
        """Nested entity definitions are refused before any expansion: exit 2, one line, quick."""
        entities = '<!ENTITY lol "lol">' + "".join(
            f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
            for n in range(1, 10)
        )
        path = tmp_path / "laughs.xml"
        path.write_bytes(_nmap_document(f"<!DOCTYPE nmaprun [{entities}]>", "&lol9;"))
        tracemalloc.start()
        started = time.monotonic()
        with pytest.raises(ConfigError, match="refused XML construct"):
            read_inputs([str(path)])
        _size, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert time.monotonic() - started < 2.0
        assert peak < 20 * 1024 * 1024
        code, _, err = run(str(path))
        assert code == 2
        assert len(err.strip().splitlines()) == 1

    def test_an_external_entity_is_never_read(self, tmp_path: Path) -> None:
        """An entity naming a local file is refused; the file's content appears nowhere."""
        secret = tmp_path / "secret.txt"
        secret.write_text("TOP-SECRET-VALUE")
        doctype = f'<!DOCTYPE nmaprun [<!ENTITY leak SYSTEM "file://{secret}">]>'
        path = tmp_path / "xxe.xml"
        path.write_bytes(
            _nmap_document(
                doctype, '<hostscript><script id="snmp-sysdescr" output="&leak;"/></hostscript>'
            )
        )
        code, out, err = run(str(path))
        assert code == 2
        assert "TOP-SECRET-VALUE" not in out + err

    def test_a_bare_doctype_as_nmap_writes_it_is_read(self, tmp_path: Path) -> None:
        """nmap's own `<!DOCTYPE nmaprun>` is fine; the host's address is read."""
        path = tmp_path / "plain.xml"
        body = '<address addr="58:50:ED:00:00:01" addrtype="mac"/>'
        path.write_bytes(_nmap_document("<!DOCTYPE nmaprun>", body))
        batch = read_inputs([str(path)])
        assert [(str(e.host), e.channel) for e in batch.evidence] == [("198.51.100.9", "mac")]

    def test_a_cut_nmap_file_keeps_the_hosts_before_the_cut(self, tmp_path: Path) -> None:
        """An nmap run killed mid-write: finished hosts are judged, one warning names the line."""
        whole = _nmap_document(
            "<!DOCTYPE nmaprun>", '<address addr="58:50:ED:00:00:01" addrtype="mac"/>'
        ).decode()
        cut = whole.replace("</nmaprun>", '<host><address addr="198.51.100.8" addrty')
        path = tmp_path / "cut.xml"
        path.write_text(cut)
        batch = read_inputs([str(path)])
        assert {str(e.host) for e in batch.evidence} == {"198.51.100.9"}
        assert len(batch.warnings) == 1
        assert "stopped at line" in batch.warnings[0]


class TestJsonLines:
    def test_a_cut_last_line_is_a_warning_not_an_error(self) -> None:
        """The last line stops mid-object: the earlier lines are judged, exit 0, one warning."""
        text = json.dumps(OBSERVATION) + "\n" + json.dumps(OBSERVATION)[:20]
        code, out, err = run("-", input=text)
        assert code == 0
        assert json.loads(out)["devices"][0]["ip"] == "198.51.100.10"
        assert err.count("warning:") == 1
        assert "line 2" in err

    def test_several_files_and_stdin_are_judged_together(self, tmp_path: Path) -> None:
        """Evidence for one host split over a gzip file and stdin makes one device."""
        first = tmp_path / "a.jsonl.gz"
        first.write_bytes(gzip.compress((json.dumps(OBSERVATION) + "\n").encode()))
        other = dict(OBSERVATION, channel="http.www_authenticate", value='Basic realm="DVRNVRDVS"')
        code, out, err = run(str(first), "-", input=json.dumps(other) + "\n")
        assert code == 0, err
        (device,) = json.loads(out)["devices"]
        assert {item["channel"] for item in device["evidence"]} == {
            "http.server",
            "http.www_authenticate",
        }


class TestDamagedGzip:
    def test_gzip_magic_over_junk_is_one_line_and_exit_2(self, tmp_path: Path) -> None:
        """A file that only starts like gzip: one line, exit 2."""
        path = tmp_path / "junk.gz"
        path.write_bytes(b"\x1f\x8b" + os.urandom(512))
        code, _, err = run(str(path))
        assert code == 2
        assert len(err.strip().splitlines()) == 1

    def test_cut_gzip_json_lines_keep_the_lines_before_the_cut(self, tmp_path: Path) -> None:
        """JSON lines in a gzip stream cut short: the whole lines before the cut are judged."""
        lines = "".join(
            json.dumps(dict(OBSERVATION, host=f"198.51.100.{n}")) + "\n" for n in range(1, 250)
        )
        packed = gzip.compress(lines.encode())
        path = tmp_path / "cut.gz"
        path.write_bytes(packed[: len(packed) // 2])
        batch = read_inputs([str(path)])
        assert len(batch.warnings) == 1
        assert 0 < len({e.host for e in batch.evidence}) < 249


def test_dhcp_names_a_passive_client_by_its_mac_and_host_name(tmp_path: Path) -> None:
    """A DHCP request and the server's ACK (written as pcap by scapy): the client's address gets
    its MAC, host name (option 12) and vendor class (option 60); nothing else is invented."""
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    mac = "58:50:ed:12:34:56"
    chaddr = bytes.fromhex(mac.replace(":", "")) + bytes(10)
    request = (
        Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
        / IP(src="0.0.0.0", dst="255.255.255.255")  # noqa: S104 - a DHCP client has no address yet
        / UDP(sport=68, dport=67)
        / BOOTP(op=1, chaddr=chaddr, xid=7)
        / DHCP(
            options=[
                ("message-type", "request"),
                ("requested_addr", "198.51.100.77"),
                ("hostname", b"HIKVISION-DS-2CD2143"),
                ("vendor_class_id", b"udhcp 1.19.4"),
                "end",
            ]
        )
    )
    ack = (
        Ether(src="02:00:00:00:00:01", dst=mac)
        / IP(src="198.51.100.1", dst="198.51.100.77")
        / UDP(sport=67, dport=68)
        / BOOTP(op=2, chaddr=chaddr, yiaddr="198.51.100.77", xid=7)
        / DHCP(options=[("message-type", "ack"), "end"])
    )
    path = tmp_path / "dhcp.pcap"
    wrpcap(str(path), [request, ack])
    found = {(str(e.host), e.channel, e.value) for e in read_inputs([str(path)]).evidence}
    assert found == {
        ("198.51.100.77", "mac", mac),
        ("198.51.100.77", "dhcp.hostname", "HIKVISION-DS-2CD2143"),
        ("198.51.100.77", "dhcp.vendor_class", "udhcp 1.19.4"),
    }


def _ipv4_frame(protocol: int, sport: int, dport: int, body: bytes) -> bytes:
    """Ethernet + IPv4 + a UDP or TCP header around arbitrary bytes."""
    import struct

    if protocol == 17:
        transport = struct.pack("!HHHH", sport, dport, 8 + len(body), 0) + body
    else:
        transport = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, 0x18, 0, 0, 0) + body
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(transport), 0, 0, 64, protocol, 0,
        bytes([198, 51, 100, 9]), bytes([198, 51, 100, 2]),
    )  # fmt: skip
    return bytes(6) + bytes.fromhex("020000000009") + b"\x08\x00" + ip + transport


PORTS = st.sampled_from([67, 68, 80, 443, 554, 1900, 3702, 5353, 37020, 37810, 40000])
FRAMES = st.one_of(
    st.binary(max_size=600),
    st.builds(_ipv4_frame, st.sampled_from([6, 17]), PORTS, PORTS, st.binary(max_size=600)),
    st.builds(
        _ipv4_frame,
        st.just(6),
        st.sampled_from([80, 554]),
        PORTS,
        st.sampled_from(
            [b"HTTP/1.1 200 OK\r\n", b"RTSP/1.0 401 x\r\n", b"\x16\x03\x03\x00\x10\x02"]
        ).flatmap(lambda head: st.binary(max_size=400).map(lambda tail: head + tail)),
    ),
)


@settings(max_examples=300, deadline=None)
@given(frames=st.lists(FRAMES, max_size=40))
def test_any_frames_after_a_valid_header_never_crash_the_reader(frames: list[bytes]) -> None:
    """Arbitrary frame bytes in a well-formed pcap are decoded or skipped, never an exception."""
    import io
    import struct

    from camaudit.inputs.capture import CaptureJudge
    from camaudit.inputs.pcap import CaptureReader

    data = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1) + b"".join(
        struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame for frame in frames
    )
    judge = CaptureJudge()
    reader = CaptureReader(io.BufferedReader(io.BytesIO(data)), pcapng=False)
    judge.read(reader)
    judge.evidence()
    assert reader.stopped is None
    assert reader.frames == len(frames)

"""Neighbour tables as Linux, macOS and Windows print them, on recorded and published outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from camaudit.identity import normalise_mac
from camaudit.neighbour_table import (
    Neighbour,
    command_for,
    decode_table,
    parse_bsd_arp,
    parse_for,
    parse_ip_neigh,
    parse_proc_net_arp,
    parse_windows_arp,
)

DATA = Path(__file__).parent / "data" / "neighbours"


def recorded(name: str) -> str:
    """A data file's output part (after the `---` line that ends its source notes)."""
    text = (DATA / name).read_text(encoding="utf-8")
    notes, separator, output = text.partition("\n---\n")
    assert separator, f"{name} has no --- line after its source notes"
    assert "#" in notes, f"{name} must start with its source notes"
    return output


def pairs(entries: list[Neighbour]) -> list[tuple[str, str]]:
    return sorted((str(entry.ip), entry.mac) for entry in entries)


# What the namespaces held when linux-ip-neigh-recorded.txt was recorded: .3 never answered.
RECORDED_TABLE = [
    ("198.51.100.2", "58:50:ed:00:00:02"),
    ("198.51.100.4", "4c:11:bf:00:00:04"),
    ("198.51.100.5", "bc:32:5f:00:00:05"),
]


class TestTheThreeFormatsAgree:
    @pytest.mark.parametrize(
        ("parse", "name"),
        [
            (parse_ip_neigh, "linux-ip-neigh-recorded.txt"),
            (parse_proc_net_arp, "linux-proc-net-arp-recorded.txt"),
            (parse_bsd_arp, "same-table.arp-an.txt"),
            (parse_windows_arp, "same-table.arp-a-windows.txt"),
        ],
    )
    def test_one_table_in_every_format_gives_the_same_entries(
        self, parse: object, name: str
    ) -> None:
        """ip neigh, /proc/net/arp, arp -an and arp -a of one table: the same addresses and MACs;
        unresolved, broadcast and multicast rows are dropped by every parser."""
        assert pairs(parse(recorded(name))) == RECORDED_TABLE  # type: ignore[operator]

    def test_devices_are_named_as_each_system_names_them(self) -> None:
        """Linux and macOS name the interface; Windows names it by its own address."""
        assert {e.device for e in parse_ip_neigh(recorded("linux-ip-neigh-recorded.txt"))} == {
            "veth0"
        }
        assert {e.device for e in parse_bsd_arp(recorded("same-table.arp-an.txt"))} == {"en0"}
        windows = parse_windows_arp(recorded("same-table.arp-a-windows.txt"))
        assert {e.device for e in windows} == {"198.51.100.1"}


class TestPublishedOutputs:
    def test_older_iproute2_spelling_keeps_ipv4_rows_with_a_mac(self) -> None:
        """Lower-case `nud` states, IPv6 rows, loopback zero MACs and 0.0.0.0: two hosts remain."""
        assert pairs(parse_ip_neigh(recorded("linux-ip-neigh-published.txt"))) == [
            ("193.233.7.254", "00:00:0c:00:00:01"),
            ("193.233.7.85", "00:e0:1e:00:00:02"),
        ]

    def test_macos_single_digit_octets_are_padded_and_masked_or_incomplete_rows_dropped(
        self,
    ) -> None:
        """0:c:29:0:0:5 is 00:0c:29:00:00:05; X-masked MACs, (incomplete), the broadcast row
        and the multicast row name no device."""
        assert pairs(parse_bsd_arp(recorded("macos-arp-published.txt"))) == [
            ("100.68.0.5", "00:0c:29:00:00:05"),
            ("100.68.0.6", "00:0c:29:00:00:06"),
            ("100.68.1.13", "8c:85:90:00:06:13"),
            ("100.68.1.149", "e8:b2:ac:00:01:0f"),
        ]

    def test_windows_in_korean_reads_like_windows_in_english(self) -> None:
        """Translated headers and types do not matter: each section's device rows are kept
        under that section's interface address; static broadcast and multicast rows are not."""
        korean = parse_windows_arp(recorded("windows-arp-a-korean.txt"))
        assert [(str(e.ip), e.mac, e.device) for e in korean] == [
            ("172.30.1.254", "88:3c:1c:00:00:fe", "172.30.1.57"),
            ("169.254.28.101", "dc:a6:32:00:00:01", "192.168.137.1"),
        ]
        english = parse_windows_arp(recorded("windows-arp-a-english.txt"))
        assert [(str(e.ip), e.mac, e.device) for e in english] == [
            ("10.0.0.99", "00:e0:98:00:00:99", "10.0.0.1")
        ]

    def test_a_korean_console_code_page_decodes_to_the_same_entries(self) -> None:
        """The bytes a Korean console writes (cp949) parse like the text: only ASCII is read."""
        text = recorded("windows-arp-a-korean.txt")
        assert parse_windows_arp(decode_table(text.encode("cp949"))) == parse_windows_arp(text)


class TestEdges:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("0:c:29:4:37:a4", "00:0c:29:04:37:a4"),
            ("80-FA-5B-5D-40-91", "80:fa:5b:5d:40:91"),
            ("58:50:ed:1f:e3:85", "58:50:ed:1f:e3:85"),
            ("0:c:XX:X:XX:XX", None),
            ("(incomplete)", None),
            ("1:2:3:4:5", None),
        ],
    )
    def test_macs_in_every_system_spelling(self, text: str, expected: str | None) -> None:
        """macOS unpadded, Windows dashed upper case, Linux colon form; masks and words: None."""
        assert normalise_mac(text) == expected

    def test_each_platform_has_its_command_and_parser(self) -> None:
        """The command each system prints its table with, and the parser that reads it."""
        assert command_for("linux") == ("ip", "-4", "neigh", "show")
        assert command_for("darwin") == ("arp", "-an")
        assert command_for("freebsd14") == ("arp", "-an")
        assert command_for("win32") == ("arp", "-a")
        windows = recorded("same-table.arp-a-windows.txt")
        assert parse_for("win32", windows) == parse_windows_arp(windows)
        assert parse_for("darwin", windows) == []  # the wrong parser finds nothing, no crash

    def test_hostile_text_gives_nothing_and_no_error(self) -> None:
        """Garbage, huge lines and truncated rows are skipped."""
        junk = "\n".join(["x" * 10_000, "198.51.100.9 dev", "? (1.2.3.4) at", "\x00\xff", ""])
        for parse in (parse_ip_neigh, parse_bsd_arp, parse_windows_arp, parse_proc_net_arp):
            assert parse(junk) == []

    def test_output_is_capped_before_decoding(self) -> None:
        """A table command that never stops printing is read up to the byte cap."""
        assert len(decode_table(b"a" * (8 * 1024 * 1024))) == 4 * 1024 * 1024

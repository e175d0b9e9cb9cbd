"""OUI lookup over 24-, 28- and 36-bit IEEE blocks, longest first."""

from __future__ import annotations

from pathlib import Path

import pytest

from camaudit.identify import oui


def test_hikvision_ma_l_block() -> None:
    """58:50:ED is a 24-bit Hikvision block."""
    entry = oui.lookup("58:50:ed:1f:e3:85")
    assert entry is not None
    assert entry.bits == 24
    assert "Hikvision" in entry.registrant


def test_dahua_scale_factory_is_not_dahua_technology() -> None:
    """40:2C:76:1x is a 28-bit block of an unrelated scale maker, not Zhejiang Dahua."""
    entry = oui.lookup("40:2c:76:1a:bc:de")
    assert entry is not None
    assert entry.bits == 28
    assert entry.registrant == "Shanghai Dahua Scale Factory"
    assert "Zhejiang" not in entry.registrant


def test_neighbouring_28_bit_block_has_another_owner() -> None:
    """40:2C:76:0x belongs to someone else: the 28-bit split is honoured."""
    entry = oui.lookup("40:2c:76:0a:bc:de")
    assert entry is not None
    assert "Dahua" not in entry.registrant


def test_hikrobot_28_bit_block() -> None:
    """B0:B3:53:6x is Hangzhou Hikrobot (Hikvision group), not another B0:B3:53 holder."""
    entry = oui.lookup("B0B3.536F.0001")
    assert entry is not None
    assert entry.registrant.startswith("Hangzhou Hikrobot")
    other = oui.lookup("b0:b3:53:7f:00:01")
    assert other is not None
    assert "Hikrobot" not in other.registrant


def test_36_bit_block_wins_over_shorter() -> None:
    """A 36-bit MA-S entry is found for an address inside it."""
    entry = oui.lookup("00:1b:c5:00:00:12")
    assert entry is not None
    assert entry.bits == 36


@pytest.mark.parametrize("mac", ["02:50:ed:1f:e3:85", "not a mac", "58:50:ed", ""])
def test_no_answer_for_local_or_malformed(mac: str) -> None:
    """Locally administered and malformed addresses are never looked up."""
    assert oui.lookup(mac) is None


def test_override_file_replaces_the_bundled_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CAMAUDIT_OUI_FILE points at a newer snapshot in the same format."""
    snapshot = tmp_path / "manuf"
    snapshot.write_text(
        "# test snapshot\n58:50:ED\tNewName\tNew Registrant Ltd\n"
        "10:34:56:70/28\tMid\tMid Block Co\n",
        encoding="utf-8",
    )
    monkeypatch.setenv(oui.OVERRIDE_ENV, str(snapshot))
    renamed = oui.lookup("58:50:ed:00:00:01")
    assert renamed is not None
    assert renamed.registrant == "New Registrant Ltd"
    assert oui.lookup("10:34:56:60:00:00") is None  # outside the 28-bit block
    entry = oui.lookup("10:34:56:7f:00:00")
    assert entry is not None
    assert (entry.registrant, entry.bits) == ("Mid Block Co", 28)


def test_searching_the_shipped_file_answers_as_reading_it_whole() -> None:
    """The per-OUI search (a scan's few lookups) and the whole-file index give the same entry
    for MACs in 24-, 28- and 36-bit blocks, in unassigned space, and past the point where the
    search turns into an index (more than SEARCHES_BEFORE_INDEX distinct OUIs)."""
    text = oui._manuf_text()
    whole = oui.parse_manuf(text)
    searched = oui.SearchedRegistry(text)
    assigned = sorted(whole.blocks[24])
    macs = [
        0x5850ED1FE385,  # Hikvision, 24-bit
        0x402C761ABCDE,  # 28-bit block
        0x001BC5000015,  # 36-bit block inside a 24-bit registration
        0x70B3D5000000,  # registration authority space without this block
        0xFEFFFFFFFFFF,  # nothing
    ]
    step = len(assigned) // (oui.SearchedRegistry.SEARCHES_BEFORE_INDEX * 2)
    macs += [(prefix << 24) | 0x123456 for prefix in assigned[::step]]
    assert len({mac >> 24 for mac in macs}) > oui.SearchedRegistry.SEARCHES_BEFORE_INDEX
    for mac in macs:
        assert searched.lookup(mac) == whole.lookup(mac), hex(mac)

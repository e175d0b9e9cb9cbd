"""Comparing two scans: devices matched by MAC, then serial, then IP."""

from __future__ import annotations

from inventory_samples import device, scan

from camaudit.inventory.diff import diff


def test_same_scan_has_no_changes() -> None:
    """A scan compared with itself is empty."""
    one = scan(1, device("198.51.100.5", mac="58:50:ed:00:00:05"))
    assert diff(one, one).empty


def test_device_that_moved_ip_is_changed_not_added() -> None:
    """Same MAC at a new IP is one device with an ip change."""
    old = scan(1, device("198.51.100.5", mac="58:50:ed:00:00:05"))
    new = scan(2, device("198.51.100.50", mac="58:50:ED:00:00:05"))
    result = diff(old, new)
    assert not result.added
    assert not result.removed
    assert [(c.field, c.old, c.new) for c in result.changed[0].changes] == [
        ("ip", "198.51.100.5", "198.51.100.50")
    ]


def test_serial_matches_when_mac_is_unknown() -> None:
    """Without MACs, the serial pairs devices; firmware and flag changes are reported."""
    old = scan(1, device("198.51.100.5", serial="SN1", firmware="V1", flagged=False))
    new = scan(2, device("198.51.100.9", serial="SN1", firmware="V2", flagged=True))
    changes = {c.field: (c.old, c.new) for c in diff(old, new).changed[0].changes}
    assert changes == {"ip": ("198.51.100.5", "198.51.100.9"), "firmware": ("V1", "V2"),
                       "flagged": ("no", "yes")}  # fmt: skip


def test_ip_matches_only_when_nothing_contradicts() -> None:
    """An IP reused by a different MAC is one device removed and one added."""
    old = scan(1, device("198.51.100.5", mac="58:50:ed:00:00:05"), device("198.51.100.7"))
    new = scan(2, device("198.51.100.5", mac="4c:11:bf:00:00:05", maker="dahua"),
               device("198.51.100.7", model="DS-2CD2142"))  # fmt: skip
    result = diff(old, new)
    assert [str(d.ip) for d in result.added] == ["198.51.100.5"]
    assert [str(d.ip) for d in result.removed] == ["198.51.100.5"]
    assert [(c.field, c.new) for c in result.changed[0].changes] == [("model", "DS-2CD2142")]


def test_maker_change_is_reported() -> None:
    """A re-identified maker shows up as a change."""
    old = scan(1, device("198.51.100.5", mac="00:1f:54:00:00:01", maker="unknown"))
    new = scan(2, device("198.51.100.5", mac="00:1f:54:00:00:01", maker="dahua"))
    assert diff(old, new).changed[0].changes[0].field == "maker"

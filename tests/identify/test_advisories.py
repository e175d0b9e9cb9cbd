"""The advisory table: firmware strings compared as vendors print them, unknown firmware said."""

from __future__ import annotations

from datetime import date
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from camaudit.errors import ConfigError
from camaudit.identify.advisories import advisories_for, load_advisories, read_firmware
from camaudit.models import AdvisoryStatus, Device

HOST = IPv4Address("198.51.100.10")


def device(maker: str, model: str | None, firmware: str | None) -> Device:
    return Device(ip=HOST, maker=maker, model=model, firmware=firmware)


def ids(found: object) -> list[tuple[str, str]]:
    return [(a.id, a.status.value) for a in found]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "version", "built"),
    [
        ("V5.4.0 build 160530", (5, 4, 0), date(2016, 5, 30)),
        ("V5.5.801build 211105", (5, 5, 801), date(2021, 11, 5)),
        ("V5.5.82_build190220", (5, 5, 82), date(2019, 2, 20)),
        ("2.800.0000000.5.R, Build Date: 2021-07-23", (2, 800, 0, 5), date(2021, 7, 23)),
        ("2.400.0.8", (2, 400, 0, 8), None),
        ("unknown", None, None),
    ],
)
def test_firmware_strings_read_as_vendors_print_them(
    text: str, version: tuple[int, ...] | None, built: date | None
) -> None:
    firmware = read_firmware(text)
    assert (firmware.version, firmware.built) == (version, built)


def test_shipped_table_loads_and_every_entry_links_somewhere_public() -> None:
    table = load_advisories()
    assert {"CVE-2017-7921", "CVE-2021-36260", "CVE-2021-33044", "CVE-2021-33045"} <= {
        a.id for a in table
    }
    assert all(url.startswith("https://") for a in table for _, url in a.links)


def test_hikvision_build_before_the_fix_is_affected_and_one_after_is_not() -> None:
    """CVE-2021-36260: builds before 210628 are affected; a 211105 build is not listed."""
    old = advisories_for(
        device("hikvision", "DS-2CD2346G2-IU", "V5.5.800 build 210609"), load_advisories()
    )
    new = advisories_for(
        device("hikvision", "DS-2CD2346G2-IU", "V5.5.801build 211105"), load_advisories()
    )
    assert ("CVE-2021-36260", "affected") in ids(old)
    assert "CVE-2021-36260" not in [a.id for a in new]


def test_no_firmware_read_says_firmware_unknown() -> None:
    found = advisories_for(device("hikvision", "DS-2CD2346G2-IU", None), load_advisories())
    assert ("CVE-2021-36260", "firmware unknown") in ids(found)


def test_other_makers_get_none_of_the_family_advisories() -> None:
    assert advisories_for(device("axis", "P3225-LV Mk II", "9.80.1"), load_advisories()) == ()


def test_known_exploited_and_affected_come_first() -> None:
    found = advisories_for(device("dahua", "IPC-HDW5421S", "2.400.0.8"), load_advisories())
    assert found, "Dahua login-bypass advisories cover every Dahua model"
    assert all(a.known_exploited for a in found[:2])
    statuses = [a.status for a in found]
    assert statuses == sorted(statuses, key=lambda s: s is not AdvisoryStatus.AFFECTED)


def test_an_entry_without_a_public_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text(
        '[[advisory]]\nid = "CVE-0000-0001"\ntitle = "t"\nmaker = "hikvision"\n'
        'links = { nvd = "/home/someone/notes.txt" }\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="public https"):
        load_advisories(tmp_path)

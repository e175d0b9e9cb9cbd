"""Policies flag listed makers when identification is confirmed or likely."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest

from camaudit.errors import ConfigError
from camaudit.identify.policy import available_policies, load_policy
from camaudit.models import Device, Verdict


def device(maker: str | None, verdict: Verdict, brand: str | None = None) -> Device:
    """A merged device as identify would return it."""
    return Device(ip=IPv4Address("198.51.100.30"), maker=maker, verdict=verdict, brand=brand)


def test_shipped_policies_are_listed() -> None:
    """Both shipped policies load and carry sources."""
    assert {"uk-2022", "ndaa-889", "fcc-covered"} <= set(available_policies())
    for name in available_policies():
        policy = load_policy(name)
        assert policy.id == name
        assert policy.as_of is not None  # every pack says which text it follows
        assert policy.sources
        assert all(s.url.startswith(("https://", "http://")) for s in policy.sources)
        assert all(entry.source for entry in policy.makers)


def test_fcc_covered_flags_the_listed_equipment_makers_only() -> None:
    """The Covered List's five equipment makers (and Hikvision's subsidiary), nothing else."""
    policy = load_policy("fcc-covered")
    assert {e.maker for e in policy.makers} == {
        "hikvision", "hikrobot", "dahua", "hytera", "huawei", "zte"}  # fmt: skip
    assert any(s.url == "https://www.fcc.gov/supplychain/coveredlist" for s in policy.sources)
    assert policy.apply(device("zte", Verdict.CONFIRMED)).flagged
    assert policy.apply(device("dahua", Verdict.LIKELY, brand="Lorex")).flagged
    for other in ("axis", "hanwha", "uniview", "hisilicon"):
        assert not policy.apply(device(other, Verdict.CONFIRMED)).flagged, other


def test_a_malformed_as_of_is_refused(tmp_path: Path) -> None:
    """as_of must be a date; anything else is a one-line ConfigError naming the file."""
    path = tmp_path / "dated.toml"
    path.write_text(
        'id = "dated"\ntitle = "t"\nas_of = "last spring"\n'
        '[[makers]]\nmaker = "dahua"\nreason = "r"\nsource = "https://example.org/"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="as_of must be a date"):
        load_policy(str(path))


@pytest.mark.parametrize("verdict", [Verdict.CONFIRMED, Verdict.LIKELY])
def test_listed_maker_is_flagged_when_sure_enough(verdict: Verdict) -> None:
    """Dahua, likely, brand Lorex: flagged, and the reason says all of it."""
    flagged = load_policy("uk-2022").apply(device("dahua", verdict, brand="Lorex"))
    assert flagged.flagged
    assert flagged.flag_reason is not None
    assert flagged.flag_reason.startswith(
        f"made by Dahua ({verdict.value}; brand Lorex) - uk-2022: "
    )


@pytest.mark.parametrize("verdict", [Verdict.POSSIBLE, Verdict.UNKNOWN])
def test_weak_verdicts_are_not_flagged(verdict: Verdict) -> None:
    """A possible Hikvision is reported but not flagged."""
    assert not load_policy("uk-2022").apply(device("hikvision", verdict)).flagged


def test_unlisted_maker_is_not_flagged() -> None:
    """Huawei is outside uk-2022 but inside ndaa-889."""
    huawei = device("huawei", Verdict.CONFIRMED, brand="Huawei")
    assert not load_policy("uk-2022").apply(huawei).flagged
    result = load_policy("ndaa-889").apply(huawei)
    assert result.flagged
    assert result.flag_reason is not None
    assert "brand" not in result.flag_reason  # brand equals the maker's name: not repeated


def test_policy_from_a_path(tmp_path: Path) -> None:
    """A user policy file is loaded by path."""
    path = tmp_path / "mine.toml"
    path.write_text(
        'id = "mine"\ntitle = "Mine"\n[[makers]]\nmaker = "axis"\nreason = "test"\nsource = "x"\n',
        encoding="utf-8",
    )
    assert load_policy(str(path)).apply(device("axis", Verdict.CONFIRMED)).flagged


def test_unknown_policy_names_the_choices() -> None:
    """A typo lists the available policies."""
    with pytest.raises(ConfigError, match="uk-2022"):
        load_policy("uk-2023")

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
    assert {"uk-2022", "ndaa-889"} <= set(available_policies())
    for name in available_policies():
        policy = load_policy(name)
        assert policy.id == name
        assert policy.sources
        assert all(entry.source for entry in policy.makers)


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

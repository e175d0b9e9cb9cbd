"""The probe registry: unique names, a test module and a README row for every probe."""

from __future__ import annotations

from pathlib import Path

import pytest

from camaudit.probes import ALL_PROBES, PROBE_NAMES
from camaudit.probes.base import DiscoveryProbe, HostProbe

ROOT = Path(__file__).resolve().parents[2]


def test_probe_names_are_unique() -> None:
    """Names are CLI choices and report keys: no two probes share one."""
    assert len(set(PROBE_NAMES)) == len(PROBE_NAMES)


@pytest.mark.parametrize("probe", ALL_PROBES, ids=lambda probe: probe.name)
def test_every_probe_is_one_of_the_two_kinds(probe: type) -> None:
    """The scanner dispatches on the kind; anything else would be silently ignored."""
    assert issubclass(probe, DiscoveryProbe) != issubclass(probe, HostProbe)


@pytest.mark.parametrize("name", PROBE_NAMES)
def test_every_probe_has_its_own_test_module(name: str) -> None:
    """Each probe is tested against real sockets in tests/probes/test_<name>.py."""
    assert (ROOT / "tests" / "probes" / f"test_{name}.py").is_file()


@pytest.mark.parametrize("name", PROBE_NAMES)
def test_every_probe_says_what_it_sends_in_the_readme(name: str) -> None:
    """Users read what each probe sends, where, and with which privileges."""
    assert f"| `{name}` |" in (ROOT / "README.md").read_text(encoding="utf-8")

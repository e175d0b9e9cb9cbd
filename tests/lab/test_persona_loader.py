"""The persona and site loaders accept the contract and refuse what breaks it."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest

from camlab.errors import LabError
from camlab.persona import SELFTEST_DIR, Instance, derive_mac, load_all, load_persona
from camlab.site import SITES_DIR, load_site, site_path, to_plan

MINIMAL = """
id = "{stem}"
title = "t"
sources = ["s"]
mac_prefix = "58:50:ed"
[expect]
maker = "hikvision"
brand = "Hikvision"
device_type = "ip-camera"
flagged = true
channels = ["rtsp"]
[vars]
model = "M"
serial = "SERIAL12345"
[rtsp]
port = 554
describe_headers = [["WWW-Authenticate", 'Digest realm="IP Camera({serial_tail})"']]
"""


def write(tmp_path: Path, text: str, stem: str = "p") -> Path:
    path = tmp_path / f"{stem}.toml"
    path.write_text(text.replace("{stem}", stem), encoding="utf-8")
    return path


def test_every_shipped_and_selftest_persona_loads() -> None:
    """All persona files in the repository pass the loader's checks."""
    personas = load_all() | load_all([SELFTEST_DIR])
    assert len(personas) >= 4
    assert all(p.expect.channels for p in personas.values() if p.expect.maker)


def test_minimal_persona_renders_placeholders(tmp_path: Path) -> None:
    """Placeholders are filled per instance; doubled braces stay literal."""
    persona = load_persona(write(tmp_path, MINIMAL))
    instance = Instance(
        persona=persona,
        ip=IPv4Address("198.51.100.9"),
        mac="58:50:ed:00:00:01",
        channels=frozenset({"rtsp"}),
    )
    header = instance.render(persona.raw["rtsp"]["describe_headers"])[0][1]
    assert header == 'Digest realm="IP Camera(12345)"'
    assert instance.render("{mac_dash} {mac_hex} {{x}}") == "58-50-ed-00-00-01 5850ED000001 {x}"
    assert instance.values()["nonce"] != instance.values()["nonce"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace('id = "p"', 'id = "other"'), "file stem"),
        (lambda t: t.replace("58:50:ed", "01:00:5e"), "multicast"),
        (lambda t: t.replace("58:50:ed", "zz"), "mac_prefix"),
        (lambda t: t.replace("{serial_tail}", "{nosuch}"), "unknown placeholder"),
        (lambda t: t.replace('channels = ["rtsp"]', 'channels = ["sadp"]'), "no such section"),
        (lambda t: t.replace('channels = ["rtsp"]', 'channels = ["telnet"]'), "unknown"),
        (lambda t: t + "\n[bogus]\nx = 1\n", "unknown keys"),
        (lambda t: t.replace("port = 554", 'port = "554"'), "expected"),
    ],
)
def test_broken_personas_are_refused_with_a_reason(
    tmp_path: Path, change: object, message: str
) -> None:
    """Each contract violation is a LabError naming the file and the problem."""
    text = change(MINIMAL.replace("{stem}", "p"))  # type: ignore[operator]
    with pytest.raises(LabError, match=message):
        load_persona(write(tmp_path, text))


def test_derived_macs_keep_the_prefix_and_differ_per_seed() -> None:
    """MACs are prefix + derived bytes, or prefix + the given suffix."""
    assert derive_mac("58:50:ed", "x", "1f:e3:85") == "58:50:ed:1f:e3:85"
    first, second = derive_mac("58:50:ed", "a"), derive_mac("58:50:ed", "b")
    assert first.startswith("58:50:ed:")
    assert first != second
    assert derive_mac("40:2c:76:1", "a").startswith("40:2c:76:1")
    with pytest.raises(LabError):
        derive_mac("58:50:ed", "x", "1f:e3")


def test_selftest_site_places_devices_in_lab_ranges() -> None:
    """The self-test site loads; addresses are in the lab ranges and unique."""
    site = load_site(SITES_DIR / "selftest.toml")
    ips = [str(d.ip) for d in site.devices]
    assert len(ips) == len(set(ips))
    assert str(site.scanner_ip) == "198.51.100.2"
    plan = to_plan(site, labid="x")
    assert plan["devices"][0]["netns"] == "cal-x-d1"
    restricted = next(d for d in site.devices if d.ip == IPv4Address("198.51.100.30"))
    assert restricted.instance.channels == {"rtsp", "arp"}


def test_default_site_uses_the_shipped_personas() -> None:
    """The default site loads with every device on the lan or the routed annex."""
    site = load_site(site_path("default"))
    assert {s.name for s in site.subnets} == {"lan", "annex"}
    assert len(site.devices) >= 20


@pytest.mark.parametrize(
    "cidr", ["192.168.1.0/24", "10.0.0.0/24", "192.0.2.0/24", "203.0.113.0/24", "198.51.0.0/16"]
)
def test_sites_outside_the_lab_ranges_are_refused(tmp_path: Path, cidr: str) -> None:
    """Only 198.51.100.0/24 and 198.18.0.0/15 may ever be used."""
    path = tmp_path / "s.toml"
    path.write_text(f'[[subnet]]\nname = "lan"\ncidr = "{cidr}"\n', encoding="utf-8")
    with pytest.raises(LabError, match="outside the lab ranges"):
        load_site(path)


def test_scale_adds_reproducible_filler_on_routed_subnets() -> None:
    """--scale N adds N devices on 198.18.16.0/20 subnets, the same for the same seed."""
    base = load_site(SITES_DIR / "selftest.toml")
    scaled = load_site(SITES_DIR / "selftest.toml", scale=250, seed="s")
    again = load_site(SITES_DIR / "selftest.toml", scale=250, seed="s")
    assert len(scaled.devices) == len(base.devices) + 250
    assert [d.instance.persona.id for d in scaled.devices] == [
        d.instance.persona.id for d in again.devices
    ]
    filler = scaled.devices[len(base.devices) :]
    assert all(d.subnet.routed and str(d.ip).startswith("198.18.1") for d in filler)

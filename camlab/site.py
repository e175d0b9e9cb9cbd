"""Site files: which personas sit where in the simulated site, resolved to addresses and MACs."""

from __future__ import annotations

import json
import random
import tomllib
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

from camlab.errors import LabError
from camlab.persona import CHANNELS, Instance, Persona, derive_mac, find_persona, persona_dirs

SITES_DIR = Path(__file__).parent / "sites"
# The only ranges the lab may ever use (RFC 5737 TEST-NET-2 and RFC 2544 benchmarking): nothing
# here can collide with a real network the host is on.
ALLOWED_NETWORKS = (IPv4Network("198.51.100.0/24"), IPv4Network("198.18.0.0/15"))
ROUTER_HOST = 1  # the router is .1 on every subnet
SCANNER_HOST = 2  # the scanner is .2 on the first (non-routed) subnet
SCALE_SUPERNET = IPv4Network("198.18.16.0/20")  # filler devices for --scale (/24s inside it)


@dataclass(frozen=True, slots=True, kw_only=True)
class Subnet:
    """One segment of the site (a bridge); `routed` ones sit behind the router."""

    name: str
    index: int
    network: IPv4Network
    routed: bool

    @property
    def router(self) -> IPv4Address:
        """The router's address on this segment."""
        return self.network.network_address + ROUTER_HOST


@dataclass(frozen=True, slots=True, kw_only=True)
class PlacedDevice:
    """A persona instance placed on a subnet; `number` names its namespace (cal-<id>-d<N>)."""

    number: int
    subnet: Subnet
    instance: Instance

    @property
    def ip(self) -> IPv4Address:
        """The device's address."""
        return self.instance.ip


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """A whole simulated site: subnets and devices; the scanner sits on subnets[0]."""

    name: str
    subnets: tuple[Subnet, ...]
    devices: tuple[PlacedDevice, ...]

    @property
    def lan(self) -> Subnet:
        """The scanner's own segment."""
        return self.subnets[0]

    @property
    def scanner_ip(self) -> IPv4Address:
        """The scanner's address."""
        return self.lan.network.network_address + SCANNER_HOST

    def device_by_ip(self, ip: IPv4Address | str) -> PlacedDevice:
        """The device at an address (LabError if none)."""
        for device in self.devices:
            if str(device.ip) == str(ip):
                return device
        raise LabError(f"no device at {ip}")


def _check_network(network: IPv4Network, where: str) -> None:
    if not any(network.subnet_of(allowed) for allowed in ALLOWED_NETWORKS):
        raise LabError(
            f"{where}: {network} is outside the lab ranges 198.51.100.0/24 and 198.18.0.0/15"
        )


def _parse_subnets(raw: list[dict[str, Any]], where: str) -> list[Subnet]:
    subnets: list[Subnet] = []
    for index, item in enumerate(raw):
        try:
            network = IPv4Network(item["cidr"])
            name = str(item["name"])
        except (KeyError, ValueError) as exc:
            raise LabError(f"{where}: subnet {index}: {exc}") from None
        _check_network(network, where)
        if network.prefixlen > 29:
            raise LabError(f"{where}: subnet {name} is too small")
        if any(network.overlaps(other.network) for other in subnets):
            raise LabError(f"{where}: subnet {name} overlaps another subnet")
        subnets.append(
            Subnet(name=name, index=index, network=network, routed=bool(item.get("routed", False)))
        )
    if not subnets or subnets[0].routed:
        raise LabError(f"{where}: the first subnet must be the scanner's own, not routed")
    return subnets


def _place(
    number: int,
    persona: Persona,
    subnet: Subnet,
    host: int,
    mac_suffix: str | None,
    channels: list[str] | None,
) -> PlacedDevice:
    ip = subnet.network.network_address + host
    if (
        ip not in subnet.network
        or host in (0, ROUTER_HOST, SCANNER_HOST)
        or ip == subnet.network.broadcast_address
    ):
        raise LabError(
            f"device {number}: host {host} is not a free device address in {subnet.network}"
        )
    allowed = persona.speaks() | {"arp"}
    if channels is not None:
        unknown = set(channels) - CHANNELS
        if unknown:
            raise LabError(f"device {number}: unknown channels {sorted(unknown)}")
        allowed &= frozenset(channels) | {"arp"}
    mac = derive_mac(persona.mac_prefix, f"{subnet.network}|{host}", mac_suffix)
    instance = Instance(persona=persona, ip=ip, mac=mac, channels=frozenset(allowed))
    return PlacedDevice(number=number, subnet=subnet, instance=instance)


def load_site(
    path: Path, *, dirs: list[Path] | None = None, scale: int = 0, seed: str = "lab"
) -> Site:
    """Read a site file and place its personas; `scale` adds filler devices on 198.18.16.0/20."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LabError(f"site {path}: {exc}") from None
    where = f"site {path.name}"
    subnets = _parse_subnets(raw.get("subnet", []), where)
    by_name = {subnet.name: subnet for subnet in subnets}
    personas: dict[str, Persona] = {}
    devices: list[PlacedDevice] = []
    used: set[IPv4Address] = set()
    for index, item in enumerate(raw.get("device", [])):
        persona_id = str(item.get("persona", ""))
        if persona_id not in personas:
            personas[persona_id] = find_persona(persona_id, dirs)
        subnet = by_name.get(str(item.get("subnet", "")))
        if subnet is None:
            raise LabError(f"{where}: device {index}: unknown subnet {item.get('subnet')!r}")
        device = _place(
            index + 1,
            personas[persona_id],
            subnet,
            int(item.get("host", 0)),
            item.get("mac_suffix"),
            item.get("channels"),
        )
        if device.ip in used:
            raise LabError(f"{where}: two devices at {device.ip}")
        used.add(device.ip)
        devices.append(device)
    if scale:
        subnets, devices = _add_filler(subnets, devices, list(personas.values()), scale, seed)
    return Site(
        name=str(raw.get("name", path.stem)), subnets=tuple(subnets), devices=tuple(devices)
    )


def _add_filler(
    subnets: list[Subnet],
    devices: list[PlacedDevice],
    personas: list[Persona],
    count: int,
    seed: str,
) -> tuple[list[Subnet], list[PlacedDevice]]:
    """`count` extra devices with random personas, 200 to a routed /24 in SCALE_SUPERNET."""
    if not personas:
        raise LabError("--scale needs at least one persona in the site")
    if count > 200 * 16:
        raise LabError("--scale is limited to 3200 devices")
    chooser = random.Random(seed)  # noqa: S311 - reproducible choice, not security
    subnets = list(subnets)
    devices = list(devices)
    blocks = list(SCALE_SUPERNET.subnets(new_prefix=24))
    for offset in range(count):
        block = blocks[offset // 200]
        name = f"fill{offset // 200}"
        if not any(subnet.name == name for subnet in subnets):
            if any(block.overlaps(subnet.network) for subnet in subnets):
                raise LabError(f"--scale subnet {block} overlaps a site subnet")
            subnets.append(Subnet(name=name, index=len(subnets), network=block, routed=True))
        subnet = next(subnet for subnet in subnets if subnet.name == name)
        persona = chooser.choice(personas)
        devices.append(_place(len(devices) + 1, persona, subnet, 10 + offset % 200, None, None))
    return subnets, devices


def site_path(name_or_path: str) -> Path:
    """A site file from a name in camlab/sites/ or a path."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        return candidate
    return SITES_DIR / f"{name_or_path}.toml"


def to_plan(site: Site, *, labid: str, dirs: list[Path] | None = None) -> dict[str, Any]:
    """The JSON-serialisable plan `lab up` hands the responder (and `status` reads back)."""
    return {
        "labid": labid,
        "site": site.name,
        "persona_dirs": [str(d) for d in (dirs or persona_dirs(include_selftest=True))],
        "scanner_ip": str(site.scanner_ip),
        "subnets": [
            {"name": s.name, "cidr": str(s.network), "routed": s.routed, "router": str(s.router)}
            for s in site.subnets
        ],
        "devices": [
            {
                "number": d.number,
                "netns": f"cal-{labid}-d{d.number}",
                "persona": d.instance.persona.id,
                "subnet": d.subnet.name,
                "ip": str(d.ip),
                "prefixlen": d.subnet.network.prefixlen,
                "mac": d.instance.mac,
                "channels": sorted(d.instance.channels),
            }
            for d in site.devices
        ],
    }


def instances_from_plan(plan: dict[str, Any]) -> list[tuple[dict[str, Any], Instance]]:
    """Rebuild persona instances from a plan (the responder runs in another process)."""
    dirs = [Path(d) for d in plan["persona_dirs"]]
    cache: dict[str, Persona] = {}
    result: list[tuple[dict[str, Any], Instance]] = []
    for entry in plan["devices"]:
        if entry["persona"] not in cache:
            cache[entry["persona"]] = find_persona(entry["persona"], dirs)
        instance = Instance(
            persona=cache[entry["persona"]],
            ip=IPv4Address(entry["ip"]),
            mac=entry["mac"],
            channels=frozenset(entry["channels"]),
        )
        result.append((entry, instance))
    return result


def write_plan(plan: dict[str, Any], path: Path) -> None:
    """Store a plan as JSON."""
    path.write_text(json.dumps(plan, indent=1), encoding="utf-8")

"""What a scan would send, worked out before anything is sent (`camaudit scan --dry-run`).

build_plan() reads only the scope, the options, the chosen interfaces and facts about this
machine; it opens no socket. A network owner reads the plan to approve a scan.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from ipaddress import IPv4Address
from typing import Any

from camaudit import hostos
from camaudit.errors import ConfigError
from camaudit.liveness import SWEEP_CONCURRENCY
from camaudit.net import Interface
from camaudit.options import ScanOptions
from camaudit.probes import PROBE_CHOICES, SWEEP_NAME, sweep_selected
from camaudit.probes.dhip import DHIP_GROUP
from camaudit.probes.recorder_channels import CHANNEL_LISTS
from camaudit.probes.sadp import SADP_GROUP
from camaudit.probes.ssdp import SSDP_GROUP
from camaudit.probes.ssdp_codec import SEARCH_TARGETS
from camaudit.probes.vendor_http import VENDOR_REQUESTS
from camaudit.probes.wsd_codec import PROBE_TYPES
from camaudit.probes.wsdiscovery import WSD_GROUP
from camaudit.scanner import select_probes, sweep_ports
from camaudit.targets import Scope

MDNS_GROUP = "224.0.0.251"  # RFC 6762 §3 (zeroconf sends to it; the constant is not exported)
MAX_RANGES_LISTED = 64  # a scope of scattered addresses is summarised past this many ranges


@dataclass(frozen=True, slots=True, kw_only=True)
class HostFacts:
    """What this machine allows, as far as the plan is concerned."""

    platform: str
    privileged: bool
    packet_sockets: bool

    @classmethod
    def here(cls) -> HostFacts:
        """This machine, now."""
        return cls(
            platform=hostos.platform_label(),
            privileged=hostos.is_privileged(),
            packet_sockets=hostos.has_packet_sockets(),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedProbe:
    """One probe of the plan: what it sends, where, and how many rate-limited sends it makes."""

    name: str
    stage: str  # "discovery" (every target, at once), "sweep", or "host" (live hosts only)
    sends: str
    unicast: str  # to each target, or to each live host
    groups: tuple[str, ...] = ()  # multicast/broadcast destinations, with the interface
    sends_before_hosts: int = 0  # datagrams/frames/connections sent in the first phase
    requests_per_host: int = 0  # host probes: at most this many requests per live host
    privileges: str = "none"
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedInterface:
    """An interface multicast and broadcast discovery would use."""

    name: str
    address: str
    network: str
    mac: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanPlan:
    """Everything `scan` would do with these arguments, and what it would cost."""

    platform: str
    privileged: bool
    targets: tuple[str, ...]
    excluded: tuple[str, ...]
    address_count: int
    address_ranges: tuple[str, ...]
    multicast: bool
    interfaces: tuple[PlannedInterface, ...]
    probes: tuple[PlannedProbe, ...]
    rate: float
    concurrency: int
    sends_before_hosts: int
    listen_s: float
    first_phase_s: float  # sending everything at the rate limit, then the last listening window
    requests_per_live_host: int  # host probes, summed: the second phase costs this per live host
    request_timeout_s: float
    skipped: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready data (`scan --dry-run -f json`)."""
        return {"schema": "camaudit.plan/1", **asdict(self)}


def build_plan(
    scope: Scope,
    options: ScanOptions,
    interfaces: Sequence[Interface],
    *,
    host: HostFacts | None = None,
) -> ScanPlan:
    """The plan of a scan of `scope` with `options`, multicasting on `interfaces`."""
    host = host or HostFacts.here()
    count = scope.size()
    multicast_on = tuple(i for i in interfaces if i.multicast) if options.multicast else ()
    chosen = [probe.name for probe in select_probes(options)]
    if sweep_selected(options.probes, options.skip_probes):
        chosen.insert(_sweep_position(chosen), SWEEP_NAME)
    planned = tuple(_plan_probe(name, count, options, multicast_on, scope, host) for name in chosen)
    sends = sum(p.sends_before_hosts for p in planned)
    listen_s = max((_listen_s(p.name, options) for p in planned if p.stage != "host"), default=0.0)
    sweep_tail = options.connect_timeout_s if SWEEP_NAME in chosen else 0.0
    return ScanPlan(
        platform=host.platform,
        privileged=host.privileged,
        targets=scope.labels,
        excluded=tuple(str(net) for net in scope.excluded),
        address_count=count,
        address_ranges=address_ranges(scope.addresses()),
        multicast=bool(multicast_on),
        interfaces=tuple(
            PlannedInterface(
                name=i.name, address=str(i.address.ip), network=str(i.network), mac=i.mac
            )
            for i in multicast_on
        ),
        probes=planned,
        rate=options.rate,
        concurrency=options.concurrency,
        sends_before_hosts=sends,
        listen_s=listen_s,
        first_phase_s=round(sends / options.rate + max(listen_s, sweep_tail), 1),
        requests_per_live_host=sum(p.requests_per_host for p in planned),
        request_timeout_s=options.request_timeout_s,
        skipped=tuple(name for name in PROBE_CHOICES if name not in chosen),
    )


def refuse_host_names(targets: Iterable[str]) -> None:
    """A dry run sends nothing, and resolving a host name would send a DNS query."""
    names = [t for t in targets if any(c.isalpha() for c in t) and "/" not in t]
    if names:
        raise ConfigError(
            f"--dry-run resolves no host names (that would send DNS queries): {', '.join(names)}; "
            "give addresses, networks or ranges"
        )


def _sweep_position(chosen: list[str]) -> int:
    """The sweep is listed where the README's table has it: after discovery, before hosts."""
    order = {name: index for index, name in enumerate(PROBE_CHOICES)}
    sweep_at = order[SWEEP_NAME]
    return sum(1 for name in chosen if order[name] < sweep_at)


def address_ranges(addresses: Iterable[IPv4Address]) -> tuple[str, ...]:
    """Consecutive addresses as "first-last" ranges, in order (a /24 is one range)."""
    ranges: list[tuple[IPv4Address, IPv4Address]] = []
    for address in sorted(addresses):
        if ranges and int(address) == int(ranges[-1][1]) + 1:
            ranges[-1] = (ranges[-1][0], address)
        else:
            ranges.append((address, address))
    texts = [str(a) if a == b else f"{a}-{b}" for a, b in ranges]
    if len(texts) > MAX_RANGES_LISTED:
        hidden = len(texts) - MAX_RANGES_LISTED
        texts = [*texts[:MAX_RANGES_LISTED], f"... and {hidden} more ranges"]
    return tuple(texts)


def _listen_s(name: str, options: ScanOptions) -> float:
    windows = {
        "wsdiscovery": options.wsd_listen_s,
        "mdns": options.mdns_listen_s,
        "ssdp": options.ssdp_listen_s,
        "sadp": options.sadp_listen_s,
        "dhip": options.dhip_listen_s,
        "arp": options.arp_listen_s,
    }
    return windows.get(name, 0.0)


def _on(group: str, port: int, interfaces: Sequence[Interface]) -> tuple[str, ...]:
    return tuple(f"{group}:{port} on {i.name}" for i in interfaces)


def _plan_probe(
    name: str,
    count: int,
    options: ScanOptions,
    interfaces: Sequence[Interface],
    scope: Scope,
    host: HostFacts,
) -> PlannedProbe:
    """One probe's entry; the wording follows the README's "What it sends" table."""
    each = f"of each of the {count} addresses"
    swept = sweep_selected(options.probes, options.skip_probes)
    # With the sweep on, directed discovery waits for its reachability pass and goes to the live
    # hosts alone; the count below is then the most it can send.
    each_live = f"of each live one of the {count} addresses" if swept else each
    if name == "wsdiscovery":
        port = options.port("wsd")
        return PlannedProbe(
            name=name,
            stage="discovery",
            sends=f"WS-Discovery Probe ({', '.join(PROBE_TYPES)} to the group; untyped directly)",
            unicast=f"UDP {port} {each_live}",
            groups=_on(WSD_GROUP, port, interfaces),
            sends_before_hosts=count + len(PROBE_TYPES) * len(interfaces),
        )
    if name == "mdns":
        port = options.port("mdns")
        return PlannedProbe(
            name=name,
            stage="discovery",
            sends="DNS-SD PTR queries for camera service types and _services._dns-sd._udp",
            unicast=(
                f"UDP {port} {each_live} (legacy unicast); follow-up queries only to responders"
            ),
            groups=_on(MDNS_GROUP, port, interfaces),
            sends_before_hosts=count,
        )
    if name == "ssdp":
        port = options.port("ssdp")
        return PlannedProbe(
            name=name,
            stage="discovery",
            sends="SSDP M-SEARCH; then GET of the description URL a device names on itself",
            unicast=f"UDP {port} {each_live} (one ssdp:all)",
            groups=_on(SSDP_GROUP, port, interfaces),
            sends_before_hosts=count + len(SEARCH_TARGETS) * len(interfaces),
        )
    if name == "sadp":
        port = options.port("sadp")
        return PlannedProbe(
            name=name,
            stage="discovery",
            sends="Hikvision SADP inquiry (XML)",
            unicast=f"UDP {port} {each_live}",
            groups=_on(SADP_GROUP, port, interfaces),
            sends_before_hosts=count + len(interfaces),
            note=f"binds UDP {port}" if interfaces else "",
        )
    if name == "dhip":
        port = options.port("dhip")
        broadcasts = tuple(
            f"{i.network.broadcast_address}:{port} on {i.name}"
            for i in interfaces
            if i.network.prefixlen < 31
        )
        return PlannedProbe(
            name=name,
            stage="discovery",
            sends="Dahua DHIP DHDiscover.search",
            unicast=f"UDP {port} {each_live}",
            groups=_on(DHIP_GROUP, port, interfaces) + broadcasts,
            sends_before_hosts=count + len(interfaces) + len(broadcasts),
            note=f"binds UDP {port}" if interfaces else "",
        )
    if name == "arp":
        return _plan_arp(options, interfaces, scope, host)
    if name == SWEEP_NAME:
        ports = sweep_ports(options)
        return PlannedProbe(
            name=name,
            stage="sweep",
            sends="TCP connect (closed at once)",
            unicast=(
                f"TCP {ports[0]} {each} (reachability); "
                f"{', '.join(map(str, ports[1:])) or 'nothing more'} of the live ones"
            ),
            sends_before_hosts=count,
            note=(
                f"at most {SWEEP_CONCURRENCY} connects pending at once; "
                f"then {len(ports) - 1} connect(s) per live host"
            ),
        )
    return _plan_host_probe(name, options)


def _plan_arp(
    options: ScanOptions, interfaces: Sequence[Interface], scope: Scope, host: HostFacts
) -> PlannedProbe:
    on_link = sum(
        1
        for address in scope.addresses()
        if any(address in i.network and address != i.address.ip for i in interfaces)
    )
    sweeps = on_link > 0 and host.packet_sockets and host.privileged
    if sweeps:
        note = "then reads the system neighbour table"
    elif not host.packet_sockets:
        note = f"no ARP sweep on {host.platform}: reads the neighbour table only (sends nothing)"
    elif not host.privileged:
        note = "not root: reads the neighbour table only (sends nothing)"
    else:
        note = "no target is on a chosen interface's network: reads the neighbour table only"
    return PlannedProbe(
        name="arp",
        stage="discovery",
        sends="ARP who-has" if sweeps else "nothing",
        unicast=f"{on_link} on-link addresses, on {', '.join(i.name for i in interfaces)}"
        if sweeps
        else "",
        sends_before_hosts=on_link if sweeps else 0,
        privileges="root (CAP_NET_RAW) and Linux for the sweep",
        note=note,
    )


def _plan_host_probe(name: str, options: ScanOptions) -> PlannedProbe:
    web_ports = (*options.http_ports, *options.https_ports)
    ports = ", ".join(map(str, web_ports))
    if name == "http_banner":
        return PlannedProbe(
            name=name,
            stage="host",
            sends="GET /, GET /favicon.ico (TLS handshake on HTTPS ports)",
            unicast=f"TCP {ports} of live hosts, where open",
            requests_per_host=2 * len(web_ports),
        )
    if name == "vendor_http":
        paths = ", ".join(request.path for request in VENDOR_REQUESTS)
        return PlannedProbe(
            name=name,
            stage="host",
            sends=f"the read-only requests a browser opening the login page sends ({paths})",
            unicast=f"TCP {ports} of live hosts, where open",
            requests_per_host=len(VENDOR_REQUESTS) * len(web_ports),
        )
    if name == "rtsp":
        return PlannedProbe(
            name=name,
            stage="host",
            sends="RTSP OPTIONS and DESCRIBE",
            unicast=f"TCP {options.port('rtsp')} of live hosts, where open",
            requests_per_host=2,
        )
    if name == "onvif":
        http = ", ".join(map(str, options.http_ports))
        with_credentials = "with your credentials" if options.has_credentials else "no credentials"
        return PlannedProbe(
            name=name,
            stage="host",
            sends=f"GetSystemDateAndTime, GetDeviceInformation ({with_credentials})",
            unicast=f"the device service the host announced (XAddrs), else TCP {http} if open",
            requests_per_host=2,
        )
    if name == "recorder_channels":
        if not options.has_credentials:
            return PlannedProbe(
                name=name,
                stage="host",
                sends="nothing (it runs only with credentials)",
                unicast="",
                requests_per_host=0,
            )
        return PlannedProbe(
            name=name,
            stage="host",
            sends=(
                f"GET {' or '.join(listing.path for listing in CHANNEL_LISTS)}, answered with "
                "HTTP Digest (your credentials)"
            ),
            unicast=f"TCP {ports} of live hosts, one port after another until one answers",
            requests_per_host=2 * len(CHANNEL_LISTS) * len(web_ports),
        )
    raise ValueError(f"no plan entry for probe {name!r}")  # a new probe needs one: see tests

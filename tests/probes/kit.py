"""What the probe tests share besides their devices (those are camlab's, camlab.replay):
the captured payloads in tests/data, and probe contexts scoped to one loopback address."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from camaudit.net import Interface, RateLimiter, Sockets
from camaudit.options import ScanOptions
from camaudit.probes.base import HostTarget, ProbeContext
from camaudit.targets import Scope, build_scope
from camlab import replay

DATA = Path(__file__).resolve().parent.parent / "data"
LOOPBACK = "127.0.0.1"
FIXED_RELATES_TO = b"urn:uuid:3f8a2f62-5c1e-4a6e-9d3b-000000000001"  # placeholder in tests/data/wsd


def load(relative: str) -> bytes:
    """A captured or reconstructed payload from tests/data."""
    return (DATA / relative).read_bytes()


data = load  # the discovery tests' name for it


def crlf(text: str) -> bytes:
    """A text reply with LF line ends turned into the CRLF the protocols use."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("latin-1")


def loopback_context(
    *,
    ports: Mapping[str, int] | None = None,
    http_ports: tuple[int, ...] = (),
    https_ports: tuple[int, ...] = (),
    tcp_ports: tuple[int, ...] = (),
    address: str = LOOPBACK,
    request_timeout_s: float = 1.0,
    connect_timeout_s: float = 0.5,
    mdns_listen_s: float = 0.3,
    max_read_bytes: int = 256 * 1024,
    interfaces: tuple[Interface, ...] = (),
) -> ProbeContext:
    """A probe context scoped to one loopback address, with fast timings and no multicast."""
    options = ScanOptions(
        ports=dict(ports or {}),
        http_ports=http_ports,
        https_ports=https_ports,
        tcp_ports=tcp_ports,
        request_timeout_s=request_timeout_s,
        connect_timeout_s=connect_timeout_s,
        mdns_listen_s=mdns_listen_s,
        max_read_bytes=max_read_bytes,
        multicast=False,
    )
    return ProbeContext(
        options=options,
        scope=Scope(networks=(IPv4Network(f"{address}/32"),)),
        sockets=Sockets(),
        limiter=RateLimiter(10_000.0),
        interfaces=interfaces,
    )


def make_ctx(address: str = LOOPBACK, **overrides: object) -> ProbeContext:
    """A probe context scoped to one loopback address, unicast only (no multicast here)."""
    timing: dict[str, object] = {
        "wsd_listen_s": 0.3,
        "ssdp_listen_s": 0.3,
        "request_timeout_s": 1.0,
        "connect_timeout_s": 0.5,
    }
    timing.update(overrides)
    options = ScanOptions(**timing)  # type: ignore[arg-type]
    return ProbeContext(
        options=options,
        scope=build_scope([address], resolve=False),
        sockets=Sockets(),
        interfaces=(),
    )


def host(*ports: int, address: str = LOOPBACK) -> HostTarget:
    """A host target on loopback with the given ports open."""
    return HostTarget(ip=IPv4Address(address), open_ports=frozenset(ports))


def message_id_of(probe: bytes) -> bytes:
    """The MessageID of a WS-Discovery Probe (regex: the device is not the code under test)."""
    found = re.search(rb"<(?:\w+:)?MessageID>([^<]+)</", probe)
    assert found is not None, probe
    return found.group(1)


def answer_probes_with(*files: str) -> replay.Answer:
    """A WS-Discovery device answering with the captured ProbeMatches, related to each Probe."""
    return replay.relating([data(name) for name in files], FIXED_RELATES_TO, message_id_of)


def ssdp_reply(template: str, *, ip: IPv4Address | str, port: int) -> bytes:
    """An SSDP reply from tests/data/ssdp with {ip}/{port} filled in."""
    return (
        data(f"ssdp/{template}")
        .replace(b"{ip}", str(ip).encode())
        .replace(b"{port}", str(port).encode())
    )


def _captured_onvif_replies() -> dict[str, bytes]:
    return {
        "system_date_and_time": data("onvif/system_date_and_time.xml"),
        "device_information": data("onvif/device_information.xml"),
        "fault": data("onvif/fault_not_authorized.xml"),
    }


@dataclass
class OnvifDevice(replay.OnvifDevice):
    """camlab's ONVIF device service answering with the captured replies in tests/data/onvif."""

    replies: Mapping[str, bytes] = field(default_factory=_captured_onvif_replies)

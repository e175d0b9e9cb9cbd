"""The simulated devices on loopback: no root, no namespaces, unicast only.

Each device gets its own 127.0.0.x address. Every persona port is served on one port number
that the kernel picks (ephemeral), the same number on every device's address, so a single
`camaudit scan 127.0.0.10-20 --http-port P ...` reaches them all and parallel runs on one
machine never clash over fixed ports. Replies go to loopback unicast only (see
`responder.reply_allowed`): nothing here can send through a real interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

from camlab.device import DeviceContext, RequestLog
from camlab.errors import LabError
from camlab.persona import Instance, Persona, derive_mac, find_persona
from camlab.responder import Responder, loopback_device
from camlab.site import Site

FIRST_ADDRESS = IPv4Address("127.0.0.10")
BIND_ATTEMPTS = 20  # a kernel-picked number can be taken on another 127.0.0.x: pick again
THREAD_START_S = 30.0
# The scanner's name for each UDP channel's port option (`camaudit scan --port NAME=PORT`).
RTSP_PORT = 554
UDP_OPTION = {3702: "wsd", 37020: "sadp", 37810: "dhip", 1900: "ssdp", 5353: "mdns"}


@dataclass
class SharedPorts:
    """Persona port -> the one real port every device serves it on (chosen by the first bind)."""

    chosen: dict[tuple[str, int], int] = field(default_factory=dict)

    def map_port(self, port: int) -> int:
        """The real port for a persona port: the chosen one, or 0 (let the kernel pick)."""
        return next((real for (_p, persona), real in self.chosen.items() if persona == port), 0)

    def learn(self, device: DeviceContext) -> None:
        """Remember the ports a device was just bound to."""
        for key, real in device.bound.items():
            self.chosen.setdefault(key, real)

    def real(self, proto: str, port: int) -> int | None:
        """The real port of a persona port, if any device serves it."""
        return self.chosen.get((proto, port))


@dataclass
class LoopbackSite:
    """Devices being served on loopback: who is where, on which ports, and what they were asked."""

    responder: Responder
    requests: RequestLog
    ports: SharedPorts

    @property
    def devices(self) -> list[DeviceContext]:
        """Every device, in the order added."""
        return self.responder.devices

    def device(self, persona_id: str) -> DeviceContext:
        """The first device playing this persona."""
        return next(d for d in self.devices if d.instance.persona.id == persona_id)

    @property
    def first(self) -> IPv4Address:
        """The lowest device address."""
        return min(d.instance.ip for d in self.devices)

    @property
    def last(self) -> IPv4Address:
        """The highest device address."""
        return max(d.instance.ip for d in self.devices)

    def targets(self) -> list[str]:
        """Every device address, one target each."""
        return [str(device.instance.ip) for device in self.devices]

    def web_ports(self) -> tuple[set[int], set[int]]:
        """Persona ports some device serves HTTP on, and those it serves HTTPS on."""
        plain: set[int] = set()
        tls: set[int] = set()
        for device in self.devices:
            persona = device.persona
            for spec in persona.get("http", []):
                (tls if spec.get("tls") else plain).add(int(spec["port"]))
            if "onvif" in persona:
                plain.add(int(persona["onvif"]["port"]))
            if "ssdp" in persona:
                plain.add(int(persona["ssdp"].get("location_port", 80)))
        return plain, tls

    def scan_options(self) -> list[str]:
        """`camaudit scan` options that point every probe at the ports really served (bare
        open ports of a persona's [tcp] table have no option and stay unswept)."""
        options: list[str] = []
        plain, tls = self.web_ports()
        for (proto, port), real in sorted(self.ports.chosen.items()):
            if proto == "udp" and port in UDP_OPTION:
                options += ["--port", f"{UDP_OPTION[port]}={real}"]
            elif proto == "tcp" and port == RTSP_PORT:
                options += ["--port", f"rtsp={real}"]
            elif proto == "tcp" and port in tls:
                options += ["--https-port", str(real)]
            elif proto == "tcp" and port in plain:
                options += ["--http-port", str(real)]
        return options

    def asked(self, ip: IPv4Address | str) -> list[dict[str, Any]]:
        """Every request logged by the device at this address."""
        return [r for r in self.requests.records if r["ip"] == str(ip)]


def device(
    persona_id: str,
    ip: IPv4Address | str,
    *,
    channels: Iterable[str] | None = None,
    persona: Persona | None = None,
) -> Instance:
    """One device to serve: a persona (by id, or given) at a loopback address, answering on
    all its channels or only on `channels`."""
    chosen = persona if persona is not None else find_persona(persona_id)
    address = IPv4Address(ip)
    if not address.is_loopback:
        raise LabError(f"loopback devices must stay in 127.0.0.0/8, not {address}")
    return Instance(
        persona=chosen,
        ip=address,
        mac=derive_mac(chosen.mac_prefix, str(address)),
        channels=frozenset(channels) if channels is not None else chosen.speaks(),
    )


def place(instances: Iterable[Instance], first: IPv4Address = FIRST_ADDRESS) -> list[Instance]:
    """The same devices moved to consecutive loopback addresses from `first`."""
    placed = [
        Instance(persona=i.persona, ip=first + index, mac=i.mac, channels=i.channels)
        for index, i in enumerate(instances)
    ]
    if placed and not (placed[0].ip.is_loopback and placed[-1].ip.is_loopback):
        raise LabError(f"loopback devices must stay in 127.0.0.0/8, not {placed[-1].ip}")
    return placed


def site_instances(site: Site, first: IPv4Address = FIRST_ADDRESS) -> list[Instance]:
    """A site's devices on loopback (its addresses and subnets are dropped, MACs kept)."""
    return place((device.instance for device in site.devices), first)


def _open(instances: list[Instance], requests: RequestLog) -> tuple[Responder, SharedPorts]:
    for _attempt in range(BIND_ATTEMPTS):
        responder, ports = Responder(), SharedPorts()
        try:
            for number, instance in enumerate(instances, start=1):
                device = loopback_device(number, instance, requests)
                device.map_port = ports.map_port
                responder.add_device(device)
                ports.learn(device)
        except OSError as exc:
            responder.discard()
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        return responder, ports
    raise LabError(f"no port numbers free on all {len(instances)} loopback addresses")


@contextlib.asynccontextmanager
async def serving(instances: Iterable[Instance]) -> AsyncIterator[LoopbackSite]:
    """Serve the devices on the running loop for the length of the block."""
    requests = RequestLog(None)
    responder, ports = _open(list(instances), requests)
    await responder.start()
    try:
        yield LoopbackSite(responder=responder, requests=requests, ports=ports)
    finally:
        await responder.stop()


@contextlib.contextmanager
def serving_in_thread(instances: Iterable[Instance]) -> Iterator[LoopbackSite]:
    """Serve the devices from a loop in a background thread (for callers that are not async,
    such as a CLI run that starts its own event loop)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="camlab-loopback", daemon=True)
    thread.start()
    entered = serving(list(instances))
    try:
        site = asyncio.run_coroutine_threadsafe(entered.__aenter__(), loop).result(THREAD_START_S)
        try:
            yield site
        finally:
            exit_ = entered.__aexit__(None, None, None)
            asyncio.run_coroutine_threadsafe(exit_, loop).result(THREAD_START_S)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(THREAD_START_S)
        loop.close()

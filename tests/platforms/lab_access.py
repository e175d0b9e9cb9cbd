"""The one place the platform tests name the simulated site's package.

The simulated site is the top-level camlab package, beside camaudit.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable
from ipaddress import IPv4Address

from camlab import control, device, persona, responder, serve_discovery, site, topology

__all__ = ["UDP_CHANNELS", "control", "loopback_site", "topology"]

UDP_CHANNELS = frozenset(serve_discovery.UDP_CHANNELS)  # "wsdiscovery", "sadp", ...


def free_port() -> int:
    """A port that is free on loopback for both TCP and UDP right now (kernel-chosen)."""
    for _attempt in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both TCP and UDP on loopback")


@dataclasses.dataclass
class LoopbackSite:
    """A site served in-process on 127.0.0.x, every device on the same ephemeral port numbers."""

    responder: responder.Responder
    requests: device.RequestLog  # every device's requests, each record naming its device
    instances: list[persona.Instance]
    ports: dict[int, int]  # persona port -> real port, the same for every device

    def real(self, port: int) -> int:
        """Where a persona port is served (the scan is told with --port / --http-port)."""
        return self.ports[port]


def loopback_site(name: str, first: IPv4Address) -> LoopbackSite:
    """The devices of site `name` on first, first+1, ... (loopback mode: unicast replies to
    loopback only), not yet started."""
    placed = site.load_site(site.site_path(name))
    ports: dict[int, int] = {}
    mapper: Callable[[int], int] = lambda port: ports.setdefault(port, free_port())  # noqa: E731
    served = responder.Responder()
    requests = device.RequestLog(None)
    instances: list[persona.Instance] = []
    for number, entry in enumerate(placed.devices, start=1):
        instance = persona.Instance(
            persona=entry.instance.persona,
            ip=first + number - 1,
            mac=entry.instance.mac,
            channels=entry.instance.channels,
        )
        context = dataclasses.replace(
            responder.loopback_device(number, instance, requests), map_port=mapper
        )
        served.add_device(context)
        instances.append(instance)
    return LoopbackSite(responder=served, requests=requests, instances=instances, ports=ports)

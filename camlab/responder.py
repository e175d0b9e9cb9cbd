"""The lab responder: one process, one asyncio loop, serving every simulated device.

Sockets are opened per device from inside that device's namespace (setns on the main thread,
then back); a socket keeps the namespace it was made in, so one loop can then serve them all.
Run as `python -m camlab.responder --plan PLAN` (what `python -m camlab up` starts), or use
`Responder` in-process on loopback addresses (tests, and `demo` without root).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import logging
import resource
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

from camlab.device import DeviceContext, RequestLog
from camlab.persona import Instance
from camlab.serve_discovery import UDP_CHANNELS, Answer
from camlab.serve_http import READ_TIMEOUT_S, HttpServer, tls_context
from camlab.serve_rtsp import OpenPort, RtspServer
from camlab.site import instances_from_plan
from camlab.topology import inside

log = logging.getLogger(__name__)

MAX_DATAGRAM = 65535
LISTEN_BACKLOG = 128
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # <linux/in.h>; socket has it only from Python 3.12
StreamHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]


def raise_fd_limit() -> int:
    """Raise the soft open-file limit to the hard one (a 100-device site holds ~1000 sockets)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class UdpService:
    """One UDP socket of one device; reads with IP_PKTINFO to know if a query was multicast."""

    def __init__(
        self, device: DeviceContext, channel: str, sock: socket.socket, answer: Answer
    ) -> None:
        self.device = device
        self.channel = channel
        self.sock = sock
        self.answer = answer

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start reading on the loop."""
        loop.add_reader(self.sock.fileno(), self._readable)

    def stop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Stop reading and close."""
        loop.remove_reader(self.sock.fileno())
        self.sock.close()

    def _readable(self) -> None:
        for _ in range(64):  # drain a burst, then let other sockets run
            try:
                data, ancillary, _flags, sender = self.sock.recvmsg(MAX_DATAGRAM, 64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("device %d %s: recv failed: %s", self.device.number, self.channel, exc)
                return
            destination = ""
            for level, kind, value in ancillary:
                if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(value) >= 12:
                    destination = socket.inet_ntoa(
                        value[8:12]
                    )  # in_pktinfo.ipi_addr: header destination
            self.device.log_request(
                self.channel,
                self.sock.getsockname()[1],
                sender,
                f"to {destination} {len(data)} bytes",
            )
            try:
                replies = self.answer(self.device, data, sender, destination)
            except Exception:  # hostile input must never stop the responder
                log.exception("device %d %s: answer failed", self.device.number, self.channel)
                continue
            for payload, target in replies:
                if not reply_allowed(self.device, target):
                    log.warning(
                        "device %d %s: not sending to %s from loopback mode",
                        self.device.number,
                        self.channel,
                        target,
                    )
                    continue
                try:
                    self.sock.sendto(payload, target)
                except OSError as exc:
                    if exc.errno not in (
                        errno.EAGAIN,
                        errno.ENETUNREACH,
                        errno.EHOSTUNREACH,
                        errno.ECONNREFUSED,
                    ):
                        log.warning(
                            "device %d %s: send to %s failed: %s",
                            self.device.number,
                            self.channel,
                            target,
                            exc,
                        )


def reply_allowed(device: DeviceContext, target: tuple[str, int]) -> bool:
    """Loopback mode answers loopback unicast only: a group or any other address would leave
    through the host's real interfaces. Inside a namespace everything stays in the lab."""
    if device.netns is not None:
        return True
    try:
        address = IPv4Address(target[0])
    except ValueError:
        return False
    return address.is_loopback


def _udp_socket(device: DeviceContext, channel: str, port: int, group: str | None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        sock.bind((device.bind_ip, device.map_port(port)))
        if device.netns is not None:
            own = socket.inet_aton(str(device.instance.ip))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, own)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
            # RFC 6762 §11 wants TTL 255 for mDNS; other discovery stays on the segment (TTL 1).
            sock.setsockopt(
                socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255 if channel == "mdns" else 1
            )
            if group is not None:
                sock.setsockopt(
                    socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + own
                )
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    device.bound[("udp", port)] = sock.getsockname()[1]
    return sock


def _tcp_socket(device: DeviceContext, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((device.bind_ip, device.map_port(port)))
        sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    device.bound[("tcp", port)] = sock.getsockname()[1]
    return sock


def tcp_plan(device: DeviceContext) -> dict[int, StreamHandler]:
    """Which TCP ports this device listens on, and the handler for each."""
    persona = device.persona
    handlers: dict[int, StreamHandler] = {}
    http_specs = {int(spec["port"]): spec for spec in persona.get("http", [])}
    wanted_http = {
        port
        for port, spec in http_specs.items()
        if device.allows("https" if spec.get("tls") else "http")
    }
    if "onvif" in persona and device.allows("onvif"):
        wanted_http.add(int(persona["onvif"]["port"]))
    if "ssdp" in persona and device.allows("ssdp"):
        wanted_http.add(int(persona["ssdp"].get("location_port", 80)))
    for port in sorted(wanted_http):
        handlers[port] = HttpServer(device, port, http_specs.get(port)).handle
    if "rtsp" in persona and device.allows("rtsp"):
        handlers[int(persona["rtsp"]["port"])] = RtspServer(device, persona["rtsp"]).handle
    if device.allows("tcp"):
        for port in persona.get("tcp", {}).get("open", []):
            handlers.setdefault(int(port), OpenPort(device, int(port)).handle)
    return handlers


class Responder:
    """Serves a set of devices from one event loop; open sockets first, then `serve`."""

    def __init__(self) -> None:
        self.devices: list[DeviceContext] = []
        self._tcp: list[tuple[DeviceContext, socket.socket, StreamHandler, Any]] = []
        self._udp: list[UdpService] = []
        self._servers: list[asyncio.base_events.Server] = []
        self._tls_cache: dict[str, Any] = {}

    def add_device(self, device: DeviceContext) -> None:
        """Open every socket of one device (inside its namespace when it has one)."""
        with inside(device.netns) if device.netns else contextlib.nullcontext():
            for port, handler in tcp_plan(device).items():
                ssl_context = self._ssl_for(device, port)
                self._tcp.append((device, _tcp_socket(device, port), handler, ssl_context))
            for channel, (port, group, answer) in UDP_CHANNELS.items():
                if channel in device.persona and device.allows(channel):
                    sock = _udp_socket(device, channel, port, group)
                    self._udp.append(UdpService(device, channel, sock, answer))
        self.devices.append(device)

    def _ssl_for(self, device: DeviceContext, port: int) -> Any:
        persona = device.persona
        spec = next((s for s in persona.get("http", []) if int(s["port"]) == port), None)
        if spec is None or not spec.get("tls"):
            return None
        values = device.instance.values()
        subject = device.instance.render(persona["tls"]["subject"], values)
        issuer = (
            device.instance.render(persona["tls"].get("issuer"), values)
            if "issuer" in persona["tls"]
            else None
        )
        key = json.dumps([subject, issuer])
        if key not in self._tls_cache:
            self._tls_cache[key] = tls_context(subject, issuer)
        return self._tls_cache[key]

    async def start(self) -> None:
        """Start serving every opened socket on the running loop."""
        loop = asyncio.get_running_loop()
        for _device, sock, handler, ssl_context in self._tcp:
            server = await asyncio.start_server(
                handler,
                sock=sock,
                ssl=ssl_context,
                limit=64 * 1024,
                # A silent TLS client is dropped as soon as a silent plain one (default is 60 s).
                ssl_handshake_timeout=READ_TIMEOUT_S if ssl_context is not None else None,
            )
            self._servers.append(server)
        for service in self._udp:
            service.start(loop)

    async def stop(self) -> None:
        """Stop serving and close every socket."""
        loop = asyncio.get_running_loop()
        for service in self._udp:
            service.stop(loop)
        for server in self._servers:
            server.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await server.wait_closed()
        self._udp.clear()
        self._servers.clear()

    def discard(self) -> None:
        """Close every socket opened so far without serving (a failed set-up)."""
        for _device, sock, _handler, _ssl in self._tcp:
            sock.close()
        for service in self._udp:
            service.sock.close()
        self._tcp.clear()
        self._udp.clear()
        self.devices.clear()

    def socket_count(self) -> int:
        """How many sockets are open."""
        return len(self._tcp) + len(self._udp)


def loopback_device(number: int, instance: Instance, requests: RequestLog) -> DeviceContext:
    """A device on its own loopback address, each port picked by the kernel (camlab.loopback
    then serves every device on the same numbers)."""
    return DeviceContext(
        number=number,
        instance=instance,
        network=IPv4Network(f"{instance.ip}/8", strict=False),
        router=IPv4Address("127.0.0.1"),
        requests=requests,
        netns=None,
        bind_ip=str(instance.ip),
        map_port=lambda _port: 0,
    )


def devices_from_plan(plan: dict[str, Any], requests: RequestLog) -> Iterator[DeviceContext]:
    """Device contexts for every device of a lab plan (namespace mode)."""
    subnets = {s["name"]: s for s in plan["subnets"]}
    for entry, instance in instances_from_plan(plan):
        subnet = subnets[entry["subnet"]]
        yield DeviceContext(
            number=entry["number"],
            instance=instance,
            network=IPv4Network(subnet["cidr"]),
            router=IPv4Address(subnet["router"]),
            requests=requests,
            netns=entry["netns"],
        )


async def _serve_plan(plan_path: Path, ready_path: Path, requests_path: Path) -> None:
    # Blocking file I/O below happens before and after serving, never while the loop serves.
    plan = json.loads(plan_path.read_text(encoding="utf-8"))  # noqa: ASYNC240
    limit = raise_fd_limit()
    requests = RequestLog(requests_path)
    responder = Responder()
    for device in devices_from_plan(plan, requests):
        responder.add_device(device)
    await responder.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    ready_path.write_text(  # noqa: ASYNC240
        json.dumps(
            {
                "devices": len(responder.devices),
                "sockets": responder.socket_count(),
                "fd_limit": limit,
            }
        )
    )
    log.info("serving %d devices on %d sockets", len(responder.devices), responder.socket_count())
    await stop.wait()
    await responder.stop()
    requests.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the responder process."""
    parser = argparse.ArgumentParser(prog="camlab.responder")
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--ready", type=Path, required=True)
    parser.add_argument("--requests", type=Path, required=True)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    asyncio.run(_serve_plan(args.plan, args.ready, args.requests))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

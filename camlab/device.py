"""What every channel server knows about the device it speaks for, and the request log."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any, TextIO

from camlab.persona import Instance

log = logging.getLogger(__name__)


class RequestLog:
    """Append-only JSON lines: one per connection or datagram a device received (tests read it)."""

    def __init__(self, path: Path | None) -> None:
        self._file: TextIO | None = path.open("a", encoding="utf-8") if path is not None else None
        self.records: list[dict[str, Any]] = []  # kept in memory too, for in-process use
        self.max_records = 100_000

    def write(self, record: dict[str, Any]) -> None:
        """Record one request."""
        if len(self.records) < self.max_records:
            self.records.append(record)
        if self._file is not None:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()

    def close(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()


@dataclass(kw_only=True)
class DeviceContext:
    """One device as its servers see it: the persona instance, its network, its port mapping."""

    number: int
    instance: Instance
    network: IPv4Network
    router: IPv4Address
    requests: RequestLog
    netns: str | None = None  # None: loopback mode
    bind_ip: str = "0.0.0.0"  # noqa: S104 - inside its own namespace the device owns every address
    map_port: Callable[[int], int] = field(default=lambda port: port)
    bound: dict[tuple[str, int], int] = field(
        default_factory=dict
    )  # (proto, persona port) -> real port

    @property
    def persona(self) -> dict[str, Any]:
        """The persona's channel tables as written."""
        return dict(self.instance.persona.raw)

    def allows(self, channel: str) -> bool:
        """Whether this instance answers on a channel (sites may restrict it)."""
        return channel in self.instance.channels

    def real_port(self, proto: str, port: int) -> int:
        """The port a persona port is actually served on (differs only in loopback mode)."""
        return self.bound.get((proto, port), self.map_port(port))

    def own_urls(self, text: str) -> str:
        """`text` with each URL naming this device moved to the port really served there.

        In loopback mode every persona port is served on another number, so an advertised
        `http://{ip}/...` (WS-Discovery XAddrs, a redirect's Location) must carry it; inside a
        namespace the ports are the persona's own and nothing changes.
        """
        if self.netns is not None:
            return text
        ip = str(self.instance.ip)
        own = re.compile(rf"\b(https?)://{re.escape(ip)}(?::(\d{{1,5}}))?(?![\d.:])")

        def moved(match: re.Match[str]) -> str:
            scheme = match.group(1)
            port = int(match.group(2) or (443 if scheme == "https" else 80))
            return f"{scheme}://{ip}:{self.bound.get(('tcp', port), port)}"

        return own.sub(moved, text)

    def log_request(
        self, channel: str, port: int, peer: tuple[str, int] | str, summary: str = ""
    ) -> None:
        """Note that this device was asked something."""
        peer_text = peer if isinstance(peer, str) else f"{peer[0]}:{peer[1]}"
        self.requests.write(
            {
                "t": round(time.time(), 3),
                "device": self.number,
                "ip": str(self.instance.ip),
                "channel": channel,
                "port": port,
                "peer": peer_text,
                "summary": summary[:200],
            }
        )

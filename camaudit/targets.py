"""Targets and scope: what the user asked to scan, parsed once, checked before anything is sent."""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from ipaddress import (
    AddressValueError,
    IPv4Address,
    IPv4Network,
    NetmaskValueError,
    summarize_address_range,
)

from camaudit.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Scope:
    """The addresses a scan may probe: targets minus exclusions. Nothing outside is ever probed."""

    networks: tuple[IPv4Network, ...]
    excluded: tuple[IPv4Network, ...] = ()
    labels: tuple[str, ...] = ()  # the targets as the user wrote them, for reports
    # Blocks of a range (198.51.100.10-40 is .10/31, .12/30, ...): every address in them is a
    # target, where a CIDR's network and broadcast addresses are not.
    whole: tuple[IPv4Network, ...] = ()

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, IPv4Address):
            return False
        return any(address in net for net in self.networks) and not any(
            address in net for net in self.excluded
        )

    def addresses(self) -> Iterator[IPv4Address]:
        """Every host address in scope (network and broadcast addresses of /0-/30 left out)."""
        seen: set[IPv4Address] = set()
        for net in self.networks:
            hosts = net.hosts() if net.prefixlen < 31 and net not in self.whole else iter(net)
            for address in hosts:
                if address not in seen and address in self:
                    seen.add(address)
                    yield address

    def size(self) -> int:
        """How many addresses are in scope (an upper bound when exclusions overlap)."""
        total = sum(
            max(net.num_addresses - (2 if net.prefixlen < 31 and net not in self.whole else 0), 0)
            for net in self.networks
        )
        removed = sum(
            net.num_addresses
            for net in self.excluded
            if any(net.subnet_of(t) for t in self.networks)
        )
        return max(total - removed, 0)


def parse_target(text: str, *, resolve: bool = True) -> list[IPv4Network]:
    """One target as typed: address, CIDR, range (a.b.c.d-e or a.b.c.d-a.b.c.e) or host name."""
    text = text.strip()
    if not text:
        raise ConfigError("empty target")
    try:
        if "/" in text:
            return [IPv4Network(text, strict=False)]
        if _is_range(text):
            return _parse_range(text)
        return [IPv4Network(IPv4Address(text))]
    except (AddressValueError, NetmaskValueError, ValueError) as exc:
        if any(c.isalpha() for c in text) and resolve and "/" not in text:
            return [IPv4Network(address) for address in _resolve(text)]
        raise ConfigError(
            f"not an IPv4 address, network, range or host name: {text!r} ({exc})"
        ) from None


def _is_range(text: str) -> bool:
    text = text.strip()
    return "-" in text and text[:1].isdigit() and "/" not in text


def _parse_range(text: str) -> list[IPv4Network]:
    start_text, end_text = text.split("-", 1)
    start = IPv4Address(start_text)
    if "." in end_text:
        end = IPv4Address(end_text)
    else:
        last = int(end_text)
        if not 0 <= last <= 255:
            raise ValueError("range end must be 0-255")
        end = IPv4Address(int(start) & 0xFFFFFF00 | last)
    if end < start:
        raise ValueError("range ends before it starts")
    return list(summarize_address_range(start, end))


def _resolve(name: str) -> list[IPv4Address]:
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigError(f"cannot resolve host name {name!r}: {exc.strerror}") from None
    return sorted({IPv4Address(info[4][0]) for info in infos})


def build_scope(
    targets: Iterable[str],
    *,
    exclude: Iterable[str] = (),
    max_addresses: int | None = None,
    resolve: bool = True,
) -> Scope:
    """The scope for a scan; refuses more than `max_addresses` addresses (None: no limit)."""
    labels = tuple(targets)
    networks: list[IPv4Network] = []
    whole: list[IPv4Network] = []
    for target in labels:
        parsed = parse_target(target, resolve=resolve)
        networks += parsed
        if _is_range(target):
            whole += parsed
    excluded: list[IPv4Network] = []
    for item in exclude:
        excluded += parse_target(item, resolve=resolve)
    scope = Scope(
        networks=tuple(networks), excluded=tuple(excluded), labels=labels, whole=tuple(whole)
    )
    if max_addresses is not None and scope.size() > max_addresses:
        raise ConfigError(
            f"{scope.size()} addresses in scope, more than {max_addresses}; "
            "narrow the targets or pass --yes to confirm"
        )
    return scope

"""Runs the probes and hands their evidence to the judge: targets → evidence → devices.

Discovery (multicast on the chosen interfaces, then unicast to the live targets) runs alongside
a reachability pass and the port sweep of the live hosts; each host's own probes start as soon as
its ports are known. Hosts heard from outside the scope are recorded, never probed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from ipaddress import IPv4Address
from typing import TypeVar

from camaudit.errors import ConfigError, ProbeError, ProbeUnavailable
from camaudit.identify.judge import judge
from camaudit.identify.loader import Database
from camaudit.identify.policy import Policy
from camaudit.liveness import (
    LiveFeed,
    Reachability,
    find_live_hosts,
    sweep_each_host,
    sweep_open_ports,
)
from camaudit.models import Evidence, ProbeOutcome, ProbeStatus, ScanResult
from camaudit.net import Interface, RateLimiter, Sockets, list_interfaces
from camaudit.options import ScanOptions
from camaudit.probes import ALL_PROBES, SWEEP_NAME, sweep_selected
from camaudit.probes.arp import read_system_neighbours
from camaudit.probes.base import DiscoveryProbe, HostProbe, HostTarget, ProbeContext
from camaudit.targets import Scope

log = logging.getLogger(__name__)

T = TypeVar("T")

# Called with (stage, done, total) as the scan advances; the CLI draws a progress bar with it.
Progress = Callable[[str, int, int], None]


def select_probes(options: ScanOptions) -> list[DiscoveryProbe | HostProbe]:
    """Instances of the probes the options ask for (all of them unless narrowed)."""
    known = {probe.name for probe in ALL_PROBES}
    unknown = sorted((set(options.probes) | set(options.skip_probes)) - known - {SWEEP_NAME})
    if unknown:
        raise ConfigError(
            f"unknown probe(s): {', '.join(unknown)}; choose from {', '.join(sorted(known))}"
        )
    return [
        probe_class()
        for probe_class in ALL_PROBES
        if (not options.probes or probe_class.name in options.probes)
        and probe_class.name not in options.skip_probes
    ]


def sweep_ports(options: ScanOptions) -> tuple[int, ...]:
    """The TCP ports the liveness sweep connects to on every target, each once."""
    return tuple(
        dict.fromkeys(
            (*options.tcp_ports, *options.http_ports, *options.https_ports, options.port("rtsp"))
        )
    )


def choose_interfaces(
    scope: Scope, options: ScanOptions, available: Sequence[Interface]
) -> tuple[Interface, ...]:
    """Interfaces to send multicast/broadcast discovery on.

    Named interfaces when the user gave some; otherwise those whose connected network overlaps the
    targets, so that multicast only goes where the user asked us to look. Never loopback.
    """
    if not options.multicast:
        return ()
    usable = [iface for iface in available if iface.multicast and not iface.address.is_loopback]
    if options.interfaces:
        by_name = {iface.name: iface for iface in available}
        missing = [name for name in options.interfaces if name not in by_name]
        if missing:
            raise ConfigError(f"no such interface with an IPv4 address: {', '.join(missing)}")
        return tuple(iface for iface in usable if iface.name in options.interfaces)
    return tuple(
        iface for iface in usable if any(iface.network.overlaps(net) for net in scope.networks)
    )


def default_scope_networks(available: Sequence[Interface]) -> list[str]:
    """The directly connected IPv4 networks of this machine's interfaces (loopback left out)."""
    return sorted({str(iface.network) for iface in available if not iface.address.is_loopback})


@dataclass
class _ProbeTally:
    """Per-probe bookkeeping across all hosts, turned into a ProbeOutcome at the end."""

    name: str
    started: float = field(default_factory=time.monotonic)
    evidence: int = 0
    hosts: int = 0
    failures: list[str] = field(default_factory=list)
    skipped: str | None = None

    def outcome(self) -> ProbeOutcome:
        duration = round(time.monotonic() - self.started, 3)
        if self.skipped is not None:
            return ProbeOutcome(
                probe=self.name,
                status=ProbeStatus.SKIPPED,
                detail=self.skipped,
                duration_s=duration,
            )
        if self.failures and (self.hosts == 0 or len(self.failures) >= self.hosts):
            return ProbeOutcome(
                probe=self.name,
                status=ProbeStatus.FAILED,
                detail=self.failures[0],
                evidence_count=self.evidence,
                duration_s=duration,
            )
        detail = f"{self.hosts} host(s)" if self.hosts else ""
        if self.failures:
            detail += f"; failed on {len(self.failures)}: {self.failures[0]}"
        return ProbeOutcome(
            probe=self.name,
            status=ProbeStatus.OK,
            detail=detail,
            evidence_count=self.evidence,
            duration_s=duration,
        )


class Scanner:
    """One scan. Keeps what it has gathered so an interrupted scan still reports it."""

    def __init__(
        self,
        scope: Scope,
        options: ScanOptions,
        *,
        database: Database,
        policy: Policy,
        interfaces: tuple[Interface, ...] | None = None,
        progress: Progress | None = None,
        probes: Sequence[DiscoveryProbe | HostProbe] | None = None,
    ) -> None:
        self.scope = scope
        self.options = options
        self.database = database
        self.policy = policy
        self.interfaces = (
            interfaces
            if interfaces is not None
            else choose_interfaces(scope, options, list_interfaces())
        )
        self.progress = progress or (lambda stage, done, total: None)
        self.probes = list(probes) if probes is not None else select_probes(options)
        self.sweep = sweep_selected(options.probes, options.skip_probes)
        self.evidence: list[Evidence] = []
        self._by_host: defaultdict[IPv4Address, list[Evidence]] = defaultdict(list)
        self.tallies: dict[str, _ProbeTally] = {}
        self.started_at = datetime.now(UTC)

    async def run(self, *, deadline_s: float | None = None) -> ScanResult:
        """Scan and judge what was found.

        Cancelled (Ctrl-C) or past `deadline_s`, the scan stops probing and returns what it has
        so far, marked interrupted: the one way a partial result comes back. A further Ctrl-C
        while it closes and judges only marks the result interrupted; it never loses it.
        """
        ctx = ProbeContext(
            options=self.options,
            scope=self.scope,
            sockets=Sockets(max_bytes=self.options.max_read_bytes),
            limiter=RateLimiter(self.options.rate),
            interfaces=self.interfaces,
        )
        interrupted = await self._gather(ctx, deadline_s)
        # Shared resources probes registered, e.g. the HTTP session.
        _, cut_while_closing = await _through_cancels(ctx.aclose())
        # Identification is pure but reads the fingerprint and MAC tables on first use: keep it
        # off the event loop so the loop never blocks.
        judging = asyncio.to_thread(self._result, interrupted=interrupted or cut_while_closing)
        result, cut_while_judging = await _through_cancels(judging)
        return replace(result, interrupted=True) if cut_while_judging else result

    async def _gather(self, ctx: ProbeContext, deadline_s: float | None) -> bool:
        """Run the probes, collecting evidence; True when the scan was cut short."""
        try:
            async with asyncio.timeout(deadline_s):
                await self._run_probes(ctx)
        except asyncio.CancelledError:
            log.warning("scan interrupted; reporting what was found so far")
            return True
        except TimeoutError:
            log.warning(
                "scan deadline of %.1f s passed; reporting what was found so far", deadline_s
            )
            return True
        return False

    async def _run_probes(self, ctx: ProbeContext) -> None:
        """Everything that can overlap, overlapped.

        Multicast discovery goes out at once while the reachability pass finds the live hosts;
        directed discovery and the rest of the port sweep then go to those alone. A host's own
        probes start as soon as its ports are known; only those that read what discovery heard
        (ONVIF's service address) wait for discovery to end. Hosts discovery heard that the pass
        missed are swept and probed last.
        """
        discovery = [p for p in self.probes if isinstance(p, DiscoveryProbe)]
        host_probes = [p for p in self.probes if isinstance(p, HostProbe)]
        heard_all = asyncio.Event()
        hosts = _HostQueue(self, ctx, host_probes, heard_all)
        # --skip-probe tcp: no pass, so host probes ask only the hosts discovery heard from.
        ctx.live = LiveFeed() if self.sweep else None
        async with asyncio.TaskGroup() as group:
            hosts.group = group
            listening = group.create_task(self._discover(ctx, discovery))
            swept: set[IPv4Address] = set()
            if ctx.live is not None:
                swept = await self._sweep(ctx, ctx.live, on_swept=hosts.add)
            await listening
            heard_all.set()
            heard = sorted({item.host for item in self.evidence if item.host in self.scope} - swept)
            late: dict[IPv4Address, set[int]] = {}
            if self.sweep:  # --skip-probe tcp: no connects, not even to hosts heard from
                late = await self._sweep_hosts(ctx, heard, sweep_ports(self.options))
                self._record_open_ports(late)
            for address in sorted(self._by_host):  # every host heard from, swept or not
                hosts.add(address, late.get(address, set()))

    async def _discover(self, ctx: ProbeContext, probes: list[DiscoveryProbe]) -> None:
        self.progress("discovery", 0, len(probes))
        done = 0
        deadline_s = self._discovery_deadline_s(len(probes))

        async def run_one(probe: DiscoveryProbe) -> None:
            nonlocal done
            await self._guarded(probe.name, probe.discover(ctx), timeout_s=deadline_s)
            done += 1
            self.progress("discovery", done, len(probes))

        async with asyncio.TaskGroup() as group:
            for probe in probes:
                group.create_task(run_one(probe))

    def _discovery_deadline_s(self, probe_count: int) -> float:
        """Discovery probes send to every target through one shared rate limit, so their deadline
        grows with the scope: the time to send everything, with room to spare, plus the usual one.
        """
        sends = self.scope.size() * (probe_count * 2 + len(self.options.tcp_ports) + 2)
        return self.options.probe_timeout_s + 1.5 * sends / self.options.rate

    async def _sweep(
        self,
        ctx: ProbeContext,
        feed: LiveFeed,
        *,
        on_swept: Callable[[IPv4Address, set[int]], None],
    ) -> set[IPv4Address]:
        """The reachability pass, feeding each live host to `feed` (directed discovery reads it
        too), and the other camera ports of each live host as it arrives; each host is handed to
        `on_swept` with its open ports as soon as they are known (open ports are evidence too).
        Returns every host that was swept."""
        ports = sweep_ports(self.options)
        self.tallies.setdefault(SWEEP_NAME, _ProbeTally(SWEEP_NAME))
        reach = Reachability(port=ports[0])
        swept: set[IPv4Address] = set()

        def host_done(address: IPv4Address, found: set[int]) -> None:
            if address in reach.open:
                found = found | {ports[0]}
            self._record_open_ports({address: found} if found else {})
            swept.add(address)
            on_swept(address, found)
            self.progress("sweep", len(swept), len(reach.alive))

        async with asyncio.TaskGroup() as group:
            # Each live host's other ports are asked the moment its knock answers.
            group.create_task(
                sweep_each_host(
                    feed.addresses(),
                    ports[1:],
                    limiter=ctx.limiter,
                    timeout_s=self.options.connect_timeout_s,
                    on_host=host_done,
                )
            )
            try:
                await find_live_hosts(
                    self.scope,
                    ports[0],
                    limiter=ctx.limiter,
                    timeout_s=self.options.connect_timeout_s,
                    neighbours=lambda: asyncio.to_thread(read_system_neighbours),
                    on_progress=lambda done, total: self.progress("liveness", done, total),
                    feed=feed,
                    into=reach,
                )
            finally:
                # The sweep and directed discovery read until this: they must end even if the
                # pass failed.
                feed.close()
            self.progress("live", len(reach.alive), len(reach.alive))
        return swept

    async def _sweep_hosts(
        self, ctx: ProbeContext, hosts: list[IPv4Address], ports: Sequence[int]
    ) -> dict[IPv4Address, set[int]]:
        if not hosts or not ports:
            return {}
        return await sweep_open_ports(
            hosts, ports, limiter=ctx.limiter, timeout_s=self.options.connect_timeout_s
        )

    def _record_open_ports(self, open_ports: dict[IPv4Address, set[int]]) -> None:
        tally = self.tallies.setdefault(SWEEP_NAME, _ProbeTally(SWEEP_NAME))
        for address, found in sorted(open_ports.items()):
            tally.hosts += 1
            self.keep(
                [
                    Evidence(
                        host=address,
                        channel="tcp.open",
                        value=str(port),
                        probe=SWEEP_NAME,
                        port=port,
                    )
                    for port in sorted(found)
                ]
            )
            tally.evidence += len(found)

    def keep(self, items: Sequence[Evidence]) -> None:
        """Record evidence, indexed by host for the probes that read what is known."""
        self.evidence.extend(items)
        for item in items:
            self._by_host[item.host].append(item)

    def known_about(self, address: IPv4Address) -> tuple[Evidence, ...]:
        """Everything gathered about one host so far."""
        return tuple(self._by_host.get(address, ()))

    async def _guarded(
        self,
        name: str,
        work: object,
        *,
        host: IPv4Address | None = None,
        timeout_s: float | None = None,
    ) -> None:
        """Run one probe call under its deadline; turn its failure into data, never into a crash."""
        tally = self.tallies.setdefault(name, _ProbeTally(name))
        where = f" on {host}" if host else ""
        timeout_s = timeout_s or self.options.probe_timeout_s
        try:
            async with asyncio.timeout(timeout_s):
                found = await work  # type: ignore[misc]
        except ProbeUnavailable as exc:
            tally.skipped = str(exc)
            return
        except ProbeError as exc:
            tally.failures.append(f"{exc}{where}")
            return
        except TimeoutError:
            tally.failures.append(f"{name}: not finished within {timeout_s:.0f} s{where}")
            return
        except OSError as exc:  # a probe that let a socket error escape; still not the scan's end
            tally.failures.append(f"{name}: {exc.strerror or exc}{where}")
            return
        except Exception as exc:  # noqa: BLE001 - a bug in one probe must not end the whole scan
            log.exception("%s: internal error%s; the scan goes on without it", name, where)
            tally.failures.append(f"{name}: internal error ({type(exc).__name__}: {exc}){where}")
            return
        self.keep(found)
        tally.evidence += len(found)

    def _result(self, *, interrupted: bool) -> ScanResult:
        devices = judge(self.evidence, self.database, self.policy, scope=self.scope)
        return ScanResult(
            started_at=self.started_at,
            finished_at=datetime.now(UTC),
            targets=self.scope.labels,
            policy=self.policy.id,
            probes=tuple(tally.outcome() for tally in self.tallies.values()),
            devices=tuple(devices),
            interrupted=interrupted,
        )


class _HostQueue:
    """Starts each host's probes once: when its ports are known, or (for hosts only discovery
    heard) after discovery. Probes that read discovery's evidence wait for `heard_all`."""

    def __init__(
        self,
        scanner: Scanner,
        ctx: ProbeContext,
        probes: list[HostProbe],
        heard_all: asyncio.Event,
    ) -> None:
        self.scanner = scanner
        self.ctx = ctx
        self.probes = probes
        self.heard_all = heard_all
        self.gate = asyncio.Semaphore(max(scanner.options.concurrency, 1))
        self.group: asyncio.TaskGroup | None = None
        self.started: set[IPv4Address] = set()
        self.total = 0
        self.done = 0
        for probe in probes:
            scanner.tallies.setdefault(probe.name, _ProbeTally(probe.name))

    def add(self, address: IPv4Address, open_ports: set[int]) -> None:
        """Queue every host probe for a host worth asking: in scope, with an open port or heard
        from in discovery, and not queued before."""
        if address in self.started or address not in self.scanner.scope or self.group is None:
            return
        if not open_ports and not self.heard_all.is_set():
            return  # alive but every port closed: only discovery can make it worth asking
        self.started.add(address)
        for probe in self.probes:
            self.total += 1
            self.group.create_task(self._run(probe, address, frozenset(open_ports)))
        self.scanner.progress("hosts", self.done, self.total)

    async def _run(self, probe: HostProbe, address: IPv4Address, ports: frozenset[int]) -> None:
        if probe.reads_discovery:
            await self.heard_all.wait()
        async with self.gate:
            tally = self.scanner.tallies[probe.name]
            if tally.skipped is None:
                tally.hosts += 1
                host = HostTarget(
                    ip=address, open_ports=ports, known=self.scanner.known_about(address)
                )
                await self.scanner._guarded(probe.name, probe.probe(host, self.ctx), host=address)
        self.done += 1
        self.scanner.progress("hosts", self.done, self.total)


async def _through_cancels(work: Awaitable[T]) -> tuple[T, bool]:
    """Await `work` to its end even if the scan is cancelled meanwhile; True if it was."""
    future = asyncio.ensure_future(work)
    cancelled = False
    while not future.done():
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:
            cancelled = True
    return future.result(), cancelled

"""Runs the probes and hands their evidence to the judge: targets → evidence → devices.

Phase 1 runs every discovery probe (multicast on the chosen interfaces, unicast to every target)
alongside a TCP liveness sweep of the targets. Phase 2 runs the host probes on every in-scope host
that is alive or was heard from. Hosts heard from outside the scope are recorded, never probed.
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
from camaudit.liveness import Reachability, find_live_hosts, sweep_open_ports
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
                discovery = [p for p in self.probes if isinstance(p, DiscoveryProbe)]
                hosts = self._host_targets(await self._discover(ctx, discovery))
                host_probes = [p for p in self.probes if isinstance(p, HostProbe)]
                await self._probe_hosts(ctx, host_probes, hosts)
        except asyncio.CancelledError:
            log.warning("scan interrupted; reporting what was found so far")
            return True
        except TimeoutError:
            log.warning(
                "scan deadline of %.1f s passed; reporting what was found so far", deadline_s
            )
            return True
        return False

    async def _discover(
        self, ctx: ProbeContext, probes: list[DiscoveryProbe]
    ) -> dict[IPv4Address, set[int]]:
        """Discovery and the TCP side together: multicast goes out at once, while the
        reachability pass finds the live hosts; directed discovery and the port sweep then go to
        those alone. Hosts discovery heard that the pass missed get their port sweep last."""
        self.progress("discovery", 0, len(probes))
        done = 0
        deadline_s = self._discovery_deadline_s(len(probes))
        if self.sweep:
            ctx.live = asyncio.get_running_loop().create_future()

        async def run_one(probe: DiscoveryProbe) -> None:
            nonlocal done
            await self._guarded(probe.name, probe.discover(ctx), timeout_s=deadline_s)
            done += 1
            self.progress("discovery", done, len(probes))

        async with asyncio.TaskGroup() as group:
            sweep = group.create_task(self._sweep(ctx))
            for probe in probes:
                group.create_task(run_one(probe))
        open_ports, swept = sweep.result()
        if self.sweep:
            heard = {item.host for item in self.evidence if item.host in self.scope} - swept
            late = await self._sweep_hosts(ctx, sorted(heard), sweep_ports(self.options))
            open_ports.update(late)
            self._record_open_ports(late)
        return open_ports

    def _discovery_deadline_s(self, probe_count: int) -> float:
        """Discovery probes send to every target through one shared rate limit, so their deadline
        grows with the scope: the time to send everything, with room to spare, plus the usual one.
        """
        sends = self.scope.size() * (probe_count * 2 + len(self.options.tcp_ports) + 2)
        return self.options.probe_timeout_s + 1.5 * sends / self.options.rate

    async def _sweep(
        self, ctx: ProbeContext
    ) -> tuple[dict[IPv4Address, set[int]], set[IPv4Address]]:
        """The reachability pass, then the other camera ports of the live hosts; open ports are
        evidence too. Returns the open ports per host and every host that was swept."""
        if not self.sweep:  # --skip-probe tcp: host probes ask only hosts discovery heard from
            return {}, set()
        ports = sweep_ports(self.options)
        reach = Reachability(port=ports[0])
        try:
            reach = await find_live_hosts(
                self.scope,
                ports[0],
                limiter=ctx.limiter,
                timeout_s=self.options.connect_timeout_s,
                neighbours=lambda: asyncio.to_thread(read_system_neighbours),
                on_progress=lambda done, total: self.progress("liveness", done, total),
            )
        finally:
            if ctx.live is not None and not ctx.live.done():
                # Directed discovery waits on this: it must be set even if the pass failed.
                ctx.live.set_result(reach.live_addresses())
        live = reach.live_addresses()
        self.progress("live", len(live), len(live))
        self.progress("sweep", 0, len(live))
        open_ports = await self._sweep_hosts(ctx, live, ports[1:])
        for address in reach.open:
            open_ports.setdefault(address, set()).add(ports[0])
        self.tallies.setdefault(SWEEP_NAME, _ProbeTally(SWEEP_NAME))
        self._record_open_ports(open_ports)
        self.progress("sweep", len(live), len(live))
        return open_ports, set(live)

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
            for port in sorted(found):
                self.evidence.append(
                    Evidence(
                        host=address,
                        channel="tcp.open",
                        value=str(port),
                        probe=SWEEP_NAME,
                        port=port,
                    )
                )
                tally.evidence += 1

    def _host_targets(self, open_ports: dict[IPv4Address, set[int]]) -> list[HostTarget]:
        known: dict[IPv4Address, list[Evidence]] = defaultdict(list)
        for item in self.evidence:
            known[item.host].append(item)
        addresses = sorted(
            address for address in set(open_ports) | set(known) if address in self.scope
        )
        return [
            HostTarget(
                ip=address,
                open_ports=frozenset(open_ports.get(address, ())),
                known=tuple(known.get(address, ())),
            )
            for address in addresses
        ]

    async def _probe_hosts(
        self, ctx: ProbeContext, probes: list[HostProbe], hosts: list[HostTarget]
    ) -> None:
        gate = asyncio.Semaphore(max(self.options.concurrency, 1))
        total = len(hosts) * len(probes)
        done = 0
        self.progress("hosts", 0, total)
        for probe in probes:
            self.tallies.setdefault(probe.name, _ProbeTally(probe.name))

        async def run_one(probe: HostProbe, host: HostTarget) -> None:
            nonlocal done
            async with gate:
                tally = self.tallies[probe.name]
                if tally.skipped is None:
                    tally.hosts += 1
                    await self._guarded(probe.name, probe.probe(host, ctx), host=host.ip)
            done += 1
            self.progress("hosts", done, total)

        async with asyncio.TaskGroup() as group:
            for host in hosts:
                for probe in probes:
                    group.create_task(run_one(probe, host))

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
        self.evidence.extend(found)
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

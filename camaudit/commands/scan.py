"""`camaudit scan`: options in, the scanner run with a progress line, the result out."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

from camaudit.commands.common import (
    FORMATS,
    check_writable,
    emit,
    fail,
    one_line_errors,
    write_text,
)
from camaudit.commands.history import describe
from camaudit.config import (
    MAX_LOCK_WAIT_S,
    SiteConfig,
    Webhook,
    check_webhook_url,
    output_path,
    scan_settings,
)
from camaudit.errors import CamauditError, ConfigError
from camaudit.hostos import raise_file_limit
from camaudit.inventory.recorder import FAIL_ON, finish_scan, record_plan, run_lock
from camaudit.models import ScanResult
from camaudit.options import DEFAULT_CONCURRENCY, DEFAULT_RATE, MAX_TARGETS_WITHOUT_YES, ScanOptions
from camaudit.probes import PROBE_CHOICES

if TYPE_CHECKING:  # the scanner pulls in every probe; import it only when a scan runs
    from camaudit.scanner import Scanner

DEFAULT_POLICY = "uk-2022"


@click.command()
@click.argument("targets", nargs=-1)
@click.option(
    "--exclude", multiple=True, metavar="TARGET", help="Addresses, networks or ranges to leave out."
)
@click.option(
    "-i",
    "--interface",
    "interfaces",
    multiple=True,
    metavar="NAME",
    help="Interface(s) for multicast discovery (default: those on the targets' networks).",
)
@click.option(
    "--no-multicast",
    is_flag=True,
    help="Unicast only: send nothing to multicast or broadcast groups.",
)
@click.option(
    "--probe",
    "probes",
    multiple=True,
    type=click.Choice(PROBE_CHOICES),
    help="Run only these probes.",
)
@click.option(
    "--skip-probe",
    "skip_probes",
    multiple=True,
    type=click.Choice(PROBE_CHOICES),
    help="Leave out these probes.",
)
@click.option(
    "--policy",
    default=None,
    help="Which makers to flag: uk-2022 (default), ndaa-889, fcc-covered or a policy file.",
)
@click.option(
    "-f",
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report here instead of stdout.",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    multiple=True,
    help="Exit 1 on flagged devices, or on flagged devices new to the site; exit 3 when the "
    "webhook failed or the scan could only be spooled. Repeatable.",
)
@click.option("--yes", is_flag=True, help=f"Allow more than {MAX_TARGETS_WITHOUT_YES} addresses.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print what the scan would send (-f json for JSON) and send nothing.",
)
@click.option(
    "--concurrency", type=click.IntRange(1, 4096), default=DEFAULT_CONCURRENCY, show_default=True
)
@click.option(
    "--rate",
    type=click.FloatRange(1, 100_000),
    default=DEFAULT_RATE,
    show_default=True,
    help="New connections and unicast datagrams per second.",
)
@click.option(
    "--timeout",
    "request_timeout",
    type=click.FloatRange(0.1, 60),
    default=3.0,
    show_default=True,
    help="Seconds for one request to a device.",
)
@click.option(
    "--listen",
    type=click.FloatRange(0.1, 30),
    default=2.0,
    show_default=True,
    help=(
        "Most seconds to wait for discovery replies; listening ends sooner once a protocol's "
        "answer delay has passed and replies stop."
    ),
)
@click.option(
    "--onvif-credentials",
    type=click.Path(dir_okay=False, path_type=Path),
    help=(
        "File (mode 0600) with user= and password= for ONVIF GetDeviceInformation and a "
        "recorder's channel list."
    ),
)
@click.option("--save", is_flag=True, help="Remember this scan in the local inventory.")
@click.option(
    "--db",
    metavar="PATH|URL",
    help="Inventory: a SQLite file or a postgresql:// URL (implies --save).",
)
@click.option("--site", help="Site name recorded with the scan (history, alerts, checklists).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Site config file (docs/config.md); options given here override it.",
)
@click.option("--webhook", metavar="URL", help="POST new flagged devices here (JSON).")
@click.option(
    "--spool",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for scans the inventory could not take (default: beside the local inventory).",
)
@click.option(
    "--lock-wait",
    type=click.FloatRange(0, MAX_LOCK_WAIT_S),
    default=None,
    help="Seconds to wait while another run scans the same site (default 0: exit 3 at once).",
)
@click.option(
    "--port",
    "port_overrides",
    multiple=True,
    metavar="SERVICE=PORT",
    help="Non-standard port for a UDP/RTSP service, e.g. sadp=47020 (testing).",
)
@click.option(
    "--http-port",
    "http_ports",
    multiple=True,
    type=click.IntRange(1, 65535),
    help="HTTP ports (default 80, 8080).",
)
@click.option(
    "--https-port",
    "https_ports",
    multiple=True,
    type=click.IntRange(1, 65535),
    help="HTTPS ports (default 443, 8443).",
)
def scan(  # noqa: PLR0913 - click passes every option
    targets: tuple[str, ...],
    exclude: tuple[str, ...],
    interfaces: tuple[str, ...],
    no_multicast: bool,
    probes: tuple[str, ...],
    skip_probes: tuple[str, ...],
    policy: str | None,
    output_format: str,
    output: Path | None,
    fail_on: tuple[str, ...],
    yes: bool,
    dry_run: bool,
    concurrency: int,
    rate: float,
    request_timeout: float,
    listen: float,
    onvif_credentials: Path | None,
    save: bool,
    db: str | None,
    site: str | None,
    config_file: Path | None,
    webhook: str | None,
    spool: Path | None,
    lock_wait: float | None,
    port_overrides: tuple[str, ...],
    http_ports: tuple[int, ...],
    https_ports: tuple[int, ...],
) -> None:
    """Scan TARGETS (addresses, CIDRs, ranges like 198.51.100.10-40, host names).

    With no targets, scans the networks directly connected to this machine's interfaces.
    Exit codes: 0 done, 1 flagged devices with --fail-on flagged (or new-flagged), 2 usage error,
    3 could not scan (or, when asked, the webhook failed or the inventory was unreachable).
    """
    from camaudit.identify.judge import load_for_judging
    from camaudit.identify.policy import load_policy
    from camaudit.net import list_interfaces
    from camaudit.plan import refuse_host_names
    from camaudit.plan_render import dry_run_text
    from camaudit.scanner import Scanner, choose_interfaces, default_scope_networks
    from camaudit.targets import build_scope

    err = Console(stderr=True, highlight=False)
    try:
        settings = scan_settings(config_file, SiteConfig(
            site=site, targets=targets, exclude=exclude, interfaces=interfaces, probes=probes,
            policy=policy, db=db, spool=str(spool) if spool else None, lock_wait_s=lock_wait,
            webhook=Webhook(url=check_webhook_url("--webhook", webhook)) if webhook else None,
        ))  # fmt: skip
        plan = record_plan(settings, save=save, fail_on=fail_on)
        check_writable(output)
        for template in settings.outputs.values():
            check_writable(output_path(template, site=settings.site, started=datetime.now(UTC)))
        available = list_interfaces()
        targets = settings.targets
        if not targets:
            targets = tuple(default_scope_networks(available))
            if not targets:
                raise ConfigError("no targets given and no connected IPv4 network found")
            err.print(f"No targets given: scanning this machine's networks: {', '.join(targets)}")
        if dry_run:  # a plan names addresses; resolving a host name would already send
            refuse_host_names((*targets, *settings.exclude))
        scope = build_scope(
            targets, exclude=settings.exclude,
            max_addresses=None if yes else MAX_TARGETS_WITHOUT_YES,
        )  # fmt: skip
        options = _scan_options(
            probes=settings.probes,
            skip_probes=skip_probes,
            interfaces=settings.interfaces,
            multicast=not no_multicast,
            concurrency=concurrency,
            rate=rate,
            request_timeout=request_timeout,
            listen=listen,
            onvif_credentials=onvif_credentials,
            port_overrides=port_overrides,
            http_ports=http_ports,
            https_ports=https_ports,
        )
        if dry_run:  # the plan of exactly this scan; nothing is sent
            chosen = choose_interfaces(scope, options, available)
            plan_text = dry_run_text(scope, options, chosen, as_json=output_format == "json")
            write_text(plan_text, output)
            return
        chosen_policy = load_policy(settings.policy or DEFAULT_POLICY)
        raise_file_limit()
        scanner = Scanner(scope, options, database=load_for_judging(), policy=chosen_policy)
    except CamauditError as exc:
        fail(exc)
    with one_line_errors(), run_lock(settings, plan):
        if scanner.interfaces:
            err.print(
                "Multicast discovery on: "
                + ", ".join(f"{i.name} ({i.network})" for i in scanner.interfaces)
            )
        result = _run_with_progress(scanner, err, shown=output_format != "json")
        if settings.site:
            result = replace(result, site=settings.site)
        outcome = finish_scan(
            result, plan, lambda: _write_reports(result, output_format, output, settings)
        )
    describe(outcome, err)
    sys.exit(outcome.exit_code(fail_on))


def _write_reports(
    result: ScanResult, output_format: str, output: Path | None, settings: SiteConfig
) -> None:
    """The report the options ask for, then every `outputs` file of the config."""
    emit(result, output_format, output)
    for fmt, template in settings.outputs.items():
        emit(result, fmt, output_path(template, site=result.site, started=result.started_at))


def _scan_options(
    *,
    probes: tuple[str, ...],
    skip_probes: tuple[str, ...],
    interfaces: tuple[str, ...],
    multicast: bool,
    concurrency: int,
    rate: float,
    request_timeout: float,
    listen: float,
    onvif_credentials: Path | None,
    port_overrides: tuple[str, ...],
    http_ports: tuple[int, ...],
    https_ports: tuple[int, ...],
) -> ScanOptions:
    from camaudit.credentials import load_onvif_credentials
    from camaudit.options import DEFAULT_PORTS, HTTP_PORTS, HTTPS_PORTS

    ports = dict(DEFAULT_PORTS)
    for item in port_overrides:
        name, _, number = item.partition("=")
        if name not in DEFAULT_PORTS or not number.isdigit() or not 0 < int(number) < 65536:
            raise ConfigError(
                f"--port wants SERVICE=PORT, SERVICE one of {', '.join(DEFAULT_PORTS)}: {item!r}"
            )
        ports[name] = int(number)
    credentials = load_onvif_credentials(os.environ, onvif_credentials)
    return ScanOptions(
        probes=probes,
        skip_probes=skip_probes,
        interfaces=interfaces,
        multicast=multicast,
        concurrency=concurrency,
        rate=rate,
        request_timeout_s=request_timeout,
        wsd_listen_s=listen,
        ssdp_listen_s=listen,
        sadp_listen_s=listen,
        dhip_listen_s=listen,
        mdns_listen_s=listen,
        arp_listen_s=listen,
        ports=ports,
        http_ports=http_ports or HTTP_PORTS,
        https_ports=https_ports or HTTPS_PORTS,
        onvif_user=credentials.user if credentials else None,
        onvif_password=credentials.password if credentials else None,
    )


# What each of the scanner's stages counts, as the progress display words it.
STAGE_LABELS = {
    "liveness": "addresses asked ",
    "live": "live hosts found",
    "sweep": "live hosts swept",
    "discovery": "discovery probes",
    "hosts": "host probes done",
}


def _run_with_progress(scanner: Scanner, err: Console, *, shown: bool) -> ScanResult:
    """Run the scan with a progress display on stderr, only when stderr is a terminal and the
    output is not JSON (a pipeline reading JSON wants nothing else); Ctrl-C ends the scan early
    with what was found."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not (shown and err.is_terminal),
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(STAGE_LABELS.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        scanner.progress = progress
        return asyncio.run(_interruptible(scanner))


async def _interruptible(scanner: Scanner) -> ScanResult:
    """Ctrl-C cancels the scan; the scanner itself hands back what it found, marked interrupted."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    # NOTE: Windows event loops have no add_signal_handler; there asyncio.run's own Ctrl-C
    # handling cancels this task, which ends the scan the same way.
    handled = False
    if task is not None:
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGINT, task.cancel)
            handled = True
    try:
        return await scanner.run()
    finally:
        if handled:
            loop.remove_signal_handler(signal.SIGINT)

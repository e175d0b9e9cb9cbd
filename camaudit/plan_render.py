"""The dry-run plan as text for a person to approve, or as JSON for a change ticket."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from camaudit.net import Interface
from camaudit.options import ScanOptions
from camaudit.plan import PlannedProbe, ScanPlan, build_plan
from camaudit.targets import Scope

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # interface names come from the OS: keep them inert


def dry_run_text(
    scope: Scope, options: ScanOptions, interfaces: Sequence[Interface], *, as_json: bool
) -> str:
    """What `scan --dry-run` prints: the plan of this scan, as text or JSON."""
    plan = build_plan(scope, options, interfaces)
    return render_plan_json(plan) if as_json else render_plan_text(plan)


def render_plan_json(plan: ScanPlan) -> str:
    """The plan as one JSON document (schema camaudit.plan/1)."""
    return json.dumps(plan.as_dict(), indent=2, ensure_ascii=False) + "\n"


def render_plan_text(plan: ScanPlan) -> str:
    """The plan as plain text: scope, interfaces, each probe's sends, rate and duration."""
    lines = [
        "Dry run: nothing has been sent. A scan with these arguments would do this:",
        "",
        f"Scope: {plan.address_count} addresses ({', '.join(plan.targets) or 'none'})",
    ]
    if plan.excluded:
        lines.append(f"  excluded: {', '.join(plan.excluded)}")
    lines += [f"  {text}" for text in plan.address_ranges]
    lines += ["", *_interface_lines(plan), "", "Probes:"]
    for probe in plan.probes:
        lines += _probe_lines(probe)
    if plan.skipped:
        lines.append(f"  not run: {', '.join(plan.skipped)}")
    lines += ["", *_cost_lines(plan)]
    where = "as root" if plan.privileged else "without root"
    lines += ["", f"Running on {plan.platform}, {where}."]
    return "\n".join(_clean(line) for line in lines) + "\n"


def _interface_lines(plan: ScanPlan) -> list[str]:
    if not plan.interfaces:
        return ["Interfaces: none for multicast or broadcast (unicast to the targets only)"]
    lines = ["Interfaces for multicast and broadcast discovery:"]
    for interface in plan.interfaces:
        mac = f", MAC {interface.mac}" if interface.mac else ""
        lines.append(f"  {interface.name}: {interface.address} on {interface.network}{mac}")
    return lines


def _probe_lines(probe: PlannedProbe) -> list[str]:
    lines = [f"  {probe.name} [{probe.stage}]: sends {probe.sends}"]
    if probe.unicast:
        lines.append(f"      to {probe.unicast}")
    lines += [f"      to {group}" for group in probe.groups]
    if probe.sends_before_hosts:
        lines.append(f"      {probe.sends_before_hosts} packets or connections")
    if probe.requests_per_host:
        lines.append(f"      at most {probe.requests_per_host} requests per live host")
    if probe.privileges != "none":
        lines.append(f"      needs {probe.privileges}")
    if probe.note:
        lines.append(f"      note: {probe.note}")
    return lines


def _cost_lines(plan: ScanPlan) -> list[str]:
    lines = [
        f"Rate: at most {plan.rate:g} new connections or datagrams a second for the whole scan.",
        f"Discovery and sweep: {plan.sends_before_hosts} sends, about {plan.first_phase_s:g} s "
        f"(sending at the rate limit, then listening up to {plan.listen_s:g} s).",
    ]
    if plan.requests_per_live_host:
        lines.append(
            f"Then, for each host that answered: up to {plan.requests_per_live_host} requests, "
            f"each within {plan.request_timeout_s:g} s, {plan.concurrency} hosts' probes at once."
        )
    return lines


def _clean(line: str) -> str:
    return _CONTROL.sub("?", line)

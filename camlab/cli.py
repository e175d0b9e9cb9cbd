"""The simulator's command line: `python -m camlab up|down|status|exec|demo`.

camlab lives beside camaudit, not inside it: it drives camaudit (the demo scans with it) and
camaudit never imports it, so the product's wheel carries no simulator.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from camlab import control
from camlab.errors import LabError

LABID_HELP = "lab id: names start with cal-<id>- (1-10 lower-case letters/digits)"


class LabFailed(click.ClickException):
    """A lab error at the command line: exit code 3, as camaudit exits on a runtime error."""

    exit_code = 3


def _fail(exc: LabError) -> click.ClickException:
    return LabFailed(str(exc))


@click.group("camlab", context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """The simulated site: devices in network namespaces (root), or on loopback (demo)."""


@main.command("up")
@click.option(
    "--site", "site_name", default="default", show_default=True, help="site name or TOML path"
)
@click.option("--id", "labid", default="demo", show_default=True, help=LABID_HELP)
@click.option(
    "--scale",
    type=click.IntRange(0, 3200),
    default=0,
    help="add N filler devices on 198.18.16.0/20",
)
@click.option("--replace", is_flag=True, help="take down an existing lab with this id first")
def up_command(site_name: str, labid: str, scale: int, replace: bool) -> None:
    """Build the site and start its responder in the background."""
    try:
        if replace:
            control.down(labid)
        result = control.up(site_name, labid=labid, scale=scale)
    except LabError as exc:
        raise _fail(exc) from None
    site = result.site
    click.echo(
        f"lab {labid}: {len(site.devices)} devices on {len(site.subnets)} subnets "
        f"({', '.join(str(s.network) for s in site.subnets[:4])}"
        f"{', ...' if len(site.subnets) > 4 else ''})"
    )
    click.echo(
        f"namespaces in {result.seconds_topology:.2f} s, "
        f"responder ready in {result.seconds_responder:.2f} s "
        f"(pid {result.responder_pid}, {result.sockets} sockets)"
    )
    click.echo(f"scan with: python -m camlab exec --id {labid} -- camaudit scan {site.lan.network}")


@main.command("down")
@click.option("--id", "labid", default="demo", show_default=True, help=LABID_HELP)
def down_command(labid: str) -> None:
    """Stop the responder and delete every namespace of the lab (also after a crash)."""
    try:
        removed = control.down(labid)
    except LabError as exc:
        raise _fail(exc) from None
    click.echo(f"lab {labid}: removed {len(removed)} namespaces")


@main.command("status")
@click.option("--id", "labid", default="demo", show_default=True, help=LABID_HELP)
def status_command(labid: str) -> None:
    """Show the lab's namespaces, devices and responder."""
    state = control.status(labid)
    if not state.namespaces:
        click.echo(f"lab {labid}: down")
        return
    responder = f"pid {state.responder_pid}" if state.responder_pid else "NOT RUNNING"
    click.echo(
        f"lab {labid}: {len(state.namespaces)} namespaces, {state.devices} devices, "
        f"responder {responder}"
    )
    if state.plan:
        for device in state.plan["devices"][:200]:
            click.echo(
                f"  {device['netns']:<18} {device['ip']:<16} {device['mac']}  {device['persona']}"
            )


@main.command("exec", context_settings={"ignore_unknown_options": True})
@click.option("--id", "labid", default="demo", show_default=True, help=LABID_HELP)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_command(labid: str, command: tuple[str, ...]) -> None:
    """Run COMMAND inside the scanner's namespace; a leading `camaudit` runs this camaudit."""
    argv = list(command)
    if argv[0] == "camaudit":
        argv = [sys.executable, "-m", "camaudit", *argv[1:]]
    try:
        done = control.exec_in_scanner(labid, argv)
    except LabError as exc:
        raise _fail(exc) from None
    sys.exit(done.returncode)


@main.command("demo")
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("camaudit-demo"),
    show_default=True,
    help="where scan.json and the reports go",
)
@click.option(
    "--site", "site_name", default="default", show_default=True, help="site name or TOML path"
)
def demo_command(output_dir: Path, site_name: str) -> None:
    """Bring up the simulated site, audit it, write reports, tear it down."""
    from camlab.demo import run_demo, run_loopback_demo  # imports camaudit only when used

    output_dir.mkdir(parents=True, exist_ok=True)
    try:
        if os.geteuid() == 0:
            run_demo(output_dir, site_name, echo=click.echo)
        else:
            click.echo(
                "not root: network namespaces need CAP_SYS_ADMIN, so the demo runs its devices on"
            )
            click.echo("loopback instead (unicast channels only; no multicast, broadcast or ARP).")
            run_loopback_demo(output_dir, site_name, echo=click.echo)
    except LabError as exc:
        raise _fail(exc) from None

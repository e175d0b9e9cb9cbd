"""Bring a lab up (namespaces + detached responder), report on it, and take it down."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from camlab import topology
from camlab.errors import LabError
from camlab.site import Site, load_site, site_path, to_plan, write_plan

log = logging.getLogger(__name__)

# The responder runs as `python -m camlab.responder`; camlab is not installed, so the child is
# told where it is (the repository root, camlab's parent) whatever directory `up` ran from.
CAMLAB_ROOT = Path(__file__).resolve().parents[1]
RESPONDER_READY_S = 60.0  # opening ~10 sockets per device takes ~1 ms each; TLS keys ~0.1 s


@dataclass(frozen=True, slots=True, kw_only=True)
class LabStatus:
    """What `lab status` reports."""

    labid: str
    namespaces: tuple[str, ...]
    responder_pid: int | None
    devices: int
    plan: dict[str, Any] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class UpResult:
    """What `lab up` built and how long it took."""

    labid: str
    site: Site
    seconds_topology: float
    seconds_responder: float
    responder_pid: int
    sockets: int


def require_root() -> None:
    """LabError unless running as root (namespaces need CAP_SYS_ADMIN)."""
    if not topology.is_root():
        raise LabError(
            "the lab needs root: it creates network namespaces (try `sudo python -m camlab up`)"
        )


def up(
    site_name: str = "default",
    *,
    labid: str = "demo",
    scale: int = 0,
    dirs: list[Path] | None = None,
) -> UpResult:
    """Build the site's namespaces and start the responder; on any failure, remove what was made."""
    require_root()
    topology.check_labid(labid)
    site = load_site(site_path(site_name), dirs=dirs, scale=scale, seed=labid)
    if topology.list_namespaces(labid):
        raise LabError(
            f"lab {labid!r} already exists; run `python -m camlab down --id {labid}` first"
        )
    started = time.monotonic()
    try:
        topology.build(site, labid)
        built = time.monotonic()
        pid, sockets = _start_responder(site, labid, dirs)
    except BaseException:
        topology.teardown(labid)  # the lab did not exist before: everything named for it is ours
        raise
    return UpResult(
        labid=labid,
        site=site,
        seconds_topology=built - started,
        seconds_responder=time.monotonic() - built,
        responder_pid=pid,
        sockets=sockets,
    )


def _start_responder(site: Site, labid: str, dirs: list[Path] | None) -> tuple[int, int]:
    folder = topology.run_dir(labid)
    folder.mkdir(parents=True, exist_ok=True)
    plan_path, ready, requests = (
        folder / "plan.json",
        folder / "ready.json",
        folder / "requests.jsonl",
    )
    ready.unlink(missing_ok=True)
    write_plan(to_plan(site, labid=labid, dirs=dirs), plan_path)
    log_file = (folder / "responder.log").open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "camlab.responder",
            "--plan",
            str(plan_path),
            "--ready",
            str(ready),
            "--requests",
            str(requests),
        ],
        stdin=subprocess.DEVNULL,
        env=_with_camlab_on_path(dict(os.environ)),
        stdout=log_file,
        stderr=log_file,
        start_new_session=True,  # detached: survives the terminal that ran `lab up`
        close_fds=True,
    )
    log_file.close()
    (folder / "responder.pid").write_text(str(process.pid))
    deadline = time.monotonic() + RESPONDER_READY_S
    while not ready.exists():
        if process.poll() is not None:
            raise LabError(
                f"responder exited with {process.returncode}:\n{_tail(folder / 'responder.log')}"
            )
        if time.monotonic() > deadline:
            raise LabError(
                f"responder not ready after {RESPONDER_READY_S:.0f} s:\n"
                f"{_tail(folder / 'responder.log')}"
            )
        time.sleep(0.02)
    info = json.loads(ready.read_text())
    return process.pid, int(info["sockets"])


def _with_camlab_on_path(env: dict[str, str]) -> dict[str, str]:
    """The environment with camlab's parent first on PYTHONPATH."""
    rest = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join([str(CAMLAB_ROOT), *([rest] if rest else [])])
    return env


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def down(labid: str = "demo") -> list[str]:
    """Kill the responder and delete every namespace named for this lab (works after a crash)."""
    require_root()
    return topology.teardown(labid)


def status(labid: str = "demo") -> LabStatus:
    """What exists for this lab right now."""
    folder = topology.run_dir(labid)
    pid: int | None = None
    with contextlib.suppress(OSError, ValueError):
        candidate = int((folder / "responder.pid").read_text().strip())
        if Path(f"/proc/{candidate}").exists():
            pid = candidate
    plan: dict[str, Any] | None = None
    with contextlib.suppress(OSError, ValueError):
        plan = json.loads((folder / "plan.json").read_text())
    return LabStatus(
        labid=labid,
        namespaces=tuple(topology.list_namespaces(labid)),
        responder_pid=pid,
        devices=len(plan["devices"]) if plan else 0,
        plan=plan,
    )


def requests_seen(labid: str) -> list[dict[str, Any]]:
    """Every request the lab's devices have logged so far."""
    path = topology.run_dir(labid) / "requests.jsonl"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def exec_in_scanner(
    labid: str, command: list[str], **kwargs: Any
) -> subprocess.CompletedProcess[Any]:
    """Run a command inside the scanner's namespace (`ip netns exec`), as `lab exec` does."""
    require_root()
    scanner = topology.ns_scanner(labid)
    if scanner not in topology.list_namespaces(labid):
        raise LabError(f"lab {labid!r} is not up (no namespace {scanner})")
    env = kwargs.pop("env", None) or dict(os.environ)
    return subprocess.run(
        ["ip", "netns", "exec", scanner, *command], env=env, check=False, **kwargs
    )

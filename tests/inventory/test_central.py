"""The central inventory on both engines, from a real scan document: two sites, a week apart.

No network scan here (tests/inventory/test_central_site.py runs the real ones): the scans are
the lab's real document, re-dated and re-sited, stored the way `camaudit scan` stores them.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from inventory_samples import (
    ADDED_IP,
    MOVED_IP,
    MOVED_TO,
    REMOVED_IP,
    WEEK,
    real_scan,
    week_later,
)
from receiver import Hook

from camaudit.commands.history import history_group
from camaudit.commands.report import report_command
from camaudit.config import Webhook
from camaudit.exitcodes import EXIT_CANNOT, EXIT_FLAGGED, EXIT_OK
from camaudit.inventory.recorder import Outcome, RecordPlan, finish_scan, store_or_spool
from camaudit.inventory.store import open_store
from camaudit.models import ScanResult


def plan(db: str, tmp_path: Path, webhook: Webhook | None = None) -> RecordPlan:
    return RecordPlan(db=db, save=True, spool_dir=tmp_path / "spool", webhook=webhook)


def record(result: ScanResult, db: str, tmp_path: Path, hook: Hook | None = None) -> Outcome:
    webhook = Webhook(url=hook.url, timeout_s=5, retries=0) if hook else None
    return finish_scan(result, plan(db, tmp_path, webhook), lambda: None)


def two_sites_a_week_apart(db: str, tmp_path: Path) -> dict[str, Outcome]:
    """HQ and Depot scanned; a week later HQ has changed and Depot has not."""
    hq = real_scan("HQ")
    depot = real_scan("Depot")
    return {
        "hq-1": record(hq, db, tmp_path),
        "depot-1": record(depot, db, tmp_path),
        "hq-2": record(week_later(hq), db, tmp_path),
        "depot-2": record(real_scan("Depot", later=WEEK), db, tmp_path),
    }


def history(*args: str) -> Any:
    result = CliRunner().invoke(history_group, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_week_later_diff_is_exactly_the_change_for_the_right_site(
    db_location: str, tmp_path: Path
) -> None:
    """HQ: one new, one gone, one changed (moved, not new + gone); Depot: nothing."""
    two_sites_a_week_apart(db_location, tmp_path)
    hq = json.loads(history("diff", "--db", db_location, "--site", "HQ", "-f", "json"))
    assert [d["ip"] for d in hq["new"]] == [ADDED_IP]
    assert [d["ip"] for d in hq["gone"]] == [REMOVED_IP]
    assert [(c["was"]["ip"], c["device"]["ip"]) for c in hq["changed"]] == [(MOVED_IP, MOVED_TO)]
    assert [(f["field"], f["old"], f["new"]) for f in hq["changed"][0]["changes"]] == [
        ("ip", MOVED_IP, MOVED_TO)
    ]
    assert hq["new"][0]["evidence"], "the new unit comes with its evidence"
    depot = json.loads(history("diff", "--db", db_location, "--site", "Depot", "-f", "json"))
    assert (depot["new"], depot["gone"], depot["changed"]) == ([], [], [])
    assert depot["site"] == "Depot"


def test_history_list_and_default_diff_keep_sites_apart(db_location: str, tmp_path: Path) -> None:
    """list --site shows one site's scans; a bare diff compares the newest scan's site only."""
    two_sites_a_week_apart(db_location, tmp_path)
    everything = history("list", "--db", db_location)
    assert "4 saved scans" in everything
    only_hq = history("list", "--db", db_location, "--site", "HQ")
    assert "2 saved scans" in only_hq
    assert "Depot" not in only_hq
    newest = json.loads(history("diff", "--db", db_location, "-f", "json"))
    assert newest["site"] == "Depot"  # the last scan stored was Depot's
    assert newest["new"] == []


def test_diff_of_two_ids_from_another_site_is_refused(db_location: str, tmp_path: Path) -> None:
    """Asking for --site HQ with Depot's scan ids is a one-line usage error."""
    done = two_sites_a_week_apart(db_location, tmp_path)
    ids = [str(done["depot-1"].current.scan_id), str(done["depot-2"].current.scan_id)]
    result = CliRunner().invoke(history_group, ["diff", *ids, "--db", db_location, "--site", "HQ"])
    assert result.exit_code == 2
    assert "not 'HQ'" in result.output


def test_new_flagged_unit_fails_the_run_and_reaches_the_webhook(
    db_location: str, tmp_path: Path, webhook: Hook
) -> None:
    """The week-later HQ scan adds one flagged unit: exit 1 when asked, and one event naming it."""
    first = record(real_scan("HQ"), db_location, tmp_path, webhook)
    assert len(first.current.new_flagged) == 4  # a site's first scan: every flagged unit is new
    record(real_scan("Depot"), db_location, tmp_path, webhook)
    webhook.events.clear()
    again = record(real_scan("HQ", later=WEEK / 7), db_location, tmp_path, webhook)
    assert again.current.new_flagged == ()
    assert again.exit_code({"new-flagged"}) == EXIT_OK
    assert webhook.events == [], "no event when nothing is new"
    later = record(week_later(real_scan("HQ")), db_location, tmp_path, webhook)
    assert [str(d.ip) for d in later.current.new_flagged] == [ADDED_IP]
    assert later.exit_code({"new-flagged"}) == EXIT_FLAGGED
    assert later.exit_code(()) == EXIT_OK
    [event] = webhook.events
    assert (event["event"], event["site"]) == ("camaudit.new_flagged", "HQ")
    assert event["scan_id"] == later.current.scan_id
    [unit] = event["devices"]
    assert (unit["ip"], unit["maker"], unit["flagged"]) == (ADDED_IP, "hikvision", True)
    assert unit["evidence"]
    assert all("channel" in e for e in unit["evidence"])
    assert later.current.webhook is not None
    assert later.current.webhook.ok


def test_failed_webhook_is_reported_and_fails_only_when_asked(
    db_location: str, tmp_path: Path
) -> None:
    """Nobody listening: the scan is stored, the delivery is marked failed after its retries."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    hook = Webhook(url=f"http://127.0.0.1:{port}/hook", timeout_s=2, retries=1)
    outcome = finish_scan(real_scan("HQ"), plan(db_location, tmp_path, hook), lambda: None)
    assert outcome.current.scan_id is not None
    assert outcome.current.webhook is not None
    assert (outcome.current.webhook.ok, outcome.current.webhook.attempts) == (False, 2)
    assert outcome.exit_code(()) == EXIT_OK
    assert outcome.exit_code({"webhook"}) == EXIT_CANNOT


def unreachable(engine: str, tmp_path: Path) -> str:
    """An inventory location that cannot be opened on this engine."""
    if engine == "postgres":
        return f"postgresql://camaudit@/central?host={tmp_path / 'no-server-here'}"
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    return str(blocker / "inventory.sqlite3")


def test_unreachable_inventory_spools_and_the_next_run_sends_it(
    engine: str, db_location: str, tmp_path: Path, webhook: Hook
) -> None:
    """Down: the report is still written and the scan spooled. Up again: both scans land."""
    record(real_scan("HQ"), db_location, tmp_path)
    written: list[str] = []
    hook = Webhook(url=webhook.url, timeout_s=5, retries=0)
    down = RecordPlan(db=unreachable(engine, tmp_path), save=True, spool_dir=tmp_path / "spool",
                      webhook=hook)  # fmt: skip
    missed = finish_scan(week_later(real_scan("HQ")), down, lambda: written.append("report"))
    assert written == ["report"]
    assert missed.spooled is not None
    assert missed.spooled.is_file()
    assert missed.problem is not None
    assert "\n" not in missed.problem
    assert missed.exit_code(()) == EXIT_OK
    assert missed.exit_code({"spooled"}) == EXIT_CANNOT
    assert webhook.events == []
    same_again = week_later(real_scan("HQ", later=WEEK))
    back = finish_scan(same_again, plan(db_location, tmp_path, hook), lambda: None)
    assert [r.scan_id is not None for r in back.earlier] == [True]
    assert list((tmp_path / "spool").iterdir()) == []
    with open_store(db_location) as store:
        days = [(s.started_at - real_scan().started_at).days for s in store.scans(site="HQ")]
    assert days == [0, 7, 14]
    # The spooled scan's alarm is raised when it lands (once: the unit is not new the week after),
    # and this run's exit code carries it.
    assert [[d["ip"] for d in e["devices"]] for e in webhook.events] == [[ADDED_IP]]
    assert back.current.new_flagged == ()
    assert back.exit_code({"new-flagged"}) == EXIT_FLAGGED


def test_spooled_scan_sent_twice_is_stored_once(db_location: str, tmp_path: Path) -> None:
    """The scan's uid guards a spool file sent again (a run killed after the commit)."""
    result = real_scan("HQ")
    first = store_or_spool(result, plan(db_location, tmp_path), uid="0" * 32)
    second = store_or_spool(result, plan(db_location, tmp_path), uid="0" * 32)
    assert first.current.scan_id == second.current.scan_id


def test_all_sites_rollup(db_location: str, tmp_path: Path) -> None:
    """Per site: flagged now, removed since the scan before, not seen since (with its date)."""
    two_sites_a_week_apart(db_location, tmp_path)
    runner = CliRunner()
    as_json = runner.invoke(report_command, ["--db", db_location, "--all-sites", "-f", "json"])
    assert as_json.exit_code == 0, as_json.output
    sites = {s["site"]: s for s in json.loads(as_json.output)["sites"]}
    assert (sites["HQ"]["flagged"], sites["HQ"]["removed"], sites["HQ"]["scans"]) == (4, 1, 2)
    [missing] = sites["HQ"]["not_seen_since"]
    assert missing["device"] == "mac:4c:11:bf:88:1f:96"  # the Dahua bullet that was at .11
    assert missing["last_seen"].startswith(real_scan().started_at.date().isoformat())
    assert (sites["Depot"]["flagged"], sites["Depot"]["removed"]) == (4, 0)
    assert sites["Depot"]["not_seen_since"] == []
    out = tmp_path / "all.html"
    html = runner.invoke(
        report_command, ["--db", db_location, "--all-sites", "-f", "html", "-o", str(out)]
    )
    assert html.exit_code == 0, html.output
    page = out.read_text(encoding="utf-8")
    assert "<td>HQ</td>" in page
    assert "<td>Depot</td>" in page
    assert "mac:4c:11:bf:88:1f:96" in page


def test_rollup_escapes_a_hostile_site_name(db_location: str, tmp_path: Path) -> None:
    """A site name is user text: escaped in the HTML roll-up."""
    record(real_scan("<script>alert(1)</script>"), db_location, tmp_path)
    result = CliRunner().invoke(report_command, ["--db", db_location, "--all-sites", "-f", "html"])
    assert result.exit_code == 0
    assert "<script>alert" not in result.output
    assert "&lt;script&gt;" in result.output


@pytest.mark.parametrize("args", [["history", "list"], ["report", "--all-sites"]])
def test_unreachable_database_is_one_line(tmp_path: Path, args: list[str]) -> None:
    """Reading commands with an unreachable server exit 3 with one line."""
    from camaudit.commands import main

    url = f"postgresql://camaudit@/central?host={tmp_path}"
    result = CliRunner().invoke(main, [*args, "--db", url])
    assert result.exit_code == 3
    assert len(result.output.strip().splitlines()) == 1
    assert "cannot reach inventory" in result.output


def test_checklist_from_the_inventory_takes_the_named_sites_latest(
    db_location: str, tmp_path: Path
) -> None:
    """checklist --db --site HQ uses HQ's latest scan even when another site scanned since."""
    from camaudit.commands.checklist import checklist_command

    two_sites_a_week_apart(db_location, tmp_path)  # Depot's scan is the newest overall
    out = tmp_path / "hq.csv"
    args = ["--db", db_location, "--site", "HQ", "-o", str(out)]
    result = CliRunner().invoke(checklist_command, args)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert ADDED_IP in text  # only HQ's week-later scan has the new unit


def test_webhook_that_never_answers_is_bounded_by_its_timeout(
    db_location: str, tmp_path: Path
) -> None:
    """A receiver that accepts and then says nothing costs (retries + 1) timeouts and a pause."""
    import time

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        hook = Webhook(url=url, timeout_s=0.5, retries=1)
        started = time.monotonic()
        outcome = finish_scan(real_scan("HQ"), plan(db_location, tmp_path, hook), lambda: None)
        elapsed = time.monotonic() - started
    assert outcome.current.scan_id is not None  # stored before the webhook was tried
    assert outcome.current.webhook is not None
    assert not outcome.current.webhook.ok
    assert "timed out" in outcome.current.webhook.detail
    assert 2.0 <= elapsed < 6.0  # 0.5 + 1 s pause + 0.5, plus the store


def test_damaged_inventory_is_one_line_and_unchanged(tmp_path: Path) -> None:
    """history list on a file that is not an inventory: exit 3, one line, the file as it was."""
    path = tmp_path / "inventory.sqlite3"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    result = CliRunner().invoke(history_group, ["list", "--db", str(path)])
    assert result.exit_code == 3
    assert len(result.output.strip().splitlines()) == 1
    assert path.read_bytes() == b"SQLite format 3\x00" + b"\xff" * 200

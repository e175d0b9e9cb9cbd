"""JSON, CSV, HTML and terminal reports: golden output, round trips, and hostile strings."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Callable
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from report_samples import (
    HOSTILE_BRAND,
    HOSTILE_MODEL,
    HOSTILE_SERIAL,
    hikvision_camera,
    make_scan,
)
from rich.console import Console

from camaudit import scanfile
from camaudit.errors import ConfigError
from camaudit.models import ScanResult
from camaudit.reports import REPORTS, as_csv, as_html, render_table
from camaudit.reports.base import neutralise_cell, unneutralise_cell
from camaudit.untrusted import clean_text

Golden = Callable[[str, str], None]


def table_text(result: ScanResult) -> str:
    console = Console(record=True, width=160, no_color=True, file=io.StringIO())
    render_table(result, console)
    return console.export_text()


class TestJson:
    def test_matches_golden(self, scan_result: ScanResult, golden: Golden) -> None:
        """The JSON report is stable, key order included."""
        golden("scan.json", scanfile.dumps(scan_result))

    def test_round_trips(self, scan_result: ScanResult) -> None:
        """from_dict(to_dict(x)) gives back the same devices, probes and times."""
        back = scanfile.from_dict(scanfile.to_dict(scan_result))
        assert sorted(back.devices, key=lambda d: d.ip) == sorted(
            scan_result.devices, key=lambda d: d.ip
        )
        assert back.probes == scan_result.probes
        assert back.started_at == scan_result.started_at
        assert replace(back, devices=()) == replace(scan_result, devices=())

    def test_flagged_devices_come_first_then_by_ip(self, scan_result: ScanResult) -> None:
        """Device order: flagged first, then numerically by IP."""
        ips = [d["ip"] for d in scanfile.to_dict(scan_result)["devices"]]
        assert ips == ["198.51.100.7", "198.51.100.20", "198.51.100.30", "198.51.101.4"]

    def test_summary_counts_by_maker(self, scan_result: ScanResult) -> None:
        """Summary counts devices, flagged devices and devices per maker."""
        summary = scanfile.to_dict(scan_result)["summary"]
        assert summary == {"devices": 4, "flagged": 2,
                           "by_maker": {"dahua": 2, "axis": 1, "hikvision": 1}}  # fmt: skip

    def test_unknown_schema_is_refused(self, scan_result: ScanResult) -> None:
        """A file from another schema version raises ConfigError naming it."""
        data = scanfile.to_dict(scan_result) | {"schema": "camaudit.scan/99"}
        with pytest.raises(ConfigError, match="camaudit.scan/99"):
            scanfile.from_dict(data)

    @pytest.mark.parametrize(
        ("path", "value", "message"),
        [
            (("devices", 0, "ip"), "not-an-ip", "devices\\[0\\].ip"),
            (("devices", 1, "verdict"), "certain", "devices\\[1\\].verdict"),
            (("probes", 0, "evidence_count"), True, "probes\\[0\\].evidence_count"),
            (("started_at",), "2024-05-01T09:00:00", "no UTC offset"),
        ],
    )
    def test_bad_field_is_named(
        self, scan_result: ScanResult, path: tuple[object, ...], value: object, message: str
    ) -> None:
        """A wrong field raises ConfigError that says where."""
        data = scanfile.to_dict(scan_result)
        target: object = data
        for step in path[:-1]:
            target = target[step]  # type: ignore[index]
        target[path[-1]] = value  # type: ignore[index]
        with pytest.raises(ConfigError, match=message):
            scanfile.from_dict(data)

    def test_load_reads_a_file_and_rejects_garbage(
        self, scan_result: ScanResult, tmp_path: Path
    ) -> None:
        """load() reads a saved scan; a non-JSON file is a ConfigError."""
        good = tmp_path / "scan.json"
        good.write_text(scanfile.dumps(scan_result))
        assert len(scanfile.load(good).devices) == 4
        bad = tmp_path / "bad.json"
        bad.write_bytes(b"\x89PNG\r\n")
        with pytest.raises(ConfigError, match="bad.json"):
            scanfile.load(bad)

    @settings(max_examples=200, deadline=None)
    @given(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(),
            lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        )
    )
    def test_random_json_never_crashes(self, data: object) -> None:
        """Any JSON value either loads or raises ConfigError, nothing else."""
        with contextlib.suppress(ConfigError):
            scanfile.loads(json.dumps(data))

    def test_hostile_strings_survive_exactly(self, scan_result: ScanResult) -> None:
        """JSON keeps device strings as received (escaping is the reader's job)."""
        back = scanfile.loads(scanfile.dumps(scan_result))
        assert HOSTILE_MODEL in {d.model for d in back.devices}


class TestCsv:
    def test_matches_golden(self, scan_result: ScanResult, golden: Golden) -> None:
        """The CSV report is stable."""
        golden("scan.csv", as_csv.render(scan_result))

    def test_formula_cells_are_neutralised(self, scan_result: ScanResult) -> None:
        """No cell starts with = + - @ tab or CR; the hostile values carry an apostrophe."""
        rows = list(csv.reader(io.StringIO(as_csv.render(scan_result))))
        assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
                   for row in rows for cell in row)  # fmt: skip
        hostile = rows[1]
        assert hostile[rows[0].index("brand")] == "'" + HOSTILE_BRAND
        assert hostile[rows[0].index("serial")] == "'" + HOSTILE_SERIAL

    def test_one_row_per_device(self, scan_result: ScanResult) -> None:
        """Header plus one row per device."""
        assert len(list(csv.reader(io.StringIO(as_csv.render(scan_result))))) == 5

    @given(st.text())
    def test_neutralise_round_trips(self, text: str) -> None:
        """unneutralise(neutralise(x)) == x, and neutralising twice changes nothing more."""
        once = neutralise_cell(text)
        assert not once.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert unneutralise_cell(once) == text or text.startswith("'")
        assert neutralise_cell(once) == once


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


class TestHtml:
    def test_matches_golden(self, scan_result: ScanResult, golden: Golden) -> None:
        """The HTML report is stable."""
        golden("scan.html", as_html.render(scan_result))

    def test_hostile_strings_are_escaped(self, scan_result: ScanResult) -> None:
        """No element comes from a device string: no img, no script, ever."""
        page = as_html.render(scan_result)
        parser = _Elements()
        parser.feed(page)
        tags = [tag for tag, _ in parser.tags]
        assert "img" not in tags
        assert tags.count("script") == 1  # the report's own, pinned by the CSP hash
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
        assert "\x1b" not in page

    def test_self_contained(self, scan_result: ScanResult) -> None:
        """Nothing is loaded from anywhere: no src, no stylesheet links; the only hrefs are the
        advisories' NVD pages, to follow by hand. The CSP allows only the page's own style and
        script, by hash; there is a viewport and print CSS."""
        page = as_html.render(scan_result)
        parser = _Elements()
        parser.feed(page)
        assert [(t, a) for t, a in parser.tags if a.get("src")] == []
        hrefs = [a["href"] for _, a in parser.tags if a.get("href")]
        assert hrefs
        assert all(h.startswith("https://nvd.nist.gov/vuln/detail/CVE-") for h in hrefs)
        assert {"link", "iframe", "object", "embed"}.isdisjoint(t for t, _ in parser.tags)
        csp = "Content-Security-Policy"
        policy = next(a["content"] for t, a in parser.tags if a.get("http-equiv") == csp)
        assert policy.startswith("default-src 'none'; style-src 'sha256-")
        style, script = as_html._assets()
        assert f"'{as_html.csp_hash(script)}'" in policy
        assert f"<script>{script}</script>" in page
        assert '<meta name="viewport"' in page
        assert "@media print" in page
        assert "<svg" in page

    def test_skipped_and_failed_probes_say_why(self, scan_result: ScanResult) -> None:
        """Every skipped or failed probe appears with its reason."""
        page = as_html.render(scan_result)
        assert "needs CAP_NET_RAW" in page
        assert "timed out after 30 s" in page

    def test_registered_in_reports(self) -> None:
        """REPORTS offers exactly json, csv and html."""
        assert set(REPORTS) == {"json", "csv", "html"}


class TestTable:
    def test_matches_golden(self, scan_result: ScanResult, golden: Golden) -> None:
        """The terminal table (no colour, 160 columns) is stable."""
        golden("table.txt", table_text(scan_result))

    def test_markup_and_escapes_stay_literal(self, scan_result: ScanResult) -> None:
        """Rich markup in a device string is printed, ANSI escapes are stripped."""
        console = Console(record=True, width=400, force_terminal=True, file=io.StringIO())
        render_table(scan_result, console)
        styled = console.export_text(styles=False)
        assert "[bold]build[/bold]" in styled
        raw = console.file.getvalue()  # type: ignore[attr-defined]
        assert "[31mV5.5.0" in raw
        assert "\x1b[31mV5.5.0" not in raw

    def test_probe_line_and_top_evidence(self, scan_result: ScanResult) -> None:
        """The table says which probes did not run and shows evidence under flagged devices."""
        text = table_text(scan_result)
        assert "arp skipped (needs CAP_NET_RAW" in text
        assert "sadp::hikvision-sadp" in text

    def test_empty_scan_renders(self) -> None:
        """A scan with no devices still renders every format."""
        empty = make_scan(())
        assert "0 devices, 0 flagged" in table_text(empty)
        for render in REPORTS.values():
            assert render(empty)


def test_clean_text_strips_controls_and_bidi() -> None:
    """Control characters and bidi overrides are removed; tabs and newlines become spaces."""
    assert clean_text("a\x1b[1mb\x00c\u202ed\te\nf\x85") == "a[1mbcd e f"


def test_lone_surrogate_from_a_device_still_writes_utf8(scan_result: ScanResult) -> None:
    """A device JSON string "\\ud800" (valid JSON, unencodable) cannot crash any report."""
    from camaudit.reports import checklist

    odd = replace(hikvision_camera(), model="DS\ud800X", serial="\udfff1")
    result = make_scan((odd,))
    for fmt, render in REPORTS.items():
        assert "DS" in render(result).encode("utf-8").decode("utf-8"), fmt
    assert "DS\ufffdX" in table_text(result)
    assert "DS\ufffdX" in checklist.render_md(checklist.build(result))
    assert "\ufffd1" in checklist.render_html(checklist.build(result)).encode("utf-8").decode()


def test_strongest_evidence_prefers_matched_rules() -> None:
    """An item no rule read never beats one a rule matched."""
    from camaudit.reports.base import strongest_evidence

    top = strongest_evidence(hikvision_camera())
    assert [item.rule for item in top] == [
        "sadp::hikvision-sadp", "http_server::hikvision-app-webs", "mac_oui::hikvision-oui",
    ]  # fmt: skip

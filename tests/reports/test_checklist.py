"""The removal checklist: grouping, formats, hostile strings, staff edits surviving rescans."""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Callable
from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from report_samples import (
    HOSTILE_BRAND,
    HOSTILE_MODEL,
    axis_camera,
    hikvision_camera,
    hostile_device,
    make_scan,
    possible_dahua,
)

from camaudit import scanfile
from camaudit.commands.checklist import checklist_command
from camaudit.errors import ConfigError
from camaudit.models import AdvisoryMatch, AdvisoryStatus, Device, ScanResult, Verdict
from camaudit.reports import checklist

Golden = Callable[[str, str], None]


def new_hikvision() -> Device:
    """A second Hikvision camera that appears in a later scan."""
    return replace(hikvision_camera(), ip=IPv4Address("198.51.100.21"), mac="58:50:ed:00:00:21",
                   serial="DS-2CD1023G0-I20210101AAWRF00000021")  # fmt: skip


def rescan() -> ScanResult:
    """A week later: the hostile NVR is gone, a new Hikvision appeared, the old one updated."""
    moved = replace(hikvision_camera(), firmware="V5.7.0")
    return make_scan((axis_camera(), possible_dahua(), moved, new_hikvision()), day=8)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


class TestBuild:
    def test_only_flagged_devices_are_listed(self, scan_result: ScanResult) -> None:
        """Flagged devices go to the list; possible Dahua to verify; Axis to neither."""
        built = checklist.build(scan_result)
        assert [r.ip for r in built.rows] == ["198.51.100.7", "198.51.100.20"]
        assert [r.ip for r in built.verify] == ["198.51.100.30"]
        assert [r.item for r in (*built.rows, *built.verify)] == [1, 2, 3]

    def test_grouped_by_site_then_subnet_then_ip(self) -> None:
        """Rows are ordered by subnet (/24) and then numerically by IP."""
        far = replace(hikvision_camera(), ip=IPv4Address("198.18.0.9"), mac="58:50:ed:00:00:09")
        no_cve = replace(hostile_device(), advisories=())  # its CVE would put it first
        built = checklist.build(make_scan((hikvision_camera(), no_cve, far)))
        assert [(r.subnet, r.ip) for r in built.rows] == [
            ("198.18.0.0/24", "198.18.0.9"),
            ("198.51.100.0/24", "198.51.100.7"),
            ("198.51.100.0/24", "198.51.100.20"),
        ]

    def test_row_fields(self, scan_result: ScanResult) -> None:
        """A row carries verdict, top evidence, the policy rule and an action."""
        row = checklist.build(scan_result, site="Depot 4").rows[1]
        assert row.site == "Depot 4"
        assert row.verdict == "confirmed 0.97"
        # Humanised for paper, never the raw XML: the SADP reply gave the model the row shows.
        assert row.evidence == 'SADP reply: model; web server "App-webs/"'
        assert "<" not in row.evidence
        assert row.policy_rule.startswith("us-ndaa-889: maker hikvision")
        assert row.action == "remove"
        assert checklist.build(scan_result).rows[0].action == "replace"  # an NVR
        assert checklist.build(scan_result).verify[0].action == "verify on site"

    def test_seen_dates_come_from_the_inventory(self, scan_result: ScanResult) -> None:
        """First/last seen use the dates handed in, keyed by device key."""
        first = scan_result.started_at.replace(year=2023)
        seen = {"mac:58:50:ed:1f:e3:85": (first, scan_result.started_at)}
        row = checklist.build(scan_result, seen=seen).rows[1]
        assert (row.first_seen, row.last_seen) == ("2023-05-01", "2024-05-01")

    def test_known_exploited_firmware_goes_first_with_its_link(self) -> None:
        """A unit whose firmware has a known-exploited CVE is listed before units without one,
        whatever its address; its row names the CVE with the NVD link."""
        exploited = AdvisoryMatch(
            id="CVE-2021-36260", title="t", status=AdvisoryStatus.AFFECTED, known_exploited=True,
            links={"nvd": "https://nvd.nist.gov/vuln/detail/CVE-2021-36260"},
        )  # fmt: skip
        unknown = replace(exploited, status=AdvisoryStatus.FIRMWARE_UNKNOWN)
        late = replace(hikvision_camera(), ip=IPv4Address("198.51.100.250"), mac=None,
                       serial=None, advisories=(exploited,))  # fmt: skip
        early = replace(hikvision_camera(), advisories=(unknown,))
        built = checklist.build(make_scan((early, late, replace(hostile_device(), advisories=()))))
        assert [r.ip for r in built.rows] == ["198.51.100.250", "198.51.100.7", "198.51.100.20"]
        assert built.rows[0].vulnerabilities == (
            "CVE-2021-36260 (exploited, affected) https://nvd.nist.gov/vuln/detail/CVE-2021-36260"
        )
        assert "firmware unknown" in built.rows[2].vulnerabilities

    def test_possible_from_unflagged_maker_is_not_listed(self) -> None:
        """A possible Axis is not worth a site visit."""
        maybe = replace(axis_camera(), verdict=Verdict.POSSIBLE)
        assert checklist.build(make_scan((maybe,))).verify == ()

    def test_format_from_ending_or_option(self) -> None:
        """The format follows the file ending unless --format says otherwise."""
        assert checklist.format_for(Path("a.XLSX"), None) == "xlsx"
        assert checklist.format_for(Path("a.txt"), "md") == "md"
        with pytest.raises(ConfigError, match="--format"):
            checklist.format_for(Path("a.txt"), None)


class TestFormats:
    def test_md_matches_golden(self, scan_result: ScanResult, golden: Golden) -> None:
        """Markdown output is stable and escapes HTML in device strings."""
        text = checklist.render_md(checklist.build(scan_result))
        golden("checklist.md", text)
        assert "<img" not in text

    def test_html_matches_golden(self, scan_result: ScanResult, golden: Golden) -> None:
        """HTML checklist is stable, escaped, printable and self-contained."""
        page = checklist.render_html(checklist.build(scan_result))
        golden("checklist.html", page)
        assert "<img" not in page
        assert "&lt;img" in page
        assert "@media print" in page
        assert "src=" not in page.replace("src=x", "")

    def test_csv_matches_golden_and_neutralises(
        self, scan_result: ScanResult, tmp_path: Path, golden: Golden
    ) -> None:
        """CSV goes to two files; formula-shaped cells get an apostrophe."""
        out = tmp_path / "list.csv"
        checklist.write(checklist.build(scan_result), out, "csv")
        golden("checklist.csv", out.read_text(encoding="utf-8"))
        rows = read_csv(out)
        assert rows[0]["brand"] == "'" + HOSTILE_BRAND
        assert rows[0]["policy rule and source"].startswith("us-ndaa-889: -maker")
        assert [r["IP"] for r in read_csv(tmp_path / "list-verify.csv")] == ["198.51.100.30"]

    def test_xlsx_is_a_working_spreadsheet(self, scan_result: ScanResult, tmp_path: Path) -> None:
        """Frozen header, auto-filter, status drop-down, fitted widths, formulas stored as text."""
        out = tmp_path / "list.xlsx"
        checklist.write(checklist.build(scan_result), out, "xlsx")
        book = load_workbook(out)
        assert book.sheetnames == ["Checklist", "Verify on site"]
        sheet = book["Checklist"]
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == "A1:W3"
        validations = sheet.data_validations.dataValidation
        assert len(validations) == 1
        assert validations[0].type == "list"
        assert "verified not covered" in (validations[0].formula1 or "")
        assert str(validations[0].sqref).startswith("U2:U")
        header = [c.value for c in sheet[1]]
        brand = sheet.cell(row=2, column=header.index("brand") + 1)
        assert brand.value == "'" + HOSTILE_BRAND
        assert brand.data_type == "s"
        model = sheet.cell(row=2, column=header.index("model") + 1)
        assert model.value == HOSTILE_MODEL
        assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
        evidence_width = sheet.column_dimensions["P"].width
        assert 20 < evidence_width <= 60
        assert book["Verify on site"].cell(row=2, column=6).value == "198.51.100.30"


class TestStaffEditsSurvive:
    def test_csv_round_trip(self, scan_result: ScanResult, tmp_path: Path) -> None:
        """Edits kept, vanished device marked, new device appended with a new number."""
        out = tmp_path / "list.csv"
        checklist.write(checklist.build(scan_result), out, "csv")
        rows = read_csv(out)
        rows[0].update(location="Plant room", status="cannot access", notes="=locked cabinet")
        rows[1].update(location="Car park pole 3", status="removed", **{"sign-off": "J. Smith"})
        with out.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        verify_rows = read_csv(tmp_path / "list-verify.csv")
        verify_rows[0]["notes"] = "in the loft"
        with (tmp_path / "list-verify.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(verify_rows[0]))
            writer.writeheader()
            writer.writerows(verify_rows)

        checklist.write(checklist.build(rescan()), out, "csv")
        after = read_csv(out)
        assert [(r["item"], r["IP"]) for r in after] == [
            ("1", "198.51.100.7"), ("2", "198.51.100.20"), ("4", "198.51.100.21"),
        ]  # fmt: skip
        gone, kept, new = after
        assert (gone["location"], gone["status"]) == ("Plant room", "cannot access")
        assert gone["notes"] == "'=locked cabinet"
        assert gone["action"] == "not seen since 2024-05-01"
        assert (kept["location"], kept["status"], kept["sign-off"]) == (
            "Car park pole 3", "removed", "J. Smith")  # fmt: skip
        assert kept["firmware"] == "V5.7.0"
        assert (kept["first seen"], kept["last seen"]) == ("2024-05-01", "2024-05-08")
        assert new["status"] == "to do"
        assert new["action"] == "remove"
        assert read_csv(tmp_path / "list-verify.csv")[0]["notes"] == "in the loft"

        # A third run changes nothing a person typed and does not stack apostrophes.
        checklist.write(checklist.build(rescan()), out, "csv")
        assert read_csv(out) == after

    def test_xlsx_round_trip(self, scan_result: ScanResult, tmp_path: Path) -> None:
        """The same guarantees for XLSX edited with openpyxl, as a spreadsheet app would save it."""
        out = tmp_path / "list.xlsx"
        checklist.write(checklist.build(scan_result), out, "xlsx")
        book = load_workbook(out)
        sheet = book["Checklist"]
        header = [c.value for c in sheet[1]]
        col = {name: header.index(name) + 1 for name in header}
        sheet.cell(row=2, column=col["location"]).value = "Plant room"
        sheet.cell(row=3, column=col["status"]).value = "removed"
        sheet.cell(row=3, column=col["sign-off"]).value = "J. Smith"
        book.save(out)

        checklist.write(checklist.build(rescan()), out, "xlsx")
        sheet = load_workbook(out)["Checklist"]
        rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
        assert [(r[0], r[col["IP"] - 1]) for r in rows] == [
            (1, "198.51.100.7"), (2, "198.51.100.20"), (4, "198.51.100.21"),
        ]  # fmt: skip
        assert rows[0][col["location"] - 1] == "Plant room"
        assert rows[0][col["action"] - 1] == "not seen since 2024-05-01"
        assert rows[1][col["status"] - 1] == "removed"
        assert rows[1][col["sign-off"] - 1] == "J. Smith"
        assert rows[2][col["status"] - 1] == "to do"
        assert sheet.freeze_panes == "A2"
        assert len(sheet.data_validations.dataValidation) == 1

    def test_device_promoted_from_verify_keeps_its_notes(
        self, scan_result: ScanResult, tmp_path: Path
    ) -> None:
        """A possible device later confirmed moves to the main list with its edits and number."""
        out = tmp_path / "list.csv"
        checklist.write(checklist.build(scan_result), out, "csv")
        verify_file = tmp_path / "list-verify.csv"
        rows = read_csv(verify_file)
        rows[0]["notes"] = "label says Lorex"
        with verify_file.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        confirmed = replace(possible_dahua(), verdict=Verdict.CONFIRMED, flagged=True)
        later = make_scan((hikvision_camera(), hostile_device(), confirmed), day=8)
        checklist.write(checklist.build(later), out, "csv")
        last = read_csv(out)[-1]
        assert (last["item"], last["IP"], last["notes"]) == ("3", "198.51.100.30",
                                                            "label says Lorex")  # fmt: skip
        assert read_csv(verify_file) == []

    def test_verify_file_edits_survive_a_missing_main_file(
        self, scan_result: ScanResult, tmp_path: Path
    ) -> None:
        """Notes typed in list-verify.csv are kept even when list.csv was moved away."""
        out = tmp_path / "list.csv"
        checklist.write(checklist.build(scan_result), out, "csv")
        verify_file = tmp_path / "list-verify.csv"
        rows = read_csv(verify_file)
        rows[0]["notes"] = "behind the ceiling tile"
        with verify_file.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        out.unlink()
        checklist.write(checklist.build(scan_result), out, "csv")
        assert read_csv(verify_file)[0]["notes"] == "behind the ceiling tile"
        assert len(read_csv(out)) == 2

    @pytest.mark.parametrize(
        ("name", "content"),
        [
            ("list.csv", b"this,is,not\r\na,checklist,at all\r\n"),
            ("list.csv", b"\xff\xfe\x00garbage"),
            ("list.xlsx", b"PK\x03\x04 not really a zip"),
        ],
    )
    def test_unparseable_file_is_left_untouched(
        self, scan_result: ScanResult, tmp_path: Path, name: str, content: bytes
    ) -> None:
        """An existing file we cannot read is refused as bad input (exit 2) and not modified."""
        scan_file = tmp_path / "scan.json"
        scan_file.write_text(scanfile.dumps(scan_result))
        out = tmp_path / name
        out.write_bytes(content)
        result = CliRunner().invoke(checklist_command, [str(scan_file), "-o", str(out)])
        assert result.exit_code == 2
        assert "not" in result.output
        assert len(result.output.strip().splitlines()) == 1
        assert out.read_bytes() == content

    def test_damaged_sheet_xml_is_refused_not_a_traceback(
        self, scan_result: ScanResult, tmp_path: Path
    ) -> None:
        """A workbook whose sheet XML is cut short is refused cleanly, not with a traceback."""
        good = tmp_path / "good.xlsx"
        checklist.write(checklist.build(scan_result), good, "xlsx")
        out = tmp_path / "list.xlsx"
        with zipfile.ZipFile(good) as zin, zipfile.ZipFile(out, "w") as zout:
            for info in zin.infolist():
                data = zin.read(info.filename)
                if info.filename == "xl/worksheets/sheet1.xml":
                    data = data[: len(data) // 2]
                zout.writestr(info, data)
        before = out.read_bytes()
        with pytest.raises(checklist.ChecklistError, match="damaged"):
            checklist.write(checklist.build(scan_result), out, "xlsx")
        assert out.read_bytes() == before

    def test_non_ascii_digit_item_is_refused(self, scan_result: ScanResult, tmp_path: Path) -> None:
        """An item number int() cannot read ("²" passes str.isdigit) is a one-line refusal."""
        out = tmp_path / "list.csv"
        checklist.write(checklist.build(scan_result), out, "csv")
        rows = read_csv(out)
        rows[0]["item"] = "\u00b2"
        with out.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        before = out.read_bytes()
        with pytest.raises(checklist.ChecklistError, match="not a number"):
            checklist.write(checklist.build(scan_result), out, "csv")
        assert out.read_bytes() == before

    def test_command_writes_each_format(self, scan_result: ScanResult, tmp_path: Path) -> None:
        """`camaudit checklist SCAN.json -o FILE` writes csv, xlsx, md and html."""
        scan_file = tmp_path / "scan.json"
        scan_file.write_text(scanfile.dumps(scan_result))
        for ending in ("csv", "xlsx", "md", "html"):
            out = tmp_path / f"list.{ending}"
            args = [str(scan_file), "-o", str(out), "--site", "Depot"]
            result = CliRunner().invoke(checklist_command, args)
            assert result.exit_code == 0, result.output
            assert out.stat().st_size > 0
        assert "Depot" in (tmp_path / "list.md").read_text()


def test_checklist_from_inventory_uses_first_seen(tmp_path: Path) -> None:
    """With --db the latest saved scan is used and first seen comes from the oldest sighting."""
    from camaudit.inventory.store import open_store

    db = tmp_path / "inv.sqlite3"
    with open_store(db) as store:
        store.save(make_scan((hikvision_camera(),), day=1))
        store.save(make_scan((hikvision_camera(), hostile_device()), day=8))
    out = tmp_path / "list.csv"
    result = CliRunner().invoke(checklist_command, ["--db", str(db), "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = {r["IP"]: r for r in read_csv(out)}
    assert (rows["198.51.100.20"]["first seen"], rows["198.51.100.20"]["last seen"]) == (
        "2024-05-01", "2024-05-08")  # fmt: skip
    assert rows["198.51.100.7"]["first seen"] == "2024-05-08"


@pytest.mark.parametrize("fmt", ["table", "html"])
def test_unwritable_output_is_one_line_exit_3(
    scan_result: ScanResult, tmp_path: Path, fmt: str
) -> None:
    """report and checklist into a missing directory fail with exit 3, not a traceback."""
    from camaudit.commands.report import report_command

    scan_file = tmp_path / "scan.json"
    scan_file.write_text(scanfile.dumps(scan_result))
    out = tmp_path / "missing" / f"out.{fmt}"
    for command, args in (
        (report_command, [str(scan_file), "--format", fmt, "-o", str(out)]),
        (checklist_command, [str(scan_file), "-o", str(out.with_suffix(".csv"))]),
    ):
        result = CliRunner().invoke(command, args)
        assert result.exit_code == 3, result.output
        assert "cannot write" in result.output


def test_report_command_renders_each_format(scan_result: ScanResult, tmp_path: Path) -> None:
    """`camaudit report SCAN.json --format F -o FILE` writes what REPORTS renders."""
    from camaudit.commands.report import report_command
    from camaudit.reports import REPORTS

    scan_file = tmp_path / "scan.json"
    scan_file.write_text(scanfile.dumps(scan_result))
    for fmt, render in REPORTS.items():
        out = tmp_path / f"out.{fmt}"
        args = [str(scan_file), "--format", fmt, "-o", str(out)]
        result = CliRunner().invoke(report_command, args)
        assert result.exit_code == 0, result.output
        assert out.read_bytes().decode("utf-8") == render(scanfile.load(scan_file))
    table = CliRunner().invoke(report_command, [str(scan_file)])
    assert table.exit_code == 0
    assert "198.51.100.20" in table.output

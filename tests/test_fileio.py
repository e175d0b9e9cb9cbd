"""Output files are replaced in one step and get ordinary permissions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from camaudit.fileio import write_atomic


def test_written_file_gets_umask_permissions_not_0600(tmp_path: Path) -> None:
    """A report is readable by whoever the umask allows, like any file the user writes."""
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "report.html", "<p>hi</p>")
    finally:
        os.umask(old)
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == 0o644


def test_replacing_leaves_no_temporary_files_behind(tmp_path: Path) -> None:
    """The old content is replaced whole and nothing else is left in the folder."""
    target = tmp_path / "scan.json"
    target.write_text("old")
    write_atomic(target, b"new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["scan.json"]


def test_a_failed_write_leaves_the_old_file_untouched(tmp_path: Path) -> None:
    """Writing something that is not text or bytes fails before the old file is touched."""
    target = tmp_path / "checklist.csv"
    target.write_text("staff edits")
    with pytest.raises(TypeError):
        write_atomic(target, 12345)  # type: ignore[arg-type]
    assert target.read_text() == "staff edits"
    assert [p.name for p in tmp_path.iterdir()] == ["checklist.csv"]

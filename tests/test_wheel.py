"""The product's wheel is the product only: the simulator (camlab/) stays in the repository.

The wheel is built for real by the build backend (hatchling, no network: no build isolation)
and its file list is read back.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The wheel and the sdist of this checkout, built in one backend run: suffix -> path."""
    folder = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hatchling",
            "build",
            "-t",
            "wheel",
            "-t",
            "sdist",
            "-d",
            str(folder),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = {path.suffix: path for path in folder.iterdir()}
    assert set(found) == {".whl", ".gz"}, found
    return found


@pytest.fixture(scope="module")
def wheel_names(built: dict[str, Path]) -> list[str]:
    with zipfile.ZipFile(built[".whl"]) as archive:
        return archive.namelist()


def test_the_wheel_holds_camaudit_and_nothing_of_the_simulator(wheel_names: list[str]) -> None:
    """Every file is under camaudit/ or the dist-info; no camlab, no lab, no persona or site."""
    tops = {name.split("/", 1)[0] for name in wheel_names}
    assert "camaudit" in tops
    assert all(top == "camaudit" or top.endswith(".dist-info") for top in tops), tops
    simulator = [
        name
        for name in wheel_names
        if "camlab" in name or "/lab/" in name or "persona" in name or "/sites/" in name
    ]
    assert simulator == []


def test_the_wheel_still_carries_the_product(wheel_names: list[str]) -> None:
    """The scanner, the CLI and the fingerprint database are in (the check above is not vacuous)."""
    assert "camaudit/scanner.py" in wheel_names
    assert "camaudit/__main__.py" in wheel_names
    assert any(name.startswith("camaudit/fingerprints/") for name in wheel_names)


def test_the_sdist_carries_the_simulator_for_make_demo(built: dict[str, Path]) -> None:
    """A source checkout from the sdist can still run `make demo` and the tests."""
    with tarfile.open(built[".gz"]) as archive:
        names = archive.getnames()
    assert any(name.endswith("/camlab/__main__.py") for name in names)
    assert any(name.endswith("/camlab/sites/default.toml") for name in names)
    assert any(name.endswith("/Makefile") for name in names)


def test_camaudit_never_imports_camlab() -> None:
    """The simulator depends on the product, never the other way round."""
    offenders = []
    for path in sorted((ROOT / "camaudit").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.startswith("camlab")]
    assert offenders == []

"""Rewrite the README's `camaudit scan --help` block from the real help text (tests check it)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from camaudit.commands import main

README = Path(__file__).resolve().parents[1] / "README.md"


def update() -> None:
    """Replace the text between the scan-help markers."""
    help_text = (
        CliRunner()
        .invoke(main, ["scan", "--help"], terminal_width=100, prog_name="camaudit")
        .stdout.strip()
    )
    text = README.read_text(encoding="utf-8")
    block = f"<!-- scan-help -->\n```text\n{help_text}\n```\n<!-- /scan-help -->"
    README.write_text(
        re.sub(r"<!-- scan-help -->.*?<!-- /scan-help -->", lambda _: block, text, flags=re.S),
        encoding="utf-8",
    )


if __name__ == "__main__":
    update()

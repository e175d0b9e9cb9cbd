"""`python -m camlab`: the simulator's command line."""

from __future__ import annotations

from camlab.cli import main

if __name__ == "__main__":
    main(prog_name="camlab")

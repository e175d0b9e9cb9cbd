"""Run camaudit as `python -m camaudit`."""

from camaudit.commands import main

main()

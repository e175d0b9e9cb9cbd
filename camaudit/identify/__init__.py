"""Identification: evidence in, one Device per host out (pure; no I/O beyond reading data files).

`judge` (identify/judge.py) is the entry point: evidence, fingerprints and a policy in, devices
out in the one order. engine.py matches rules, merge.py combines them, policy.py flags.
"""

from __future__ import annotations

from camaudit.identify.judge import identify_hosts, judge

__all__ = ["identify_hosts", "judge"]

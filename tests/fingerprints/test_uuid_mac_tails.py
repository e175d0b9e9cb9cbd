"""UUIDs whose last group is a covered maker's MAC: one OUI list per maker, the same wherever
a UUID is read (WS-Discovery EPRs, SSDP search targets).

The fingerprint format has no shared lists, so the list is written once per channel; this
keeps the copies equal, so an OUI added to one is not missing from the other.
"""

from __future__ import annotations

import pytest

from camaudit.identify.loader import Database

COPIES = {
    "hikvision": ("wsd_epr::hikvision-epr-mac-tail", "ssdp_st::hikvision-st-uuid-mac-tail"),
    "dahua": ("wsd_epr::dahua-epr-mac-tail", "ssdp_st::dahua-st-uuid-mac-tail"),
}


@pytest.mark.parametrize("maker", sorted(COPIES))
def test_every_copy_reads_the_same_ouis_for_the_same_maker(database: Database, maker: str) -> None:
    rules = [database.rule(ref) for ref in COPIES[maker]]
    assert len({rule.pattern for rule in rules}) == 1
    assert {rule.facts.get("maker") for rule in rules} == {maker}

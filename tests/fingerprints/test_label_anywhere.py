"""The name-anywhere label rules: one list of distinctive maker names, the same on every channel.

The list is written once per free-text channel (the fingerprint format has no shared lists), so
these tests keep the copies equal and make sure every name on it is one the brand rules turn
into a maker: a name no brand rule knows would be a rule that can never name anything.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address

from camaudit.identify import identify_hosts
from camaudit.identify.loader import Database
from camaudit.models import Evidence

SUFFIX = "-label-anywhere"
CHANNELS = {
    "http.title",
    "http.server",
    "rtsp.server",
    "ssdp.server",
    "http.www_authenticate",
    "rtsp.www_authenticate",
}
NAMES = re.compile(r"\(\?P<brand>\(\?i:([^()]+)\)\)")
HOST = IPv4Address("198.51.100.10")


def name_lists(database: Database) -> dict[str, str]:
    """channel -> the alternation of names its name-anywhere rule reads."""
    found = {}
    for item in database.files:
        for rule in item.rules:
            if rule.id.endswith(SUFFIX):
                match = NAMES.search(rule.pattern)
                assert match, f"{rule.id}: no (?P<brand>(?i:...)) name list"
                found[item.channel] = match[1]
    return found


def test_every_free_text_channel_reads_the_same_names(database: Database) -> None:
    lists = name_lists(database)
    assert set(lists) == CHANNELS
    assert len(set(lists.values())) == 1, "the name-anywhere lists differ between channels"


def test_every_listed_name_becomes_a_maker(database: Database) -> None:
    """A title mentioning the name in passing names a maker, through the brand rules."""
    (alternation,) = set(name_lists(database).values())
    names = [name.replace("-?", "") for name in alternation.split("|")]
    assert len(names) >= 40
    nameless = []
    for name in names:
        evidence = Evidence(
            host=HOST, channel="http.title", value=f"Welcome to {name}", probe="input"
        )
        (device,) = identify_hosts([evidence], database)
        if device.maker is None:
            nameless.append(name)
    assert not nameless, f"names no brand rule turns into a maker: {nameless}"

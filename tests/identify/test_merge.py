"""Merging: noisy-OR maker scores, verdict thresholds, weak signals, conflicts kept."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from camaudit.identify.engine import Hit
from camaudit.identify.merge import merge_host, noisy_or
from camaudit.identify.vocabulary import load_identifiers
from camaudit.models import Device, Evidence, Match, Verdict
from tests.identify.conftest import ev

IP = IPv4Address("198.51.100.20")


def hit(
    channel: str,
    confidence: float,
    *,
    rule: str | None = None,
    evidence: Evidence | None = None,
    **facts: str,
) -> Hit:
    """A hit as the engine would produce it."""
    item = evidence or ev(channel, f"value-{channel}-{confidence}")
    match = Match(
        rule=rule or f"{channel.replace('.', '_')}::r-{confidence}-{'-'.join(facts.values())}",
        channel=channel,
        field="",
        value=item.value,
        facts=facts,
        confidence=confidence,
        source="t",
    )
    return Hit(evidence=item, match=match)


def merge(*hits: Hit, evidence: list[Evidence] | None = None) -> Device:
    """Merge hits for one host."""
    items = evidence if evidence is not None else [h.evidence for h in hits]
    return merge_host(IP, items, hits, load_identifiers())


def test_noisy_or_combines_independent_signals() -> None:
    """1 - (1-0.5)(1-0.5) = 0.75."""
    assert noisy_or([0.5, 0.5]) == pytest.approx(0.75)
    assert noisy_or([]) == 0.0


@pytest.mark.parametrize(
    ("confidences", "verdict"),
    [
        ([0.9], Verdict.CONFIRMED),  # one strong match
        ([0.85, 0.4], Verdict.CONFIRMED),  # 0.91, single >= 0.85
        ([0.7, 0.7], Verdict.CONFIRMED),  # 0.91 from two channels each >= 0.5
        ([0.8], Verdict.LIKELY),
        ([0.6], Verdict.LIKELY),
        ([0.59], Verdict.POSSIBLE),
        ([0.2], Verdict.POSSIBLE),
    ],
)
def test_verdict_thresholds(confidences: list[float], verdict: Verdict) -> None:
    """Scores map to verdicts as documented."""
    channels = ["http.server", "rtsp.server", "sadp"]
    device = merge(*(hit(channels[i], c, maker="dahua") for i, c in enumerate(confidences)))
    assert device.verdict is verdict
    assert device.maker == "dahua"
    assert device.confidence == round(noisy_or(confidences), 2)


def test_high_score_from_one_channel_of_medium_matches_does_not_confirm() -> None:
    """0.7 and 0.7 on the same channel reach 0.91 but lack independent corroboration."""
    device = merge(
        hit("http.server", 0.7, maker="dahua"), hit("http.server", 0.7, maker="dahua", rule="x::y")
    )
    assert device.verdict is Verdict.LIKELY


def test_no_maker_means_unknown() -> None:
    """Matches without a maker fact leave the device unknown."""
    device = merge(hit("wsd.types", 0.9, device_type="ip-camera"))
    assert device.verdict is Verdict.UNKNOWN
    assert device.maker is None
    assert device.device_type == "ip-camera"


def test_weak_signal_alone_stays_possible() -> None:
    """A MAC prefix alone (confidence 0.5) is POSSIBLE, even when seen by several probes."""
    arp = ev("mac", "58:50:ed:1f:e3:85", probe="arp")
    again = ev("mac", "58:50:ed:1f:e3:85", probe="sadp")
    rule = "mac::hikvision-oui"
    device = merge(
        hit("mac", 0.5, rule=rule, evidence=arp, maker="hikvision"),
        hit("mac", 0.5, rule=rule, evidence=again, maker="hikvision"),
    )
    assert device.verdict is Verdict.POSSIBLE
    assert device.confidence == 0.5


def test_rival_maker_is_kept_as_conflict() -> None:
    """The weaker maker is recorded as a conflict, not dropped."""
    device = merge(hit("sadp", 0.95, maker="hikvision"), hit("mac", 0.4, maker="dahua"))
    assert device.maker == "hikvision"
    assert device.verdict is Verdict.CONFIRMED
    assert [(c.fact, c.chosen, c.other) for c in device.conflicts] == [
        ("maker", "hikvision", "dahua")
    ]


def test_strong_contrary_evidence_caps_at_likely() -> None:
    """When the runner-up has its own >= 0.85 match, the winner is at most LIKELY."""
    device = merge(
        hit("sadp", 0.95, maker="hikvision"),
        hit("dhip", 0.9, maker="dahua"),
    )
    assert device.maker == "hikvision"
    assert device.verdict is Verdict.LIKELY
    assert device.conflicts[0].other == "dahua"


def test_facts_take_the_most_confident_value_and_keep_others() -> None:
    """Model comes from the strongest rule; a different model elsewhere becomes a conflict."""
    device = merge(
        hit("sadp", 0.95, maker="hikvision", model="DS-2CD2385G1-I"),
        hit("wsd.scopes", 0.6, model="DS-2CD2143G2-I"),
        hit("http.server", 0.5, model="ds-2cd2385g1-i "),  # same model, other spelling: no conflict
    )
    assert device.model == "DS-2CD2385G1-I"
    assert [(c.fact, c.other) for c in device.conflicts] == [("model", "DS-2CD2143G2-I")]


def test_a_fuller_statement_of_the_same_fact_wins_without_a_conflict() -> None:
    """An mDNS instance shows the serial's digits; SADP the whole serial: the whole one is kept."""
    device = merge(
        hit("mdns.service", 0.9, maker="hikvision", serial="733050127"),
        hit("sadp", 0.85, maker="hikvision", serial="DS-2CD2722FWD-IZS20170321BBWR733050127"),
    )
    assert device.serial == "DS-2CD2722FWD-IZS20170321BBWR733050127"
    assert device.conflicts == ()


def test_brand_falls_back_to_the_maker_display_name() -> None:
    """Without a brand fact the maker's display name from makers.txt is shown."""
    assert merge(hit("sadp", 0.95, maker="hikvision")).brand == "Hikvision"
    assert merge(hit("dhip", 0.9, maker="dahua", brand="Lorex")).brand == "Lorex"


def test_mac_prefers_arp_evidence() -> None:
    """The MAC seen by ARP wins over MACs inside payloads."""
    arp = ev("mac", "AA-BB-CC-00-11-22", probe="arp")
    payload = ev("mac", "58:50:ed:1f:e3:85", probe="sadp")
    device = merge(evidence=[payload, arp])
    assert device.mac == "aa:bb:cc:00:11:22"


def test_evidence_lists_matches_by_confidence_then_unmatched() -> None:
    """Every (evidence, match) pair appears, strongest first; unmatched ones after, rule None."""
    strong = hit("sadp", 0.95, maker="hikvision")
    weak = hit("tcp.open", 0.2, maker="hikvision")
    silent = ev("http.title", "Login")
    device = merge(weak, strong, evidence=[weak.evidence, silent, strong.evidence])
    assert [item.confidence for item in device.evidence] == [0.95, 0.2, None]
    assert device.evidence[-1].rule is None
    assert device.evidence[-1].value == "Login"

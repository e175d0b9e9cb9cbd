"""Merge one host's matches into a Device: noisy-OR maker, verdict, best facts, conflicts kept."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address

from camaudit.identify import vocabulary
from camaudit.identify.engine import Hit
from camaudit.identify.vocabulary import Identifiers
from camaudit.identity import comparable_mac, normalise_mac
from camaudit.models import Conflict, Device, Evidence, EvidenceItem, Verdict

CONFIRM_SCORE = 0.9
CONFIRM_SINGLE = 0.85  # one match this strong can confirm on its own
CONFIRM_CORROBORATION = 0.5  # ...or two channels each at least this strong
LIKELY_SCORE = 0.6
CONTRARY_SINGLE = 0.85  # a runner-up this sure caps the winner at LIKELY

MERGED_FACTS = ("model", "firmware", "serial", "device_type")
IDENTITY_FACTS = ("serial", "mac")  # one unit has one of each: two values are two identities
PARTIAL_ORIGIN = "partial"  # every incomplete reply of a host shares one slot in the score
VERDICT_STEPS = (Verdict.CONFIRMED, Verdict.LIKELY, Verdict.POSSIBLE)


@dataclass(frozen=True, slots=True, kw_only=True)
class MakerScore:
    """How strongly the matches on one host say one maker."""

    maker: str
    score: float
    best: Hit  # the single most confident match for this maker
    channels: frozenset[str]  # channels with a match >= CONFIRM_CORROBORATION


def noisy_or(confidences: Iterable[float]) -> float:
    """1 - prod(1 - c): independent signals reinforce each other without exceeding 1."""
    return 1.0 - math.prod(1.0 - min(max(c, 0.0), 1.0) for c in confidences)


def score_makers(hits: Sequence[Hit]) -> list[MakerScore]:
    """Makers by descending score. Each piece of evidence counts once per host: a rule's repeats
    do not corroborate it, and neither does a match derived from it (a brand read off a MAC
    prefix says nothing the prefix did not), so a derived match shares its source's slot."""
    per_origin: dict[str, dict[str, Hit]] = {}
    channel_of_rule = {hit.match.rule: hit.match.channel for hit in hits if hit.via is None}
    for hit in hits:
        maker = hit.match.facts.get("maker")
        if not maker:
            continue
        origins = per_origin.setdefault(maker, {})
        # NOTE: incomplete replies (capped by the engine) share one slot, so a flood of truncated
        # replies, or several rules reading one fragment, never add up to LIKELY.
        origin = PARTIAL_ORIGIN if hit.partial else hit.via or hit.match.rule
        known = origins.get(origin)
        if known is None or hit.match.confidence > known.match.confidence:
            origins[origin] = hit
    scores = []
    for maker, origins in per_origin.items():
        chosen = sorted(origins.items(), key=lambda item: -item[1].match.confidence)
        scores.append(
            MakerScore(
                maker=maker,
                score=noisy_or(hit.match.confidence for _origin, hit in chosen),
                best=chosen[0][1],
                channels=frozenset(
                    channel_of_rule.get(origin, hit.match.channel)
                    for origin, hit in chosen
                    if hit.match.confidence >= CONFIRM_CORROBORATION
                ),
            )
        )
    return sorted(scores, key=lambda s: (-s.score, -s.best.match.confidence, s.maker))


def verdict_for(winner: MakerScore | None, runner_up: MakerScore | None = None) -> Verdict:
    """The verdict thresholds (docs/writing-fingerprints.md), capped when a rival is as sure."""
    if winner is None or winner.score <= 0:
        return Verdict.UNKNOWN
    if winner.score >= CONFIRM_SCORE and (
        winner.best.match.confidence >= CONFIRM_SINGLE or len(winner.channels) >= 2
    ):
        verdict = Verdict.CONFIRMED
    elif winner.score >= LIKELY_SCORE:
        verdict = Verdict.LIKELY
    else:
        return Verdict.POSSIBLE
    contested = runner_up is not None and runner_up.best.match.confidence >= CONTRARY_SINGLE
    return Verdict.LIKELY if contested else verdict


def lowered(verdict: Verdict, steps: int) -> Verdict:
    """The verdict `steps` levels less sure, never below POSSIBLE (a maker was still named)."""
    if verdict not in VERDICT_STEPS or steps <= 0:
        return verdict
    index = min(VERDICT_STEPS.index(verdict) + steps, len(VERDICT_STEPS) - 1)
    return VERDICT_STEPS[index]


def partial_reply_conflicts(hits: Sequence[Hit]) -> list[Conflict]:
    """One conflict per incomplete reply kind: shown, so a reader sees why the verdict is low."""
    seen: dict[tuple[str, str], str] = {}
    for hit in hits:
        if hit.partial and hit.via is None:
            seen.setdefault((hit.evidence.channel, hit.partial), hit.match.rule)
    return [
        Conflict(fact="reply", chosen=channel, other=reason, rule=rule)
        for (channel, reason), rule in seen.items()
    ]


def unsolicited_conflicts(evidence: Sequence[Evidence]) -> list[Conflict]:
    """Replies a known probe recorded on a channel it never asks for."""
    found: dict[tuple[str, str], Conflict] = {}
    for item in evidence:
        expected = vocabulary.PROBES_BY_CHANNEL.get(item.channel)
        if expected is None or item.probe not in vocabulary.KNOWN_PROBES or item.probe in expected:
            continue
        found.setdefault(
            (item.channel, item.probe),
            Conflict(
                fact="reply",
                chosen=item.channel,
                other=f"{item.channel} reply arrived at the {item.probe} probe, which never asks",
                rule="",
            ),
        )
    return list(found.values())


def flood_conflicts(evidence: Sequence[Evidence]) -> list[Conflict]:
    """Channels on which one address sent more different self-descriptions than a unit does."""
    distinct: dict[str, set[str]] = {}
    for item in evidence:
        if item.channel in vocabulary.SELF_DESCRIPTION_CHANNELS:
            distinct.setdefault(item.channel, set()).add(item.value)
    return [
        Conflict(
            fact="reply",
            chosen=channel,
            other=f"{len(values)} different {channel} replies from one address (flood or spoof)",
            rule="",
        )
        for channel, values in sorted(distinct.items())
        if len(values) > vocabulary.MAX_SELF_DESCRIPTIONS
    ]


def judged_verdict(
    winner: MakerScore | None,
    runner_up: MakerScore | None,
    conflicts: Sequence[Conflict],
    *,
    untrusted: bool,
) -> Verdict:
    """The score's verdict, one level lower for each way the address told several stories
    (a strong rival maker, two serials or MACs, a reply where nothing was asked); an address
    that floods self-descriptions is at most POSSIBLE."""
    verdict = verdict_for(winner, runner_up)
    if verdict is Verdict.UNKNOWN:
        return verdict
    if untrusted:
        return lowered(verdict, len(VERDICT_STEPS))
    doubts = {c.fact for c in conflicts if c.fact in IDENTITY_FACTS}
    doubts |= {"unsolicited" for c in conflicts if c.fact == "reply" and "never asks" in c.other}
    return lowered(verdict, len(doubts))


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _pick(
    fact: str, hits: Sequence[Hit], spelling: Callable[[str], str] = str.strip
) -> tuple[str | None, list[Conflict]]:
    """The most confident value of a fact (first seen wins ties); differing values as conflicts.
    `spelling` puts a value in one spelling first, so two spellings of one value never conflict."""
    candidates = [h for h in hits if h.match.facts.get(fact)]
    if not candidates:
        return None, []
    ranked = sorted(candidates, key=lambda h: -h.match.confidence)
    chosen = ranked[0].match.facts[fact]
    # A value that contains the chosen one states the same fact more fully (a full Hikvision
    # serial holds the digits an mDNS instance name shows): take the fuller, record no conflict.
    fuller = [h.match.facts[fact] for h in ranked if _contains(h.match.facts[fact], chosen)]
    chosen = max(fuller, key=len, default=chosen)
    conflicts: list[Conflict] = []
    seen: list[str] = [chosen]
    for hit in ranked[1:]:
        other = hit.match.facts[fact]
        if not any(
            _same(spelling(other), spelling(value)) or _contains(value, other) for value in seen
        ):
            seen.append(other)
            conflicts.append(Conflict(fact=fact, chosen=chosen, other=other, rule=hit.match.rule))
    return chosen, conflicts


def _contains(longer: str, shorter: str) -> bool:
    """True when `longer` holds `shorter` (ignoring case and outer spaces) and says more."""
    outer, inner = longer.strip().casefold(), shorter.strip().casefold()
    return len(outer) > len(inner) > 0 and inner in outer


def _consistent(hits: Sequence[Hit], maker: str | None) -> list[Hit]:
    # Facts from rules naming another maker belong to the losing story; keep them only as conflicts.
    return [h for h in hits if h.match.facts.get("maker") in (None, maker)]


def _mac(evidence: Sequence[Evidence], hits: Sequence[Hit]) -> tuple[str | None, list[Conflict]]:
    observed = [
        (item.probe != "arp", normal)
        for item in evidence
        if item.channel == "mac" and (normal := normalise_mac(item.value))
    ]
    from_facts, conflicts = _pick(
        "mac", hits, spelling=lambda value: comparable_mac(value) or value
    )
    if observed:
        chosen = sorted(observed, key=lambda pair: pair[0])[0][1]  # "arp" first, then order
        conflicts += [
            Conflict(fact="mac", chosen=chosen, other=other, rule="mac")
            for other in dict.fromkeys(normal for _arp, normal in observed)
            if other != chosen
        ]
    elif from_facts:
        chosen = normalise_mac(from_facts) or from_facts
    else:
        return None, []
    if from_facts and (normalise_mac(from_facts) or from_facts) != chosen:
        conflicts = [
            Conflict(fact="mac", chosen=chosen, other=c.other, rule=c.rule) for c in conflicts
        ]
        best = sorted(
            (h for h in hits if h.match.facts.get("mac")), key=lambda h: -h.match.confidence
        )
        conflicts.insert(
            0, Conflict(fact="mac", chosen=chosen, other=from_facts, rule=best[0].match.rule)
        )
    return chosen, conflicts


def evidence_items(evidence: Sequence[Evidence], hits: Sequence[Hit]) -> tuple[EvidenceItem, ...]:
    """One item per (evidence, match), most confident first, then every unmatched evidence."""
    matched = sorted(hits, key=lambda h: -h.match.confidence)
    used = {id(h.evidence) for h in hits}
    items = [
        EvidenceItem(
            channel=h.evidence.channel,
            value=h.evidence.value,
            probe=h.evidence.probe,
            port=h.evidence.port,
            rule=h.match.rule,
            facts=dict(h.match.facts),
            confidence=h.match.confidence,
            source=h.match.source,
        )
        for h in matched
    ]
    items += [
        EvidenceItem(channel=e.channel, value=e.value, probe=e.probe, port=e.port)
        for e in evidence
        if id(e) not in used
    ]
    return tuple(items)


def merge_host(
    ip: IPv4Address,
    evidence: Sequence[Evidence],
    hits: Sequence[Hit],
    identifiers: Identifiers,
    *,
    in_scope: bool = True,
) -> Device:
    """One Device from a host's evidence and hits; policy is applied later (flagged False)."""
    makers = score_makers(hits)
    winner = makers[0] if makers else None
    runner_up = makers[1] if len(makers) > 1 else None
    maker = winner.maker if winner else None
    conflicts = [
        Conflict(fact="maker", chosen=maker or "", other=rival.maker, rule=rival.best.match.rule)
        for rival in makers[1:]
    ]
    consistent = _consistent(hits, maker)
    values: dict[str, str | None] = {}
    for fact in MERGED_FACTS:
        values[fact], found = _pick(fact, consistent)
        conflicts += found
    brand, found = _pick("brand", consistent)
    conflicts += found
    if brand is None and maker is not None:
        brand = identifiers.maker_display(maker)
    mac, found = _mac(evidence, consistent)
    conflicts += found
    floods = flood_conflicts(evidence)
    conflicts += partial_reply_conflicts(hits) + unsolicited_conflicts(evidence) + floods
    return Device(
        ip=ip,
        mac=mac,
        maker=maker,
        brand=brand,
        model=values["model"],
        firmware=values["firmware"],
        serial=values["serial"],
        device_type=values["device_type"],
        confidence=round(winner.score, 2) if winner else 0.0,
        verdict=judged_verdict(winner, runner_up, conflicts, untrusted=bool(floods)),
        in_scope=in_scope,
        evidence=evidence_items(evidence, hits),
        conflicts=tuple(conflicts),
    )

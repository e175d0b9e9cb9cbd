"""Match evidence against the fingerprint database: decode, try files by preference, derive once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from camaudit.identify import decode
from camaudit.identify.loader import Database, FingerprintFile, Rule
from camaudit.identify.prefilter import RuleIndex
from camaudit.identity import comparable_mac
from camaudit.models import Evidence, Match

DERIVED_PROBE_PREFIX = (
    "derived:"  # probe name of derived evidence: "derived:<rule that produced it>"
)
# Derived channel -> the fact that feeds it. A MAC a reply states about itself (a realm, an ONVIF
# scope, a UPnP UUID tail) is judged by the OUI registry like one seen in ARP.
DERIVED_FROM_FACT = {"model": "model", "brand": "brand", "mac": "mac", "serial": "serial"}
# A reply missing what every real unit of its kind sends (decode.incompleteness) counts at most
# this much: below LIKELY, and below the corroboration threshold, so it can hint, never vouch.
PARTIAL_CEILING = 0.45
# Values already matched, per database: a site repeats the same banners, ports and realms. Bounded
# so a scan of unique hostile values cannot grow it without limit (cleared when full).
MATCH_CACHE_ENTRIES = 50_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Hit:
    """A Match together with the evidence it read (derived evidence names its source rule)."""

    evidence: Evidence
    match: Match
    partial: str = ""  # why the evidence behind it is incomplete ("" when it is a complete reply)

    @property
    def via(self) -> str | None:
        """For a derived match, the rule whose fact became this evidence; else None."""
        probe = self.evidence.probe
        return (
            probe.removeprefix(DERIVED_PROBE_PREFIX)
            if probe.startswith(DERIVED_PROBE_PREFIX)
            else None
        )


def _rule_index(database: Database, item: FingerprintFile, field: str) -> RuleIndex:
    indexes = database.caches.setdefault("rule_index", {})
    key = (item.path, field)
    index = indexes.get(key)
    if index is None:
        index = indexes[key] = RuleIndex.build([r for r in item.rules if r.field == field])
    return index


def _first_match(
    item: FingerprintFile, channel: str, field: str, text: str, database: Database
) -> Match | None:
    rule: Rule
    for rule in _rule_index(database, item, field).candidates(text):
        facts = rule.apply(text)
        if facts is not None:
            return Match(
                rule=rule.ref,
                channel=channel,
                field=field,
                value=text,
                facts=facts,
                confidence=rule.confidence,
                source=rule.source,
                description=rule.description,
            )
    return None


def match_value(channel: str, value: str, database: Database) -> list[Match]:
    """Every match for one value: per facet and file (by preference), its first matching rule."""
    return list(_matched(channel, value, database)[0])


def _matched(channel: str, value: str, database: Database) -> tuple[tuple[Match, ...], str]:
    """The value's matches and why it is incomplete ("" if complete), decoded once and cached."""
    files = database.files_for(channel)
    if not files:
        return (), ""
    cache = database.caches.setdefault("matches", {})
    known = cache.get((channel, value))
    if known is not None:
        return known  # type: ignore[no-any-return]
    found = decode.facets(channel, value)
    matches: list[Match] = []
    for field, text in found:
        for item in files:
            match = _first_match(item, channel, field, text, database)
            if match is not None:
                matches.append(match)
    matches = _without_fallbacks(matches)
    gap = decode.incompleteness(channel, value, found) if matches else ""
    if len(cache) >= MATCH_CACHE_ENTRIES:
        cache.clear()
    result = cache[(channel, value)] = (tuple(matches), gap)
    return result


def _without_fallbacks(matches: list[Match]) -> list[Match]:
    """The matches, less those on fallback fields (decode.FALLBACK_FIELDS) when any other rule
    matched too."""
    kept = [m for m in matches if m.field not in decode.FALLBACK_FIELDS]
    return kept if kept else matches


def match_evidence(evidence: Iterable[Evidence], database: Database) -> list[Hit]:
    """Hits for raw evidence, in evidence order; an incomplete reply's hits are capped."""
    hits: list[Hit] = []
    for item in evidence:
        matches, gap = _matched(item.channel, item.value, database)
        for match in matches:
            if gap and match.confidence > PARTIAL_CEILING:
                match = replace(match, confidence=PARTIAL_CEILING)
            hits.append(Hit(evidence=item, match=match, partial=gap))
    return hits


def derived_evidence(
    hits: Iterable[Hit], observed: Iterable[Evidence] = ()
) -> list[tuple[Evidence, float]]:
    """One evidence per distinct model/brand/MAC/serial fact, naming the most confident rule
    behind it, with that rule's confidence (a derived match can be no surer than what fed it).
    A value the host already sent on that channel itself (its ARP MAC) is not derived again: it
    would count the same fact twice."""
    seen = {(item.channel, _derived_key(item.channel, item.value)) for item in observed}
    best: dict[tuple[str, str], Hit] = {}
    for hit in hits:
        for channel, fact in DERIVED_FROM_FACT.items():
            value = hit.match.facts.get(fact)
            if not value or hit.evidence.channel == channel:
                continue
            key = (channel, _derived_key(channel, value))
            if key in seen:
                continue
            if key not in best or _better_source(hit, best[key]):
                best[key] = hit
    return [
        (
            Evidence(
                host=hit.evidence.host,
                channel=channel,
                value=hit.match.facts[DERIVED_FROM_FACT[channel]],
                probe=DERIVED_PROBE_PREFIX + hit.match.rule,
            ),
            hit.match.confidence,
        )
        for (channel, _key), hit in best.items()
    ]


def _derived_key(channel: str, value: str) -> str:
    """The value as compared for repeats: a MAC in any spelling counts once."""
    if channel == "mac":
        return comparable_mac(value) or value
    return value


def _better_source(hit: Hit, current: Hit) -> bool:
    """Prefer a source that names no maker (its model or brand is then news about the maker, not
    an echo of it), then the more confident one."""

    def rank(candidate: Hit) -> tuple[bool, float]:
        return ("maker" not in candidate.match.facts, candidate.match.confidence)

    return rank(hit) > rank(current)


def match_host(evidence: Iterable[Evidence], database: Database) -> list[Hit]:
    """Raw hits for one host's evidence, then one pass over the derived channels."""
    items = list(evidence)
    restated = (
        decode.headers_as_evidence(items)
        + decode.body_titles_as_evidence(items)
        + decode.same_kind_as_evidence(items)
    )
    raw = match_evidence(items + restated, database)
    partial_by_rule = _partial_by_rule(raw)
    # NOTE: one pass only: derived matches never feed derivation again, so rules cannot loop.
    derived: list[Hit] = []
    for item, ceiling in derived_evidence(raw, items):
        source_gap = partial_by_rule.get(item.probe.removeprefix(DERIVED_PROBE_PREFIX), "")
        for hit in match_evidence([item], database):
            # A brand read from a weak banner must not become a strong maker claim.
            capped = min(hit.match.confidence, ceiling)
            derived.append(
                replace(hit, match=replace(hit.match, confidence=capped), partial=source_gap)
            )
    return raw + derived


def _partial_by_rule(hits: Iterable[Hit]) -> dict[str, str]:
    """Per rule, why its evidence was incomplete: "" as soon as one complete reply matched it."""
    gaps: dict[str, str] = {}
    for hit in hits:
        known = gaps.get(hit.match.rule)
        gaps[hit.match.rule] = hit.partial if known is None or not hit.partial else known
    return gaps

"""Which rules can possibly match a text: rules bucketed by the literal their pattern starts with.

With thousands of rules most of a file's rules cannot match a given banner: an anchored pattern
that starts with the literal "Dahua Rtsp" never matches "GStreamer". Each (file, field) keeps its
rules in file order; a text is tried only against the rules whose leading literal shares its
first KEY_CHARS characters (case-folded), plus every rule without such a literal. File order is
kept, so "first match wins" is unchanged. Pure: built once per database, read many times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from camaudit.identify.loader import Rule

KEY_CHARS = 2  # bucket by this many leading characters of the literal prefix
_QUANTIFIERS = frozenset("*?{")
_META = frozenset(".^$*+?{}[]\\|()")
_ESCAPED_LITERALS = frozenset(".^$*+?{}[]\\|()/-_:<>=\"' #%&!~,;@")
_IGNORE_CASE_OPENERS = ("(?i:", "(?i)")


def _alternation_at(pattern: str, depth_limit: int) -> bool:
    """Whether a `|` sits at group depth <= depth_limit (it would make the prefix optional)."""
    depth, index, in_class = 0, 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # NOTE: "]" right after "[" or "[^" is a literal member, not the end of the class.
            if pattern[index + 1 : index + 2] == "^":
                index += 1
            if pattern[index + 1 : index + 2] == "]":
                index += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth <= depth_limit:
            return True
        index += 1
    return False


def literal_prefix(rule: Rule) -> tuple[str, bool]:
    """The literal every match of an anchored rule starts with, and whether case is ignored.
    ("", False) when there is none we can be sure of (search mode, alternation, a class...)."""
    pattern = rule.pattern
    if rule.mode != "anchored" or not pattern.startswith("^"):
        return "", False
    body, ignore_case = pattern[1:], False
    for opener in _IGNORE_CASE_OPENERS:
        if body.startswith(opener):
            body, ignore_case = body[len(opener) :], True
    if _alternation_at(pattern, 1 if ignore_case else 0):
        return "", False
    literal: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        step = 1
        if char == "\\":
            escaped = body[index + 1 : index + 2]
            if not escaped or escaped not in _ESCAPED_LITERALS:
                break  # \d, \s, \b ...: not a literal
            char, step = escaped, 2
        elif char in _META:
            break
        if body[index + step : index + step + 1] in _QUANTIFIERS:
            break  # "ab?": the b is optional, the prefix is "a"
        literal.append(char)
        index += step
        if body[index : index + 1] == "+":
            break  # "a+": one a is certain, how many is not
    return "".join(literal), ignore_case


def _key(text: str) -> str | None:
    """The bucket key of a text, or None when only a full scan is safe (short or non-ASCII:
    re's case folding maps a few non-ASCII characters onto ASCII letters)."""
    head = text[:KEY_CHARS]
    return head.lower() if len(head) == KEY_CHARS and head.isascii() else None


@dataclass(frozen=True, slots=True)
class RuleIndex:
    """The rules of one (file, field), in file order, reachable by a text's leading characters."""

    every: tuple[Rule, ...]  # all rules, in file order: used when a text has no usable key
    unkeyed: tuple[Rule, ...]  # rules without a literal prefix: always candidates
    by_key: dict[str, tuple[Rule, ...]]  # key -> keyed rules for that key plus unkeyed, in order

    @classmethod
    def build(cls, rules: Sequence[Rule]) -> RuleIndex:
        """Bucket rules by the first KEY_CHARS characters of their literal prefix."""
        keyed: dict[str, list[Rule]] = {}
        unkeyed: list[Rule] = []
        for rule in rules:
            prefix, _ignore_case = literal_prefix(rule)
            key = _key(prefix)
            if key is None:
                unkeyed.append(rule)
            else:
                keyed.setdefault(key, []).append(rule)
        by_key = {
            key: tuple(sorted([*bucket, *unkeyed], key=lambda r: r.index))
            for key, bucket in keyed.items()
        }
        return cls(every=tuple(rules), unkeyed=tuple(unkeyed), by_key=by_key)

    def candidates(self, text: str) -> tuple[Rule, ...]:
        """The rules that may match `text`, in file order."""
        key = _key(text)
        if key is None:
            return self.every
        return self.by_key.get(key, self.unkeyed)

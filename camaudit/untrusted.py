"""Device strings are untrusted: the one way to make them safe to show in any output."""

from __future__ import annotations

import re

# C0 and C1 control characters and DEL; tab/newline are replaced by a space rather than kept so
# one device string can never break a table row or forge a line of output.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Bidi overrides and isolates can make a string display in a different order than it reads.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")
# Lone surrogates: a device's JSON can carry "\ud800", and no UTF-8 output can encode one.
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str | None) -> str:
    """The text without control or bidi-override characters (tabs/newlines become spaces).

    Lone surrogates become U+FFFD so the text can always be written as UTF-8.
    """
    if not text:
        return ""
    text = text.replace("\t", " ").replace("\n", " ").replace("\r", " ")
    return _SURROGATE.sub("\ufffd", _BIDI.sub("", _CONTROL.sub("", text)))

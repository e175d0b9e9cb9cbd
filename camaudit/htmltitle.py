"""The <title> of a web page: the one reader for the probe's pages and for pages that arrive
alone (a scan record, a pasted page), so both are read the same way."""

from __future__ import annotations

import html
import re

# A title longer than this is not a title a person reads; the cap also bounds regex work.
MAX_TITLE_CHARS = 1024
# Camera pages put <title> in the first few hundred bytes; searching further only costs time.
TITLE_SEARCH_CHARS = 64 * 1024
# NOTE: the open and close tags are two searches; one lazy pattern spanning both rescans a window
# from every "<title" of a hostile page (about 2 s of event-loop CPU for 64 KiB of them).
_TITLE_OPEN = re.compile(r"<title[^>]{0,256}>", re.I)
_TITLE_CLOSE = re.compile(r"</title\s*>", re.I)
TITLE_WINDOW_CHARS = 4096  # where the closing tag must be, after the first <title>
_WHITESPACE = re.compile(r"\s+")


def extract_title(body: str) -> str | None:
    """The page <title>, entities unescaped and whitespace collapsed; None when there is none."""
    page = body[:TITLE_SEARCH_CHARS]
    opening = _TITLE_OPEN.search(page)
    if opening is None:
        return None
    window = page[opening.end() : opening.end() + TITLE_WINDOW_CHARS + 16]
    closing = _TITLE_CLOSE.search(window)
    if closing is None or closing.start() > TITLE_WINDOW_CHARS:
        return None
    text = _WHITESPACE.sub(" ", html.unescape(window[: closing.start()])).strip()
    return text[:MAX_TITLE_CHARS]

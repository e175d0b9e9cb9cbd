"""camaudit's own observation JSON lines: {"host", "channel", "value"[, "port"]} per line."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any, BinaryIO

from camaudit.errors import ConfigError
from camaudit.inputs.detect import DAMAGED_GZIP
from camaudit.models import MAX_VALUE_CHARS, Evidence

MAX_LINE_BYTES = 4 * MAX_VALUE_CHARS  # one observation; JSON escaping can quadruple a value


@dataclass
class JsonlReader:
    """Observations from one stream; `stopped` says where a cut-off last line ended reading."""

    stream: BinaryIO
    name: str = "-"
    stopped: str | None = None

    def __iter__(self) -> Iterator[Evidence]:
        text = io.TextIOWrapper(self.stream, encoding="utf-8", errors="replace", newline="")
        number = 0
        while True:
            try:
                line = text.readline(MAX_LINE_BYTES)
            except DAMAGED_GZIP as exc:
                self.stopped = (
                    f"stopped after line {number}: the compressed data is damaged ({exc})"
                )
                return
            if not line:
                return
            number += 1
            if not line.strip():
                continue
            try:
                yield observation(line)
            except (ValueError, TypeError, KeyError) as exc:
                if not line.endswith("\n") and not _more(text):
                    # The last line stops mid-object: the file was cut, not written wrong.
                    self.stopped = f"line {number} is cut short"
                    return
                raise ConfigError(
                    f"{self.name}: line {number}: not an observation ({type(exc).__name__}: {exc})"
                ) from None


def _more(text: io.TextIOWrapper) -> bool:
    try:
        return bool(text.read(1))
    except DAMAGED_GZIP:
        return False


def observation(line: str) -> Evidence:
    """One JSON line as Evidence; ValueError, TypeError or KeyError when it is not one."""
    item = json.loads(line)
    if not isinstance(item, dict):
        raise TypeError("not a JSON object")
    port = item.get("port")
    return Evidence(
        host=IPv4Address(str(item["host"])),
        channel=_required_text(item, "channel"),
        value=_required_text(item, "value")[:MAX_VALUE_CHARS],
        probe="input",
        port=int(port) if port is not None else None,
    )


def _required_text(item: dict[str, Any], key: str) -> str:
    value = item[key]
    if not isinstance(value, str):
        raise TypeError(f"{key!r} must be a string")
    return value

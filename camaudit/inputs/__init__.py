"""Evidence other tools gathered, read from files: camaudit JSON lines, nmap XML, pcap, pcapng.

`read_inputs` tells each file's format from its content (gzip undone first), reads it as a
stream, and returns the evidence of all files together, so one host seen in a capture and in an
nmap run is judged once with both. Nothing here sends a packet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from camaudit.inputs.capture import CaptureJudge
from camaudit.inputs.detect import Format, Opened, open_input
from camaudit.inputs.jsonl import JsonlReader
from camaudit.inputs.nmap_xml import NmapReader
from camaudit.inputs.pcap import CaptureReader
from camaudit.models import Evidence

__all__ = ["InputBatch", "read_inputs"]


@dataclass(frozen=True, slots=True, kw_only=True)
class InputBatch:
    """The evidence read from every input, and one warning per input that stopped early."""

    evidence: tuple[Evidence, ...]
    warnings: tuple[str, ...]


def read_inputs(paths: Sequence[str]) -> InputBatch:
    """Read every input; ConfigError (exit 2) for a file that is unreadable or no known format.

    A cut or partly corrupt file is read as far as it goes; its warning says where it stopped.
    """
    evidence: dict[Evidence, None] = {}
    warnings: list[str] = []
    captures = CaptureJudge()
    for path in paths:
        with open_input(path) as opened:
            stopped = _read_one(opened, evidence, captures)
        if stopped:
            where = " (uncompressed)" if opened.compressed else ""
            warnings.append(
                f"{path}: {opened.format}{where} {stopped}; what came before was judged"
            )
    for item in captures.evidence():
        evidence.setdefault(item, None)
    return InputBatch(evidence=tuple(evidence), warnings=tuple(warnings))


def _read_one(opened: Opened, evidence: dict[Evidence, None], captures: CaptureJudge) -> str | None:
    """Read one input into `evidence` (a capture into `captures`); where it stopped, if early."""
    if opened.format in (Format.PCAP, Format.PCAPNG):
        reader = CaptureReader(opened.stream, pcapng=opened.format is Format.PCAPNG)
        captures.read(reader)
        return reader.stopped
    source = (
        JsonlReader(opened.stream, name=opened.name)
        if opened.format is Format.JSONL
        else NmapReader(opened.stream)
    )
    for item in source:
        evidence.setdefault(item, None)
    return source.stopped

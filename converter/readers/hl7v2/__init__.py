"""HL7 v2 reader: files and streams of v2 messages -> one Fragment per message.

Reading is two steps so that a process pool can share the second (converter/parallel.py):
`units()` frames every source into messages (cheap, in order), `read_unit()` maps one of them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from ...fragment import Fragment
from ...issues import Issue, Location
from ...sources import Source
from .framing import RawMessage, split_messages
from .mapper import map_message
from .message import decode_message


@dataclass(slots=True)
class Unit:
    """One message of a source to map, with the framing issues it carries (on a source's first
    message), or a source that gave no message (raw None: the issues say why)."""

    source: str
    raw: RawMessage | None
    issues: list[Issue] = field(default_factory=list)


def units(sources: list[Source]) -> Iterator[Unit]:
    """Every message of every source, in order; framing problems ride on the first one."""
    for src in sources:
        try:
            data = src.read()
        except OSError as exc:
            yield Unit(src.name, None, [Issue("fatal", "unreadable",
                                              f"cannot read: {exc.strerror or exc}",
                                              Location(source=src.name))])
            continue
        raws, issues = split_messages(data, src.name)
        if not raws:
            issues.append(Issue("fatal", "not-hl7", "no HL7 v2 message (no MSH segment) found",
                                Location(source=src.name)))
            yield Unit(src.name, None, issues)
            continue
        for n, raw in enumerate(raws):
            yield Unit(src.name, raw, issues if n == 0 else [])


def read_unit(unit: Unit) -> Fragment:
    """The Fragment of one message (or the unusable Fragment of a source without any)."""
    if unit.raw is None:
        return Fragment(unit.source, "hl7v2", unusable=True, issues=unit.issues)
    frag = map_message(decode_message(unit.raw, unit.source), unit.source)
    frag.issues[:0] = unit.issues
    return frag


def read(sources: list[Source]) -> Iterator[Fragment]:
    """Every message of every source, in order, as Fragments."""
    for unit in units(sources):
        yield read_unit(unit)

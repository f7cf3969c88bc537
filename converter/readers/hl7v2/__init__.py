"""HL7 v2 reader: files and streams of v2 messages -> one Fragment per message."""
from __future__ import annotations

from typing import Iterator

from ...fragment import Fragment
from ...issues import Issue, Location
from ...sources import Source
from .framing import split_messages
from .mapper import map_message
from .message import decode_message


def read(sources: list[Source]) -> Iterator[Fragment]:
    """Every message of every source, in order; framing problems ride on the first fragment."""
    for src in sources:
        try:
            data = src.read()
        except OSError as exc:
            yield Fragment(src.name, "hl7v2", unusable=True, issues=[Issue(
                "fatal", "unreadable", f"cannot read: {exc.strerror or exc}",
                Location(source=src.name))])
            continue
        raws, issues = split_messages(data, src.name)
        if not raws:
            issues.append(Issue("fatal", "not-hl7", "no HL7 v2 message (no MSH segment) found",
                                Location(source=src.name)))
            yield Fragment(src.name, "hl7v2", unusable=True, issues=issues)
            continue
        for n, raw in enumerate(raws):
            msg = decode_message(raw, src.name)
            frag = map_message(msg, src.name)
            if n == 0:
                frag.issues[:0] = issues
            yield frag

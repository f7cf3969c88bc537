"""The header attributes a study's files carried that no FHIR element holds, reported by name."""
from __future__ import annotations

from pydicom.datadict import keyword_for_tag

from ...issues import Issue, Location
from . import grouping, imagingstudy, patient, reports
from .grouping import Study
from .values import tag_str

SPECIFIC_CHARACTER_SET = 0x00080005
MAPPED = frozenset({SPECIFIC_CHARACTER_SET, *grouping.MAPPED_TAGS, *imagingstudy.MAPPED_TAGS,
                    *patient.MAPPED_TAGS, *reports.MAPPED_TAGS})
SHOWN = 60  # attribute names listed in the message; the rest are counted


def unmapped_issue(study: Study) -> Issue | None:
    """One information issue naming the attributes of the study's files left out of the output."""
    tags: set[int] = set()
    for series in study.series.values():
        tags |= series.tags
    left = sorted(t for t in tags if t not in MAPPED and t & 0xFFFF)  # group lengths carry nothing
    public = [t for t in left if not (t >> 16) & 1]
    private = len(left) - len(public)
    if not left:
        return None
    names = [keyword_for_tag(t) or tag_str(t) for t in public]
    shown = ", ".join(names[:SHOWN])
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    priv = f"{'; ' if names else ''}{private} private attributes" if private else ""
    return Issue("information", "unmapped-field",
                 f"header attributes with no FHIR mapping (not in the output): {shown}{more}{priv}",
                 Location(source=study.source))

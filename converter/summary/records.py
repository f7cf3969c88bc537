"""What any resource says about itself: voided at the source or not, its notes, "no known ..."
codes; and the base of the readers that turn resources into views."""
from __future__ import annotations

from datetime import date
from typing import Iterable

from ..vocabulary import table
from . import recency
from .fhirtext import References, Term, codes_of, first_code, one_line, term

KNOWN_ABSENT = "summary/known-absent.csv"
NOT_REAL = {"entered-in-error", "refuted"}  # status / verification codes that void a record


def is_real(resource: dict) -> bool:
    """False for records voided at the source (entered-in-error, refuted)."""
    status = resource.get("status")
    verification = first_code(resource.get("verificationStatus"))
    return status not in NOT_REAL and verification not in NOT_REAL


def absent_topic(concept: dict | None) -> str:
    """The topic ("allergy", "problem"...) when a code states a known absence, else ""."""
    known = table(KNOWN_ABSENT)
    for code in sorted(codes_of(concept)):
        if code in known:
            return known[code]["topic"]
    return ""


def absent_topic_term(t: Term) -> str:
    """absent_topic() of a Term already read."""
    known = table(KNOWN_ABSENT)
    return next((known[c.code]["topic"] for c in t.codes if c.code in known), "")


def note_texts(resource: dict) -> list[str]:
    """The Annotation texts of `note` (v2 NTE, CDA comments), each on one line."""
    return [one_line(n["text"]) for n in resource.get("note") or []
            if isinstance(n, dict) and n.get("text")]


def concepts(values: Iterable | None) -> list[Term]:
    """A list of CodeableConcepts as Terms, empty ones left out."""
    return [t for t in (term(v) for v in values or []) if t]


class Reader:
    """Reads resources of one Bundle into views: references resolved, dates marked for recency."""

    def __init__(self, refs: References, today: date) -> None:
        self.refs = refs
        self.today = today

    def mark(self, value: str | None) -> int | None:
        return recency.mark(value, self.today)

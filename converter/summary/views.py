"""The summary's view model: plain facts in the order a reader needs them, in no language yet.

Statuses and kinds stay codes, and the renderers put them in words (i18n.py); clinical terms are
kept as the source wrote them, with their codes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .fhirtext import Term, date_text
from .units import SIValue

ABNORMAL_FLAGS = {"A", "AA", "H", "HH", "HU", "L", "LL", "LU", "POS", "DET", "R", ">", "<"}


@dataclass
class Message:
    """A sentence of the summary's own, in no language yet: a strings key and its parameters."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Dated:
    """Something that happened on a date: the date as written, and its recency mark (months)."""

    date: str = ""
    mark: int | None = None

    @property
    def day(self) -> str:
        return date_text(self.date)


@dataclass
class Identifier:
    type_code: str
    type_text: str
    value: str
    issuer: str


@dataclass
class SourceInfo:
    """One source the Bundle was made from (a message, a document, a study), from Provenance."""

    name: str
    activity: str = ""
    recorded: str = ""
    agents: list[str] = field(default_factory=list)


@dataclass
class Header:
    name: str
    family: str
    given: str
    birth_date: str
    sex: str
    identifiers: list[Identifier]
    generated: str
    sources: list[SourceInfo]
    deceased: str = ""


@dataclass
class Problem(Dated):
    term: Term = field(default_factory=lambda: Term(""))
    status: str = ""
    verification: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class Allergy(Dated):
    term: Term = field(default_factory=lambda: Term(""))
    status: str = ""
    criticality: str = ""
    categories: list[str] = field(default_factory=list)
    reactions: list[tuple[str, str]] = field(default_factory=list)  # (manifestations, severity code)
    notes: list[str] = field(default_factory=list)


@dataclass
class Allergies:
    """What the sources say about allergies: "known", "none-known" or "no-information"."""

    state: str
    items: list[Allergy] = field(default_factory=list)
    statements: list[Allergy] = field(default_factory=list)  # "no known allergy" records


@dataclass
class Medication(Dated):
    term: Term = field(default_factory=lambda: Term(""))
    status: str = ""
    dosage: str = ""
    period: str = ""
    kind: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class ResultRow(Dated):
    name: Term = field(default_factory=lambda: Term(""))
    value: str = ""
    unit: str = ""
    range: str = ""
    flags: list[str] = field(default_factory=list)
    si: SIValue | None = None
    status: str = ""
    notes: list[str] = field(default_factory=list)
    level: int = 0  # 1 for a component or panel member shown under its parent

    @property
    def abnormal(self) -> bool:
        return any(f in ABNORMAL_FLAGS for f in self.flags)


@dataclass
class Panel(Dated):
    """A table of results: one DiagnosticReport, or results that came without one."""

    title: Term = field(default_factory=lambda: Term(""))
    group: str = ""  # for results without a report: their category code
    status: str = ""
    performer: str = ""
    conclusion: str = ""
    notes: list[str] = field(default_factory=list)
    rows: list[ResultRow] = field(default_factory=list)

    @property
    def show_row_dates(self) -> bool:
        return bool(self.group) or any(r.day and r.day != self.day for r in self.rows)


@dataclass
class Series:
    number: str
    modality: str
    description: str
    body_part: str
    images: int | None
    expected: int | None


@dataclass
class Study(Dated):
    description: str = ""
    procedures: list[Term] = field(default_factory=list)
    modalities: list[str] = field(default_factory=list)
    body_parts: list[str] = field(default_factory=list)
    series_count: int | None = None
    image_count: int | None = None
    series: list[Series] = field(default_factory=list)
    warnings: list[Message] = field(default_factory=list)
    accession: str = ""
    status: str = ""


@dataclass
class Procedure(Dated):
    term: Term = field(default_factory=lambda: Term(""))
    status: str = ""
    body_sites: list[str] = field(default_factory=list)
    performers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Immunization(Dated):
    vaccine: Term = field(default_factory=lambda: Term(""))
    status: str = ""
    lot: str = ""
    dose: str = ""
    route: str = ""
    site: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class Encounter(Dated):
    period: str = ""
    encounter_class: str = ""
    class_text: str = ""
    types: list[Term] = field(default_factory=list)
    reasons: list[Term] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    participants: list[str] = field(default_factory=list)
    status: str = ""


@dataclass
class Document(Dated):
    type: Term = field(default_factory=lambda: Term(""))
    title: str = ""
    authors: list[str] = field(default_factory=list)
    status: str = ""
    attachments: list[str] = field(default_factory=list)
    excerpt: str = ""


@dataclass
class TimelineItem(Dated):
    kind: str = ""  # resource type: the renderer names it
    text: str = ""
    detail: str = ""


@dataclass
class QualityLine:
    severity: str
    code: str
    message: str
    location: str
    count: int = 1


@dataclass
class Quality:
    """Data quality from the conversion's OperationOutcome: problems listed, notes counted by kind."""

    tagged: bool = False
    problems: list[QualityLine] = field(default_factory=list)
    notes: list[QualityLine] = field(default_factory=list)
    hidden: int = 0
    given: bool = False


@dataclass
class Summary:
    today: date
    header: Header
    problems: list[Problem]
    problem_statements: list[Term]
    allergies: Allergies
    medications: list[Medication]
    medication_statements: list[Term]
    other_statements: list[Term]  # "no known procedures / immunizations / devices"
    timeline: list[TimelineItem]
    panels: list[Panel]
    studies: list[Study]
    procedures: list[Procedure]
    immunizations: list[Immunization]
    encounters: list[Encounter]
    documents: list[Document]
    quality: Quality


def _sort_key(item: Dated) -> tuple[int, str, str]:
    return (1 if item.date else 0, item.date[:10], item.date)


def newest_first(items: list) -> list:
    """Items by date, newest first; undated ones last, in their Bundle order."""
    dated = sorted((i for i in items if i.date), key=_sort_key, reverse=True)
    return dated + [i for i in items if not i.date]

"""Bundle -> the summary's view model: plain facts in the order a reader needs them.

Built only from the Bundle, so the summary shows exactly what the Bundle holds. The model holds
no words of any language: statuses and kinds stay codes, and the renderers put them in words
(i18n.py). Clinical terms are kept as the source wrote them, with their codes.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable

from ..vocabulary import table
from . import recency
from .fhirtext import (References, Term, clip, codes_of, coding_term, date_text, first,
                       first_code, human_name, markup_text, number, one_line, period_text,
                       quantity, term, unit_code)
from .units import SIValue, to_si

LOINC = "http://loinc.org"
KNOWN_ABSENT = "summary/known-absent.csv"
EXCERPT_CHARS = 600
QUALITY_LIST_LIMIT = 40
TEXT_TYPES = ("text/plain", "text/html", "application/xhtml+xml", "text/xml", "application/xml")

NOT_REAL = {"entered-in-error", "refuted"}  # verification / status codes that void a record
ACTIVE_CONDITION = {"active", "recurrence", "relapse"}
CURRENT_MEDICATION = {"MedicationStatement": {"active", "intended", "on-hold", "unknown"},
                      "MedicationRequest": {"active", "on-hold"}}
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
    timeline: list[TimelineItem]
    panels: list[Panel]
    studies: list[Study]
    procedures: list[Procedure]
    immunizations: list[Immunization]
    encounters: list[Encounter]
    documents: list[Document]
    quality: Quality


def build(bundle: dict, today: date, outcome: dict | None = None) -> Summary:
    """The view model of a Bundle on `today` (recency marks), with an optional OperationOutcome."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise ValueError("summarize() takes a FHIR Bundle (a dict with resourceType 'Bundle')")
    refs = References(bundle)
    by_type: dict[str, list[dict]] = {}
    for entry in bundle.get("entry") or []:
        r = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(r, dict) and r.get("resourceType"):
            by_type.setdefault(r["resourceType"], []).append(r)
    b = _Builder(refs, today)

    conditions = [c for c in by_type.get("Condition", []) if _real(c)]
    problems = [b.problem(c) for c in conditions if not _absent_topic(c.get("code"))]
    allergies = b.allergies(by_type.get("AllergyIntolerance", []))
    meds = [b.medication(m) for m in by_type.get("MedicationStatement", []) +
            by_type.get("MedicationRequest", []) if _real(m)]
    panels = b.panels(by_type.get("DiagnosticReport", []), by_type.get("Observation", []))
    studies = [b.study(s) for s in by_type.get("ImagingStudy", []) if _real(s)]
    procedures = [b.procedure(p) for p in by_type.get("Procedure", []) if _real(p)
                  and not _absent_topic(p.get("code"))]
    immunizations = [b.immunization(i) for i in by_type.get("Immunization", []) if _real(i)
                     and not _absent_topic(i.get("vaccineCode"))]
    encounters = [b.encounter(e) for e in by_type.get("Encounter", []) if _real(e)]
    documents = [b.document(d) for d in by_type.get("DocumentReference", []) if _real(d)]
    documents += [b.composition(c) for c in by_type.get("Composition", []) if _real(c)]

    summary = Summary(
        today=today,
        header=b.header(next(iter(by_type.get("Patient", [])), {}), by_type.get("Provenance", [])),
        problems=_newest_first([p for p in problems if _is_active_problem(p)]),
        problem_statements=[term(c.get("code")) for c in conditions if _absent_topic(c.get("code"))],
        allergies=allergies,
        medications=_newest_first([m for m in meds if m.status in CURRENT_MEDICATION[m.kind]
                                   and not _absent_topic_term(m.term)]),
        medication_statements=[m.term for m in meds if _absent_topic_term(m.term)],
        timeline=[],
        panels=_newest_first(panels),
        studies=_newest_first(studies),
        procedures=_newest_first(procedures),
        immunizations=_newest_first(immunizations),
        encounters=_newest_first(encounters),
        documents=_newest_first(documents),
        quality=quality(bundle, outcome, by_type.get("OperationOutcome", [])),
    )
    summary.timeline = timeline(summary, problems, meds)
    return summary


def _real(resource: dict) -> bool:
    """False for records voided at the source (entered-in-error, refuted)."""
    status = resource.get("status")
    verification = first_code(resource.get("verificationStatus"))
    return status not in NOT_REAL and verification not in NOT_REAL


def _absent_topic(concept: dict | None) -> str:
    """The topic ("allergy", "problem"...) when a code states a known absence, else ""."""
    known = table(KNOWN_ABSENT)
    for code in sorted(codes_of(concept)):
        if code in known:
            return known[code]["topic"]
    return ""


def _absent_topic_term(t: Term) -> str:
    known = table(KNOWN_ABSENT)
    return next((known[c.code]["topic"] for c in t.codes if c.code in known), "")


def _is_active_problem(p: Problem) -> bool:
    """Active, or with no status at all (nothing says it is over)."""
    return p.status in ACTIVE_CONDITION or not p.status


def _sort_key(item: Dated) -> tuple[int, str, str]:
    return (1 if item.date else 0, item.date[:10], item.date)


def _newest_first(items: list) -> list:
    """Items by date, newest first; undated ones last, in their Bundle order."""
    dated = sorted((i for i in items if i.date), key=_sort_key, reverse=True)
    return dated + [i for i in items if not i.date]


def _notes(resource: dict) -> list[str]:
    """The Annotation texts of `note` (v2 NTE, CDA comments), each on one line."""
    return [one_line(n["text"]) for n in resource.get("note") or []
            if isinstance(n, dict) and n.get("text")]


def _concept_list(values: Iterable | None) -> list[Term]:
    return [t for t in (term(v) for v in values or []) if t]


class _Builder:
    """Turns one resource at a time into its view, resolving references through the Bundle."""

    def __init__(self, refs: References, today: date) -> None:
        self.refs = refs
        self.today = today

    def mark(self, value: str | None) -> int | None:
        return recency.mark(value, self.today)

    # --- header -----------------------------------------------------------------------------
    def header(self, patient: dict, provenances: list[dict]) -> Header:
        shown, family, given = human_name(patient.get("name"))
        idents = []
        for ident in patient.get("identifier") or []:
            if not isinstance(ident, dict) or not ident.get("value"):
                continue
            t = term(ident.get("type"))
            issuer = self.refs.label(ident.get("assigner")) or (ident.get("system") or "")
            idents.append(Identifier(first_code(ident.get("type")), t.text,
                                     one_line(ident["value"]), one_line(issuer)))
        deceased = patient.get("deceasedDateTime") or ("yes" if patient.get("deceasedBoolean") else "")
        return Header(shown, family, given, patient.get("birthDate") or "",
                      patient.get("gender") or "", idents, self.today.isoformat(),
                      self.sources(provenances), deceased)

    def sources(self, provenances: list[dict]) -> list[SourceInfo]:
        out: list[SourceInfo] = []
        seen: set[tuple[str, str]] = set()
        for p in provenances:
            names = [self.refs.label(e.get("what")) for e in p.get("entity") or [] if isinstance(e, dict)]
            agents = [self.refs.label(a.get("who")) for a in p.get("agent") or [] if isinstance(a, dict)]
            agents = [a for a in agents if a]
            name = next((n for n in names if n), "") or (agents[0] if agents else "")
            key = (name, p.get("recorded") or "")
            if not name or key in seen:
                continue
            seen.add(key)
            out.append(SourceInfo(name, term(p.get("activity")).text, p.get("recorded") or "",
                                  [a for a in agents if a != name]))
        return out

    # --- at a glance ------------------------------------------------------------------------
    def problem(self, c: dict) -> Problem:
        onset = first(c, "onsetDateTime", "onsetPeriod.start", "onsetString", "recordedDate") or ""
        return Problem(onset, self.mark(onset), term(c.get("code")),
                       first_code(c.get("clinicalStatus")), first_code(c.get("verificationStatus")),
                       _notes(c))

    def allergies(self, records: list[dict]) -> Allergies:
        items, statements = [], []
        for a in records:
            if not _real(a):
                continue
            onset = first(a, "onsetDateTime", "onsetPeriod.start", "onsetString", "recordedDate") or ""
            reactions = []
            for r in a.get("reaction") or []:
                words = "; ".join(t.text for t in _concept_list(r.get("manifestation")))
                if r.get("description"):
                    words = "; ".join(w for w in (words, one_line(r["description"])) if w)
                if words or r.get("severity"):
                    reactions.append((words, r.get("severity") or ""))
            allergy = Allergy(onset, self.mark(onset), term(a.get("code")),
                              first_code(a.get("clinicalStatus")), a.get("criticality") or "",
                              list(a.get("category") or []), reactions, _notes(a))
            topic = _absent_topic(a.get("code"))
            (statements if topic in ("allergy", "any") else items).append(allergy)
        state = "known" if items else ("none-known" if statements else "no-information")
        return Allergies(state, _newest_first(items), statements)

    def medication(self, m: dict) -> Medication:
        kind = m["resourceType"]
        concept = m.get("medicationCodeableConcept")
        if concept is None:
            med = self.refs.get(m.get("medicationReference"))
            concept = med.get("code") if med else None
            t = term(concept) if concept else Term(self.refs.label(m.get("medicationReference")))
        else:
            t = term(concept)
        if kind == "MedicationRequest":
            when = m.get("authoredOn") or ""
            dosage_list = m.get("dosageInstruction") or []
            period = date_text(when)
        else:
            when = first(m, "effectiveDateTime", "effectivePeriod.start", "dateAsserted") or ""
            dosage_list = m.get("dosage") or []
            period = period_text(m.get("effectivePeriod")) or date_text(m.get("effectiveDateTime"))
        dosage = "; ".join(one_line(d["text"]) for d in dosage_list if isinstance(d, dict) and d.get("text"))
        if not dosage:
            dosage = "; ".join(_dose_text(d) for d in dosage_list if isinstance(d, dict) and _dose_text(d))
        return Medication(when, self.mark(when), t, m.get("status") or "", dosage, period, kind, _notes(m))

    # --- results ----------------------------------------------------------------------------
    def panels(self, reports: list[dict], observations: list[dict]) -> list[Panel]:
        used: set[int] = set()
        panels = []
        for dr in reports:
            if not _real(dr):
                continue
            when = first(dr, "effectiveDateTime", "effectivePeriod.start", "issued") or ""
            performer = ", ".join(x for x in (self.refs.label(p) for p in dr.get("performer") or []) if x)
            panel = Panel(when, self.mark(when), term(dr.get("code")), "", dr.get("status") or "",
                          performer, one_line(dr.get("conclusion") or ""), _notes(dr))
            for ref in dr.get("result") or []:
                obs = self.refs.get(ref)
                if obs is not None:
                    used.add(id(obs))
                    panel.rows.extend(self.result_rows(obs, used))
            panels.append(panel)
        for obs in observations:  # members of panels met first are marked used by result_rows
            for ref in obs.get("hasMember") or []:
                member = self.refs.get(ref)
                if member is not None:
                    used.add(id(member))
        groups: dict[str, Panel] = {}
        for obs in observations:
            if id(obs) in used or not _real(obs):
                continue
            if obs.get("hasMember"):
                when = _obs_date(obs)
                panel = Panel(when, self.mark(when), term(obs.get("code")), "", obs.get("status") or "",
                              notes=_notes(obs))
                panel.rows = self.result_rows(obs, used)[1:]
                panels.append(panel)
                continue
            group = first_code(obs.get("category")) or "other"
            panel = groups.get(group)
            if panel is None:
                panel = groups[group] = Panel(group=group)
                panels.append(panel)
            panel.rows.extend(self.result_rows(obs, used))
        for panel in groups.values():
            panel.rows = _newest_first(panel.rows)
            panel.date = panel.rows[0].date if panel.rows else ""
            panel.mark = self.mark(panel.date)
        return panels

    def result_rows(self, obs: dict, used: set[int], level: int = 0) -> list[ResultRow]:
        """The row of an Observation, then rows for its components and panel members."""
        rows = [self.result_row(obs, level)]
        for comp in obs.get("component") or []:
            if isinstance(comp, dict):
                rows.append(self.result_row(comp, level + 1, parent=obs))
        for ref in obs.get("hasMember") or []:
            member = self.refs.get(ref)
            if member is not None and id(member) not in used and level < 3:
                used.add(id(member))
                rows.extend(self.result_rows(member, used, level + 1))
        return rows

    def result_row(self, obs: dict, level: int, parent: dict | None = None) -> ResultRow:
        when = _obs_date(parent or obs)
        value, unit = _value(obs)
        loincs = {c.get("code") for c in (obs.get("code") or {}).get("coding") or []
                  if isinstance(c, dict) and c.get("system") == LOINC and c.get("code")}
        ranges = obs.get("referenceRange") or []
        flags = [c.get("code") for i in obs.get("interpretation") or [] if isinstance(i, dict)
                 for c in i.get("coding") or [] if isinstance(c, dict) and c.get("code")]
        if not flags:
            flags = [one_line(i["text"]) for i in obs.get("interpretation") or []
                     if isinstance(i, dict) and i.get("text")]
        return ResultRow(when, self.mark(when), term(obs.get("code")), value, unit,
                         _range_text(ranges), flags, to_si(loincs, obs.get("valueQuantity"), ranges),
                         (parent or obs).get("status") or "", _notes(obs), level)

    # --- imaging ----------------------------------------------------------------------------
    def study(self, s: dict) -> Study:
        when = s.get("started") or ""
        series_list = [x for x in s.get("series") or [] if isinstance(x, dict)]
        modalities = [c.get("code") for c in s.get("modality") or [] if isinstance(c, dict) and c.get("code")]
        modalities += [x["modality"]["code"] for x in series_list
                       if isinstance(x.get("modality"), dict) and x["modality"].get("code")
                       and x["modality"]["code"] not in modalities]
        modalities = list(dict.fromkeys(modalities))
        series, parts, warnings = [], [], []
        for x in series_list:
            listed = len(x["instance"]) if isinstance(x.get("instance"), list) else None
            stated = x.get("numberOfInstances")
            part = coding_term(x.get("bodySite")).text
            if part and part not in parts:
                parts.append(part)
            series.append(Series(str(x.get("number") or ""),
                                 (x.get("modality") or {}).get("code") or "",
                                 one_line(x.get("description") or ""), part,
                                 listed if listed is not None else stated, stated))
            if listed is not None and isinstance(stated, int) and listed < stated:
                warnings.append(Message("imaging.series-incomplete",
                                        {"series": x.get("number") or x.get("uid") or "?",
                                         "present": listed, "expected": stated}))
        stated_series = s.get("numberOfSeries")
        if isinstance(stated_series, int) and series_list and len(series_list) < stated_series:
            warnings.append(Message("imaging.study-incomplete",
                                    {"present": len(series_list), "expected": stated_series}))
        if s.get("status") == "registered" or not series_list:
            warnings.append(Message("imaging.no-images"))
        images = [x.images for x in series if x.images is not None]
        image_count = sum(images) if images else s.get("numberOfInstances")
        accession = next((one_line(i["value"]) for i in s.get("identifier") or []
                          if isinstance(i, dict) and i.get("value")
                          and first_code(i.get("type")) == "ACSN"), "")
        return Study(when, self.mark(when), one_line(s.get("description") or ""),
                     _concept_list(s.get("procedureCode")), modalities, parts,
                     len(series_list) if series_list else stated_series, image_count, series,
                     warnings, accession, s.get("status") or "")

    # --- history ----------------------------------------------------------------------------
    def procedure(self, p: dict) -> Procedure:
        when = first(p, "performedDateTime", "performedPeriod.start", "performedString") or ""
        performers = [x for x in (self.refs.label(f.get("actor")) for f in p.get("performer") or []
                                  if isinstance(f, dict)) if x]
        return Procedure(when, self.mark(when), term(p.get("code")), p.get("status") or "",
                         [t.text for t in _concept_list(p.get("bodySite"))], performers, _notes(p))

    def immunization(self, i: dict) -> Immunization:
        when = first(i, "occurrenceDateTime", "occurrenceString", "recorded") or ""
        dose_q = quantity(i.get("doseQuantity"))
        dose = " ".join(x for x in dose_q if x)
        series = [str(p.get("doseNumberPositiveInt") or p.get("doseNumberString") or "")
                  for p in i.get("protocolApplied") or [] if isinstance(p, dict)]
        if any(series):
            dose = "; ".join(x for x in (dose, "#" + ", ".join(s for s in series if s)) if x)
        return Immunization(when, self.mark(when), term(i.get("vaccineCode")), i.get("status") or "",
                            one_line(i.get("lotNumber") or ""), dose, term(i.get("route")).text,
                            term(i.get("site")).text, _notes(i))

    def encounter(self, e: dict) -> Encounter:
        period = e.get("period") or {}
        when = period.get("start") or period.get("end") or ""
        cls = e.get("class") if isinstance(e.get("class"), dict) else {}
        locations = [x for x in (self.refs.label(l.get("location")) for l in e.get("location") or []
                                 if isinstance(l, dict)) if x]
        participants = [x for x in (self.refs.label(p.get("individual")) for p in e.get("participant") or []
                                    if isinstance(p, dict)) if x]
        reasons = _concept_list(e.get("reasonCode"))
        for d in e.get("diagnosis") or []:
            cond = self.refs.get(d.get("condition")) if isinstance(d, dict) else None
            if cond is not None and term(cond.get("code")):
                reasons.append(term(cond.get("code")))
        return Encounter(when, self.mark(when), period_text(period), cls.get("code") or "",
                         one_line(cls.get("display") or ""), _concept_list(e.get("type")),
                         list(dict.fromkeys(reasons)), list(dict.fromkeys(locations)),
                         list(dict.fromkeys(participants)), e.get("status") or "")

    def document(self, d: dict) -> Document:
        when = first(d, "date", "context.period.start") or ""
        attachments, excerpt = [], ""
        for c in d.get("content") or []:
            att = c.get("attachment") if isinstance(c, dict) else None
            if not isinstance(att, dict):
                continue
            bits = [one_line(att.get("title") or ""), att.get("contentType") or ""]
            size = att.get("size")
            if isinstance(size, int):
                bits.append(_bytes_text(size))
            attachments.append(" · ".join(b for b in bits if b))
            if not excerpt:
                excerpt = _attachment_text(att)
        authors = [x for x in (self.refs.label(a) for a in d.get("author") or []) if x]
        title = one_line(d.get("description") or "") or next(
            (one_line((c.get("attachment") or {}).get("title") or "") for c in d.get("content") or []
             if isinstance(c, dict)), "")
        if not excerpt:
            excerpt = clip(markup_text((d.get("text") or {}).get("div")), EXCERPT_CHARS)
        return Document(when, self.mark(when), term(d.get("type")), title, authors,
                        d.get("docStatus") or d.get("status") or "", attachments, excerpt)

    def composition(self, c: dict) -> Document:
        when = c.get("date") or ""
        authors = [x for x in (self.refs.label(a) for a in c.get("author") or []) if x]
        sections = [s for s in c.get("section") or [] if isinstance(s, dict)]
        text = " ".join(
            f"{one_line(s.get('title') or '')}: {markup_text((s.get('text') or {}).get('div'))}"
            for s in sections if (s.get("text") or {}).get("div"))
        return Document(when, self.mark(when), term(c.get("type")), one_line(c.get("title") or ""),
                        authors, c.get("status") or "",
                        [one_line(s.get("title") or "") for s in sections if s.get("title")],
                        clip(one_line(text), EXCERPT_CHARS))


def _obs_date(obs: dict) -> str:
    return first(obs, "effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued") or ""


def _value(obs: dict) -> tuple[str, str]:
    """The value of an Observation (or component) and its unit, as the source gave them."""
    if "valueQuantity" in obs:
        return quantity(obs["valueQuantity"])
    if "valueCodeableConcept" in obs:
        return term(obs["valueCodeableConcept"]).text, ""
    if "valueString" in obs:
        return one_line(obs["valueString"]), ""
    if "valueBoolean" in obs:
        return ("true" if obs["valueBoolean"] else "false"), ""
    if "valueInteger" in obs:
        return str(obs["valueInteger"]), ""
    if "valueRange" in obs:
        low, lu = quantity(obs["valueRange"].get("low"))
        high, hu = quantity(obs["valueRange"].get("high"))
        return f"{low}–{high}", lu or hu
    if "valueRatio" in obs:
        n, nu = quantity(obs["valueRatio"].get("numerator"))
        d, du = quantity(obs["valueRatio"].get("denominator"))
        return f"{n}{(' ' + nu) if nu else ''} / {d}{(' ' + du) if du else ''}", ""
    for key in ("valueDateTime", "valueTime"):
        if key in obs:
            return date_text(obs[key], with_time=True), ""
    if "valuePeriod" in obs:
        return period_text(obs["valuePeriod"]), ""
    if "dataAbsentReason" in obs:
        return f"({term(obs['dataAbsentReason']).text})", ""
    return "", ""


def _range_text(ranges: list) -> str:
    """The first reference range as text: its own text, else "low – high unit"."""
    for rng in ranges:
        if not isinstance(rng, dict):
            continue
        if rng.get("text"):
            return one_line(rng["text"])
        low, lu = quantity(rng.get("low"))
        high, hu = quantity(rng.get("high"))
        unit = lu or hu
        if low and high:
            return f"{low}–{high} {unit}".strip()
        if low:
            return f"≥ {low} {unit}".strip()
        if high:
            return f"≤ {high} {unit}".strip()
    return ""


def _dose_text(d: dict) -> str:
    parts = []
    for dr in d.get("doseAndRate") or []:
        if isinstance(dr, dict):
            parts.append(" ".join(x for x in quantity(dr.get("doseQuantity")) if x))
    route = term(d.get("route")).text
    return " ".join(p for p in parts + [route] if p)


def _bytes_text(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return ""


def _attachment_text(att: dict) -> str:
    """The readable text of an inline text attachment (base64 data), clipped; "" otherwise."""
    ctype = (att.get("contentType") or "").split(";")[0].strip().lower()
    if ctype not in TEXT_TYPES or not att.get("data"):
        return ""
    try:
        raw = base64.b64decode(att["data"], validate=False)
    except (binascii.Error, ValueError):
        return ""
    text = raw.decode("utf-8", errors="replace")
    text = one_line(text) if ctype == "text/plain" else markup_text(text)
    return clip(text, EXCERPT_CHARS)


def timeline(s: Summary, problems: list[Problem], meds: list[Medication]) -> list[TimelineItem]:
    """Everything with a date, newest first (undated items are left to their sections)."""
    items: list[TimelineItem] = []

    def add(kind: str, item: Dated, text: str, detail: str = "") -> None:
        if item.date:
            items.append(TimelineItem(item.date, item.mark, kind, text, detail))

    for e in s.encounters:
        add("Encounter", e, "; ".join(t.text for t in e.types) or e.class_text or e.encounter_class,
            "; ".join(t.text for t in e.reasons))
    for p in problems:
        add("Condition", p, p.term.text, p.status)
    for a in s.allergies.items:
        add("AllergyIntolerance", a, a.term.text, "; ".join(r for r, _ in a.reactions if r))
    for m in meds:
        add(m.kind, m, m.term.text, m.dosage)
    for panel in s.panels:
        if panel.group:
            for r in panel.rows:
                add("Observation", r, r.name.text, f"{r.value} {r.unit}".strip())
        else:
            abnormal = sum(1 for r in panel.rows if r.abnormal)
            add("DiagnosticReport", panel, panel.title.text,
                f"{len(panel.rows)}|{abnormal}")
    for st in s.studies:
        add("ImagingStudy", st, st.description or "; ".join(t.text for t in st.procedures),
            " ".join(st.modalities))
    for p in s.procedures:
        add("Procedure", p, p.term.text, p.status)
    for i in s.immunizations:
        add("Immunization", i, i.vaccine.text, i.status)
    for d in s.documents:
        add("DocumentReference", d, d.title or d.type.text, d.type.text if d.title else "")
    return _newest_first(items)


def quality(bundle: dict, outcome: dict | None, embedded: list[dict]) -> Quality:
    """Data quality: errors and warnings listed one by one; information notes counted by code."""
    q = Quality(tagged=any(isinstance(t, dict) and t.get("code") == "conversion-errors"
                           for t in (bundle.get("meta") or {}).get("tag") or []),
                given=outcome is not None or bool(embedded))
    counts: dict[str, QualityLine] = {}
    for oo in ([outcome] if outcome else []) + embedded:
        for issue in oo.get("issue") or []:
            if not isinstance(issue, dict):
                continue
            severity = issue.get("severity") or "information"
            code = first_code((issue.get("details") or {}), "urn:medbundle:issue-code") \
                or issue.get("code") or ""
            message = one_line((issue.get("details") or {}).get("text") or issue.get("diagnostics") or "")
            where = "; ".join(one_line(x) for x in issue.get("location") or issue.get("expression") or [])
            if not where:
                where = one_line(issue.get("diagnostics") or "") if (issue.get("details") or {}).get("text") else ""
            if severity in ("fatal", "error", "warning"):
                if len(q.problems) < QUALITY_LIST_LIMIT:
                    q.problems.append(QualityLine(severity, code, message, where))
                else:
                    q.hidden += 1
            elif code != "" or message:
                if code == "" and message == "no issues":
                    continue
                line = counts.get(code or message)
                if line is None:
                    counts[code or message] = QualityLine(severity, code, message, where)
                else:
                    line.count += 1
    q.problems.sort(key=lambda x: {"fatal": 0, "error": 1, "warning": 2}.get(x.severity, 3))
    q.notes = list(counts.values())
    return q

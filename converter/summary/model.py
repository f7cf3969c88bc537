"""Bundle -> the summary's view model (views.py), built only from the Bundle, so the summary
shows exactly what the Bundle holds."""
from __future__ import annotations

import base64
import binascii
from datetime import date

from .fhirtext import (
    References,
    Term,
    clip,
    coding_term,
    date_text,
    first,
    first_code,
    human_name,
    markup_text,
    one_line,
    period_text,
    quantity,
    term,
)
from .quality import quality
from .records import absent_topic, absent_topic_term, concepts, is_real, note_texts
from .results import ResultReader
from .timeline import timeline
from .views import (
    Allergies,
    Allergy,
    Document,
    Encounter,
    Header,
    Identifier,
    Immunization,
    Medication,
    Message,
    Problem,
    Procedure,
    Series,
    SourceInfo,
    Study,
    Summary,
    newest_first,
)

EXCERPT_CHARS = 600
TEXT_TYPES = ("text/plain", "text/html", "application/xhtml+xml", "text/xml", "application/xml")
ACTIVE_CONDITION = {"active", "recurrence", "relapse"}
CURRENT_MEDICATION = {"MedicationStatement": {"active", "intended", "on-hold", "unknown"},
                      "MedicationRequest": {"active", "on-hold"}}


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

    conditions = [c for c in by_type.get("Condition", []) if is_real(c)]
    problems = [b.problem(c) for c in conditions if not absent_topic(c.get("code"))]
    allergies = b.allergies(by_type.get("AllergyIntolerance", []))
    meds = [b.medication(m) for m in by_type.get("MedicationStatement", []) +
            by_type.get("MedicationRequest", []) if is_real(m)]
    panels = b.panels(by_type.get("DiagnosticReport", []), by_type.get("Observation", []))
    studies = [b.study(s) for s in by_type.get("ImagingStudy", []) if is_real(s)]
    procedures = [b.procedure(p) for p in by_type.get("Procedure", []) if is_real(p)
                  and not absent_topic(p.get("code"))]
    immunizations = [b.immunization(i) for i in by_type.get("Immunization", []) if is_real(i)
                     and not absent_topic(i.get("vaccineCode"))]
    encounters = [b.encounter(e) for e in by_type.get("Encounter", []) if is_real(e)]
    documents = [b.document(d) for d in by_type.get("DocumentReference", []) if is_real(d)]
    documents += [b.composition(c) for c in by_type.get("Composition", []) if is_real(c)]

    summary = Summary(
        today=today,
        header=b.header(next(iter(by_type.get("Patient", [])), {}), by_type.get("Provenance", [])),
        problems=newest_first([p for p in problems if _is_active_problem(p)]),
        problem_statements=[term(c.get("code")) for c in conditions if absent_topic(c.get("code"))],
        allergies=allergies,
        medications=newest_first([m for m in meds if m.status in CURRENT_MEDICATION[m.kind]
                                   and not absent_topic_term(m.term)]),
        medication_statements=[m.term for m in meds if absent_topic_term(m.term)],
        other_statements=[term(r.get(key)) for rtype, key in (("Procedure", "code"),
                                                              ("Immunization", "vaccineCode"))
                          for r in by_type.get(rtype, []) if is_real(r) and absent_topic(r.get(key))],
        timeline=[],
        panels=newest_first(panels),
        studies=newest_first(studies),
        procedures=newest_first(procedures),
        immunizations=newest_first(immunizations),
        encounters=newest_first(encounters),
        documents=newest_first(documents),
        quality=quality(bundle, outcome, by_type.get("OperationOutcome", [])),
    )
    summary.timeline = timeline(summary, problems, meds)
    return summary




def _is_active_problem(p: Problem) -> bool:
    """Active, or with no status at all (nothing says it is over)."""
    return p.status in ACTIVE_CONDITION or not p.status


class _Builder(ResultReader):
    """Turns one resource at a time into its view, resolving references through the Bundle."""

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
                       note_texts(c))

    def allergies(self, records: list[dict]) -> Allergies:
        items, statements = [], []
        for a in records:
            if not is_real(a):
                continue
            onset = first(a, "onsetDateTime", "onsetPeriod.start", "onsetString", "recordedDate") or ""
            reactions = []
            for r in a.get("reaction") or []:
                words = "; ".join(t.text for t in concepts(r.get("manifestation")))
                if r.get("description"):
                    words = "; ".join(w for w in (words, one_line(r["description"])) if w)
                if words or r.get("severity"):
                    reactions.append((words, r.get("severity") or ""))
            allergy = Allergy(onset, self.mark(onset), term(a.get("code")),
                              first_code(a.get("clinicalStatus")), a.get("criticality") or "",
                              list(a.get("category") or []), reactions, note_texts(a))
            topic = absent_topic(a.get("code"))
            (statements if topic in ("allergy", "any") else items).append(allergy)
        state = "known" if items else ("none-known" if statements else "no-information")
        return Allergies(state, newest_first(items), statements)

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
        return Medication(when, self.mark(when), t, m.get("status") or "", dosage, period, kind,
                          note_texts(m))

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
                     concepts(s.get("procedureCode")), modalities, parts,
                     len(series_list) if series_list else stated_series, image_count, series,
                     warnings, accession, s.get("status") or "")

    # --- history ----------------------------------------------------------------------------
    def procedure(self, p: dict) -> Procedure:
        when = first(p, "performedDateTime", "performedPeriod.start", "performedString") or ""
        performers = [x for x in (self.refs.label(f.get("actor")) for f in p.get("performer") or []
                                  if isinstance(f, dict)) if x]
        return Procedure(when, self.mark(when), term(p.get("code")), p.get("status") or "",
                         [t.text for t in concepts(p.get("bodySite"))], performers, note_texts(p))

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
                            term(i.get("site")).text, note_texts(i))

    def encounter(self, e: dict) -> Encounter:
        period = e.get("period") or {}
        when = period.get("start") or period.get("end") or ""
        cls = e.get("class") if isinstance(e.get("class"), dict) else {}
        locations = [x for x in (self.refs.label(loc.get("location")) for loc in e.get("location") or []
                                 if isinstance(loc, dict)) if x]
        participants = [x for x in (self.refs.label(p.get("individual")) for p in e.get("participant") or []
                                    if isinstance(p, dict)) if x]
        reasons = concepts(e.get("reasonCode"))
        for d in e.get("diagnosis") or []:
            cond = self.refs.get(d.get("condition")) if isinstance(d, dict) else None
            if cond is not None and term(cond.get("code")):
                reasons.append(term(cond.get("code")))
        return Encounter(when, self.mark(when), period_text(period), cls.get("code") or "",
                         one_line(cls.get("display") or ""), concepts(e.get("type")),
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

"""The timeline: everything with a date, newest first, from the sections already read."""
from __future__ import annotations

from itertools import takewhile

from .views import Dated, Medication, Problem, Summary, TimelineItem, newest_first


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
            for n, r in enumerate(panel.rows):
                if r.level == 0:
                    parts = [r] + list(takewhile(lambda x: x.level > 0, panel.rows[n + 1:]))
                    add("Observation", r, r.name.text,
                        " / ".join(f"{x.value} {x.unit}".strip() for x in parts if x.value))
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
    return newest_first(items)


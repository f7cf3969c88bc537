"""The view model in words: sections of tables, cards and paragraphs, the same for every format.

html.py, markdown.py and pdf.py only draw what this module lays out, so the three formats always
say the same thing in the same order and in the same language.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .fhirtext import Term, date_text
from .i18n import Words
from .views import Document, Panel, Study, Summary


@dataclass
class Cell:
    """One table cell: its text, the codes of a clinical term, a recency mark, emphasis."""

    text: str = ""
    code: str = ""
    mark: str = ""
    strong: bool = False
    age: int | None = None  # the recency mark in months, for styling
    note: str = ""  # a remark shown under the text (a note of the record)

    @property
    def plain(self) -> str:
        """The cell as one line of text (for Markdown and measuring)."""
        parts = [self.text]
        if self.code:
            parts.append(f"({self.code})")
        if self.mark:
            parts.append(f"({self.mark})")
        if self.note:
            parts.append(f"— {self.note}")
        return " ".join(p for p in parts if p)


@dataclass
class Table:
    kind: ClassVar[str] = "table"
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    levels: list[int] = field(default_factory=list)  # indentation of each row (panel members)
    nowrap: tuple[int, ...] = ()  # columns kept on one line (dates, short kinds)
    indent: int = 0  # the column indented for rows of a deeper level


@dataclass
class Para:
    """A paragraph: style is "text", "empty" (nothing recorded), "statement", "warning" or "note"."""

    kind: ClassVar[str] = "para"

    text: str
    style: str = "text"


@dataclass
class Card:
    """A titled group: one results panel, one imaging study, one document."""

    kind: ClassVar[str] = "card"

    title: str
    code: str = ""
    date: str = ""
    mark: str = ""
    age: int | None = None
    meta: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    table: Table | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Section:
    key: str
    title: str
    blocks: list = field(default_factory=list)  # Table | Para | Card | Subheading


@dataclass
class Subheading:
    kind: ClassVar[str] = "subheading"

    text: str


@dataclass
class Page:
    """Everything one summary shows, in words of one language."""

    lang: str
    html_lang: str
    title: str
    name: str
    birth_date: str
    facts: list[tuple[str, list[str]]]
    intro: str
    legend: str
    sections: list[Section]
    footer: str
    born: str
    running_head: str  # name and date of birth, on every printed page
    page_label: str  # "Page {page} of {pages}" with the placeholders left in


def lay_out(s: Summary, w: Words) -> Page:
    """The summary laid out in the words of `w`."""
    from .. import __version__  # here, not at import: converter/__init__ may import this package

    h = s.header
    ids = [" ".join(x for x in (w.code("id-type", i.type_code) if i.type_code else i.type_text,
                                i.value, f"({i.issuer})" if i.issuer else "") if x)
           for i in h.identifiers]
    sources = [" ".join(x for x in (src.name, f"({src.activity})" if src.activity else "",
                                    date_text(src.recorded)) if x)
               for src in h.sources]
    facts = [(w("label.name"), [h.name]), (w("label.birth_date"), [h.birth_date]),
             (w("label.sex"), [w.code("sex", h.sex)]),
             (w("label.identifiers"), ids or [w("label.none")]),
             (w("label.generated"), [h.generated]), (w("label.sources"), sources or [w("label.none")])]
    if h.deceased:
        facts.insert(3, (w("label.deceased"), [date_text(h.deceased) if h.deceased != "yes" else "✓"]))
    sections = [glance(s, w), timeline(s, w), results(s, w), imaging(s, w), procedures(s, w),
                immunizations(s, w), encounters(s, w), documents(s, w), quality(s, w)]
    return Page(w.lang, w.html_lang, w("title"), h.name, h.birth_date, facts,
                w("intro", date=h.generated), w("legend", date=h.generated),
                [x for x in sections if x is not None], w("footer", version=__version__),
                w("born", date=h.birth_date), f"{h.name} · {w('born', date=h.birth_date)}",
                w("page", page="{page}", pages="{pages}"))


def _mark(w: Words, months: int | None) -> str:
    return w("recency.short", months=months) if months else ""


def _date(w: Words, date: str, months: int | None) -> Cell:
    return Cell(date_text(date), mark=_mark(w, months), age=months)


def _term(t: Term) -> Cell:
    return Cell(t.text, t.code_text)


def _words(w: Words, group: str, codes: list[str]) -> str:
    return ", ".join(w.code(group, c) for c in codes if c)


def glance(s: Summary, w: Words) -> Section:
    sec = Section("glance", w("section.glance"))
    sec.blocks.append(Subheading(w("section.problems")))
    if s.problems:
        t = Table([w("col.problem"), w("col.status"), w("col.onset")])
        for p in s.problems:
            t.rows.append([_term(p.term), Cell(w.code("status", p.status)), _date(w, p.date, p.mark)])
        sec.blocks.append(t)
    else:
        sec.blocks.append(Para(w("problems.none"), "empty"))
    sec.blocks += [Para(w("statement", text=f"{x.text} ({x.code_text})"), "statement")
                   for x in s.problem_statements]

    sec.blocks.append(Subheading(w("section.allergies")))
    a = s.allergies
    if a.items:
        t = Table([w("col.allergy"), w("col.reaction"), w("col.criticality"), w("col.status"),
                   w("col.onset")])
        for x in a.items:
            reaction = "; ".join(" ".join(p for p in (r, f"({w.code('severity', sv)})" if sv else "") if p)
                                 for r, sv in x.reactions)
            t.rows.append([Cell(x.term.text, x.term.code_text, strong=x.criticality == "high"),
                           Cell(reaction), Cell(w.code("criticality", x.criticality)),
                           Cell(w.code("status", x.status)), _date(w, x.date, x.mark)])
        sec.blocks.append(t)
    else:
        sec.blocks.append(Para(w(f"allergies.{a.state}"), "statement" if a.statements else "empty"))
    sec.blocks += [Para(w("statement", text=f"{x.term.text} ({x.term.code_text})"
                          + (f", {x.day}" if x.day else "")), "statement")
                   for x in a.statements]

    sec.blocks.append(Subheading(w("section.medications")))
    if s.medications:
        t = Table([w("col.medication"), w("col.dosage"), w("col.status"), w("col.since")])
        for m in s.medications:
            t.rows.append([_term(m.term), Cell(m.dosage), Cell(w.code("status", m.status)),
                           Cell(m.period, mark=_mark(w, m.mark), age=m.mark)])
        sec.blocks.append(t)
    else:
        sec.blocks.append(Para(w("medications.none"), "empty"))
    sec.blocks += [Para(w("statement", text=f"{x.text} ({x.code_text})"), "statement")
                   for x in s.medication_statements + s.other_statements]
    return sec


def timeline(s: Summary, w: Words) -> Section:
    sec = Section("timeline", w("section.timeline"))
    if not s.timeline:
        sec.blocks.append(Para(w("empty"), "empty"))
        return sec
    t = Table([w("col.date"), w("col.kind"), w("col.what"), w("col.detail")], nowrap=(0, 1))
    for item in s.timeline:
        detail = item.detail
        if item.kind == "DiagnosticReport":
            count, abnormal = detail.split("|")
            detail = w("meta.results", count=count, abnormal=abnormal)
        elif item.kind in ("Condition", "Procedure", "Immunization"):
            detail = w.code("status", detail)
        t.rows.append([_date(w, item.date, item.mark), Cell(w(f"kind.{item.kind}")),
                       Cell(item.text), Cell(detail)])
    sec.blocks.append(t)
    return sec


def _cards(key: str, items: list, w: Words, card) -> Section | None:
    """A section of one card per item (left out when there are none)."""
    if not items:
        return None
    return Section(key, w(f"section.{key}"), [card(x, w) for x in items])


def results(s: Summary, w: Words) -> Section | None:
    return _cards("results", s.panels, w, panel_card)


def panel_card(p: Panel, w: Words) -> Card:
    has_si = any(r.si for r in p.rows)
    with_dates = p.show_row_dates
    cols = ([w("col.date")] if with_dates else []) + [w("col.test"), w("col.value"), w("col.unit"),
                                                      w("col.range"), w("col.flag")]
    if has_si:
        cols += [w("col.si"), w("col.si_range")]
    t = Table(cols, indent=1 if with_dates else 0)
    for r in p.rows:
        row = [_date(w, r.date, r.mark)] if with_dates else []
        row += [_term(r.name), Cell(r.value, strong=r.abnormal), Cell(r.unit), Cell(r.range),
                Cell(_words(w, "flag", r.flags), strong=r.abnormal)]
        if has_si:
            si_range = ""
            if r.si and (r.si.low or r.si.high):
                si_range = f"{r.si.low}–{r.si.high}" if r.si.low and r.si.high else \
                    (f"≥ {r.si.low}" if r.si.low else f"≤ {r.si.high}")
            row += [Cell(f"{r.si.value} {r.si.unit}" if r.si else "",
                         f"LOINC {r.si.loinc}" if r.si and r.si.loinc else "", strong=r.abnormal),
                    Cell(si_range)]
        t.rows.append(row)
        t.levels.append(r.level)
    meta = []
    if p.status:
        meta.append(w("meta.status", value=w.code("status", p.status)))
    if p.performer:
        meta.append(w("meta.performer", value=p.performer))
    if p.conclusion:
        meta.append(w("meta.conclusion", value=p.conclusion))
    notes = list(p.notes) + [f"{r.name.text}: {n}" for r in p.rows for n in r.notes]
    title = w(f"group.{p.group}") if p.group and w.has(f"group.{p.group}") else \
        (w("group.other") if p.group else p.title.text)
    return Card(title, "" if p.group else p.title.code_text, date_text(p.date, with_time=True),
                _mark(w, p.mark), p.mark, meta, [], t if t.rows else None, notes)


def imaging(s: Summary, w: Words) -> Section | None:
    return _cards("imaging", s.studies, w, study_card)


def study_card(st: Study, w: Words) -> Card:
    title = st.description or "; ".join(t.text for t in st.procedures) or " ".join(st.modalities)
    meta = []
    if st.modalities:
        meta.append(w("meta.modality", value=", ".join(st.modalities)))
    if st.body_parts:
        meta.append(w("meta.body_part", value=", ".join(st.body_parts)))
    if st.procedures and st.description:
        meta.append(w("meta.procedure", value="; ".join(f"{t.text} ({t.code_text})" if t.code_text
                                                         else t.text for t in st.procedures)))
    meta.append(w("meta.counts", series="?" if st.series_count is None else st.series_count,
                  images="?" if st.image_count is None else st.image_count))
    if st.accession:
        meta.append(w("meta.accession", value=st.accession))
    if st.status:
        meta.append(w("meta.status", value=w.code("status", st.status)))
    table = None
    if st.series:
        table = Table([w("col.series"), w("col.modality"), w("col.body_part"), w("col.description"),
                       w("col.images")])
        for x in st.series:
            images = "" if x.images is None else str(x.images)
            if x.expected is not None and x.images is not None and x.images < x.expected:
                images = f"{x.images} / {x.expected}"
            table.rows.append([Cell(x.number), Cell(x.modality), Cell(x.body_part),
                               Cell(x.description), Cell(images, strong=images.count("/") > 0)])
    return Card(title, "", date_text(st.date, with_time=True), _mark(w, st.mark), st.mark, meta,
                [w(m.key, **m.params) for m in st.warnings], table)


def _simple(key: str, items: list, w: Words, columns: list[str], row) -> Section | None:
    if not items:
        return None
    t = Table([w(c) for c in columns])
    t.rows = [row(x) for x in items]
    return Section(key, w(f"section.{key}"), [t])


def procedures(s: Summary, w: Words) -> Section | None:
    return _simple("procedures", s.procedures, w,
                   ["col.date", "col.procedure", "col.status", "col.body_site", "col.performer"],
                   lambda p: [_date(w, p.date, p.mark),
                              Cell(p.term.text, p.term.code_text, note="; ".join(p.notes)),
                              Cell(w.code("status", p.status)),
                              Cell(", ".join(p.body_sites)), Cell("; ".join(p.performers))])


def immunizations(s: Summary, w: Words) -> Section | None:
    return _simple("immunizations", s.immunizations, w,
                   ["col.date", "col.vaccine", "col.status", "col.dose", "col.lot", "col.route"],
                   lambda i: [_date(w, i.date, i.mark), _term(i.vaccine), Cell(w.code("status", i.status)),
                              Cell(i.dose), Cell(i.lot),
                              Cell(" / ".join(x for x in (i.route, i.site) if x))])


def encounters(s: Summary, w: Words) -> Section | None:
    return _simple("encounters", s.encounters, w,
                   ["col.period", "col.class", "col.type", "col.reason", "col.location", "col.status"],
                   lambda e: [Cell(e.period, mark=_mark(w, e.mark), age=e.mark),
                              Cell(w.code("encounter-class", e.encounter_class)
                                   if w.has(f"encounter-class.{e.encounter_class}") else
                                   (e.class_text or e.encounter_class)),
                              Cell("; ".join(t.text for t in e.types)),
                              Cell("; ".join(t.text for t in e.reasons),
                                   "; ".join(t.code_text for t in e.reasons if t.code_text)),
                              Cell("; ".join(e.locations + e.participants)),
                              Cell(w.code("status", e.status))])


def documents(s: Summary, w: Words) -> Section | None:
    return _cards("documents", s.documents, w, document_card)


def document_card(d: Document, w: Words) -> Card:
    meta = []
    if d.type and d.title:
        code = f" ({d.type.code_text})" if d.type.code_text else ""
        meta.append(f"{w('col.type')}: {d.type.text}{code}")
    if d.authors:
        meta.append(f"{w('col.author')}: {'; '.join(d.authors)}")
    if d.status:
        meta.append(w("meta.status", value=w.code("status", d.status)))
    if d.attachments:
        meta.append(f"{w('col.content')}: {'; '.join(d.attachments)}")
    return Card(d.title or d.type.text or w("kind.DocumentReference"), "" if d.title else d.type.code_text,
                date_text(d.date, with_time=True), _mark(w, d.mark), d.mark, meta,
                notes=[d.excerpt] if d.excerpt else [])


def quality(s: Summary, w: Words) -> Section:
    q = s.quality
    sec = Section("quality", w("section.quality"))
    if q.tagged:
        sec.blocks.append(Para(w("quality.tagged"), "warning"))
    if not q.given:
        sec.blocks.append(Para(w("quality.not-given"), "note"))
        return sec
    if not q.problems and not q.notes:
        sec.blocks.append(Para(w("quality.none"), "text"))
        return sec
    if q.problems:
        sec.blocks.append(Subheading(w("quality.problems")))
        t = Table([w("col.severity"), w("col.issue"), w("col.where")])
        for line in q.problems:
            t.rows.append([Cell(w.code("severity", line.severity), strong=line.severity != "warning"),
                           Cell(line.message, line.code), Cell(line.location)])
        sec.blocks.append(t)
        if q.hidden:
            sec.blocks.append(Para(w("quality.hidden", count=q.hidden), "note"))
    if q.notes:
        sec.blocks.append(Subheading(w("quality.notes")))
        t = Table([w("col.issue"), w("col.count"), w("col.example")])
        for line in q.notes:
            known = bool(line.code) and w.has(f"issue.{line.code}")
            example = " — ".join(x for x in (line.message if known else "", line.location) if x)
            t.rows.append([Cell(w(f"issue.{line.code}") if known else line.message, line.code),
                           Cell(str(line.count)), Cell(example)])
        sec.blocks.append(t)
    return sec

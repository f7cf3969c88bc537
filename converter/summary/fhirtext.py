"""Reading FHIR datatypes as the words a reader needs: terms with their codes, names, quantities, dates."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from typing import Any

from ..vocabulary import table

CODE_SYSTEMS = "summary/code-systems.csv"


@dataclass(frozen=True)
class Code:
    """One coding of a term: the code system's short name (LOINC, SNOMED CT...) and the code."""

    system: str
    code: str

    def __str__(self) -> str:
        return f"{self.system} {self.code}" if self.system else self.code


@dataclass(frozen=True)
class Term:
    """A clinical term exactly as the source gave it (never translated), with its codes."""

    text: str
    codes: tuple[Code, ...] = field(default=())

    def __str__(self) -> str:
        return self.text

    @property
    def code_text(self) -> str:
        """The codes as one line, e.g. "LOINC 2345-7"."""
        return ", ".join(str(c) for c in self.codes)

    def __bool__(self) -> bool:
        return bool(self.text or self.codes)


def system_name(uri: str | None) -> str:
    """A short, well-known name for a code system URI ("" when it has none)."""
    if not uri:
        return ""
    row = table(CODE_SYSTEMS, key="uri").get(uri)
    if row:
        return row["short"]
    if uri.startswith("http://terminology.hl7.org/CodeSystem/"):
        return uri.rsplit("/", 1)[-1]
    return ""


def term(concept: dict | None) -> Term:
    """A CodeableConcept as a Term: its text, else the first display, else the first code."""
    if not isinstance(concept, dict):
        return Term("")
    codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
    codes = tuple(Code(system_name(c.get("system")), str(c["code"])) for c in codings if c.get("code"))
    text = concept.get("text") or next((c["display"] for c in codings if c.get("display")), "")
    if not text and codes:
        text = codes[0].code
    return Term(one_line(text), codes)


def coding_term(coding: dict | None) -> Term:
    """A single Coding as a Term."""
    return term({"coding": [coding]} if isinstance(coding, dict) else None)


def codes_of(concept: dict | None) -> set[str]:
    """Every code in a CodeableConcept (any system)."""
    if not isinstance(concept, dict):
        return set()
    return {str(c["code"]) for c in concept.get("coding") or [] if isinstance(c, dict) and c.get("code")}


def first_code(concept: dict | None, system: str | None = None) -> str:
    """The first code of a CodeableConcept, from `system` when given ("" when none)."""
    if not isinstance(concept, dict):
        return ""
    for c in concept.get("coding") or []:
        if isinstance(c, dict) and c.get("code") and (system is None or c.get("system") == system):
            return str(c["code"])
    return ""


def one_line(text: Any) -> str:
    """Text with runs of white space (new lines included) made single spaces."""
    return " ".join(str(text).split()) if text is not None else ""


def number(value: Any) -> Decimal | None:
    """A JSON number (Decimal, int or float) as a Decimal with its written digits, or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def plain(d: Decimal) -> str:
    """A Decimal written out without exponent, keeping its precision (1.50 stays "1.50")."""
    return format(d, "f")


def quantity(q: dict | None) -> tuple[str, str]:
    """(value text with comparator, unit text) of a Quantity."""
    if not isinstance(q, dict):
        return "", ""
    n = number(q.get("value"))
    value = (q.get("comparator") or "") + (plain(n) if n is not None else "")
    return value, str(q.get("unit") or q.get("code") or "")


def human_name(names: list | None) -> tuple[str, str, str]:
    """(display name "FAMILY, Given Middle", family, first given) from Patient.name.

    The official name is preferred; the family name is written in capitals, as is usual across
    borders, so that given and family names are never confused.
    """
    candidates = [n for n in names or [] if isinstance(n, dict)]
    if not candidates:
        return "", "", ""
    chosen = next((n for n in candidates if n.get("use") == "official"),
                  next((n for n in candidates if n.get("use") in (None, "usual")), candidates[0]))
    family = one_line(chosen.get("family") or "")
    given = [one_line(g) for g in chosen.get("given") or [] if g]
    if not family and not given:
        text = one_line(chosen.get("text") or "")
        return text, "", ""
    shown = family.upper() if family else ""
    if given:
        shown = f"{shown}, {' '.join(given)}" if shown else " ".join(given)
    return shown, family, given[0] if given else ""


_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?"
                   r"(Z|[+-]\d{2}:\d{2})?)?$")


def date_text(value: str | None, with_time: bool = False) -> str:
    """An ISO 8601 date or dateTime shown as written: date, and the time with its offset if asked.

    Never converted to another time zone (the source's offset is what it means).
    """
    if not value:
        return ""
    m = _DATE.match(value)
    if not m:
        return one_line(value)
    day = "-".join(p for p in m.group(1, 2, 3) if p)
    if with_time and m.group(4):
        zone = m.group(6) or ""
        zone = " UTC" if zone == "Z" else (f" {zone}" if zone else "")
        return f"{day} {m.group(4)}:{m.group(5)}{zone}"
    return day


def period_text(period: dict | None) -> str:
    """A Period as "start – end" (dates only)."""
    if not isinstance(period, dict):
        return ""
    start, end = date_text(period.get("start")), date_text(period.get("end"))
    if start and end and start != end:
        return f"{start} – {end}"
    return start or end


def first(resource: dict, *paths: str) -> Any:
    """The first value found at one of the dotted `paths` (lists step into their first item)."""
    for path in paths:
        value: Any = resource
        for part in path.split("."):
            if isinstance(value, list):
                value = value[0] if value else None
            value = value.get(part) if isinstance(value, dict) else None
        if value not in (None, "", [], {}):
            return value
    return None


class _TextOnly(HTMLParser):
    """Collects the text of an XHTML fragment, dropping markup and script/style content."""

    SKIP = {"script", "style", "head", "title"}
    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "td", "th"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIP:
            self._skip += 1
        elif tag in self.BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skip:
            self._skip -= 1
        elif tag in self.BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def markup_text(markup: str | None) -> str:
    """The readable text of a narrative (XHTML div or HTML), on one line; markup never survives."""
    if not markup:
        return ""
    parser = _TextOnly()
    parser.feed(str(markup))
    parser.close()
    return one_line("".join(parser.parts))


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters at a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut + " …"


class References:
    """Resolves the references of a Bundle (urn:uuid fullUrls and Type/id) to its resources."""

    def __init__(self, bundle: dict) -> None:
        self._by: dict[str, dict] = {}
        for entry in bundle.get("entry") or []:
            r = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(r, dict):
                continue
            if entry.get("fullUrl"):
                self._by[entry["fullUrl"]] = r
            if r.get("id") and r.get("resourceType"):
                self._by[f"{r['resourceType']}/{r['id']}"] = r
                self._by[f"urn:uuid:{r['id']}"] = r

    def get(self, reference: dict | None) -> dict | None:
        """The resource a Reference points to, or None when it is not in the Bundle."""
        if not isinstance(reference, dict) or not reference.get("reference"):
            return None
        return self._by.get(reference["reference"])

    def label(self, reference: dict | None) -> str:
        """A short name for who or what a Reference points to (display, name, or identifier)."""
        if not isinstance(reference, dict):
            return ""
        target = self.get(reference)
        if target is not None:
            rtype = target.get("resourceType")
            if rtype in ("Practitioner", "Patient", "RelatedPerson"):
                shown = human_name(target.get("name"))[0]
                if shown:
                    return shown
            if isinstance(target.get("name"), str):
                return one_line(target["name"])
            if rtype == "Device":
                name = first(target, "deviceName.name", "type.text")
                if name:
                    return one_line(name)
            if rtype == "PractitionerRole":
                return self.label(target.get("practitioner")) or self.label(target.get("organization"))
        if reference.get("display"):
            return one_line(reference["display"])
        ident = reference.get("identifier")
        if isinstance(ident, dict) and ident.get("value"):
            return one_line(ident["value"])
        return ""

"""The structured body: each section found by templateId (either C-CDA root, `X` or `X.1`), or by
its LOINC code in plain CDA; its entries dispatched; a section with narrative but nothing mapped
kept as a DocumentReference so its text still reaches the Bundle."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from ...vocabulary import rows, table
from .datatypes import concept
from .entries import Scope, dispatch
from .narrative import xhtml
from .nodes import Element, child, children, indexed, path, statement, templates, text
from .notes import section_reference

if TYPE_CHECKING:
    from .context import Context


PARTICIPANTS = frozenset({"Practitioner", "PractitionerRole", "Organization", "Location"})


@dataclass
class SectionInfo:
    """What a section held, for the Composition built later (issue 5): code, title, narrative."""

    xpath: str
    kind: str
    title: str | None
    code: dict | None
    templates: list[str]
    div: str | None
    resources: list[str] = field(default_factory=list)  # ids of the resources its entries produced
    empty_reason: str | None = None  # the section's nullFlavor, when it says it has no information
    kept_as_reference: bool = False  # the narrative already went into a DocumentReference


@lru_cache(maxsize=1)
def _by_loinc() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for row in rows("cda/section-templates.csv"):
        if row["loinc"]:
            out.setdefault(row["loinc"], row)
    return out


def section_row(sec: Element) -> dict[str, str] | None:
    """The section-templates.csv row for a section: by templateId, else by LOINC code."""
    known = table("cda/section-templates.csv", "root")
    for root in templates(sec):
        if root in known:
            return known[root]
    code = child(sec, "code")
    if code is not None and code.get("codeSystem") == "2.16.840.1.113883.6.1":
        return _by_loinc().get(code.get("code", ""))
    return None


def read_body(root: Element, ctx: Context) -> list[SectionInfo]:
    """Every section of the structuredBody, nested ones included, in document order."""
    body = path(root, "component", "structuredBody")
    out: list[SectionInfo] = []
    for comp in children(body, "component"):
        sec = child(comp, "section")
        if sec is not None:
            read_section(sec, ctx, out)
    return out


def read_section(sec: Element, ctx: Context, out: list[SectionInfo]) -> None:
    row = section_row(sec)
    roots = [r for r in dict.fromkeys(templates(sec)) if r]
    if row is None:
        ctx.unmapped(sec, "section")
    kind = row["kind"] if row else ""
    title = text(child(sec, "title"))
    code = concept(child(sec, "code"), ctx)
    div = xhtml(child(sec, "text"), ctx)
    info = SectionInfo(ctx.xpath(sec), kind, title, code, roots, div,
                       empty_reason=sec.get("nullFlavor"))
    out.append(info)
    scope = Scope(section_kind=kind, category=row["category"] if row else "")
    before = len(ctx.fragment.resources)
    for entry in children(sec, "entry"):
        st = statement(entry)
        if st is None:
            ctx.issue("warning", "unmapped-entry", "entry without a clinical statement", entry)
            continue
        with indexed():  # the entry's look-ups, dropped with it: fewer objects live on
            dispatch(st, ctx, scope)
    info.resources = [r["id"] for r in ctx.fragment.resources[before:]
                      if r["resourceType"] not in PARTICIPANTS]
    info.kept_as_reference = bool(div and (kind in ("", "narrative") or not info.resources))
    if info.kept_as_reference:
        why = "narrative only" if not children(sec, "entry") else (
            "no FHIR mapping for this section" if not kind or kind == "narrative"
            else "no entry of this section could be mapped")
        doc_ref = section_reference(sec, ctx, title, code, div, why)
        info.resources.append(doc_ref["id"])
    for comp in children(sec, "component"):
        sub = child(comp, "section")
        if sub is not None:
            read_section(sub, ctx, out)

"""Note Activity (.202) -> DocumentReference (clinical-note), and the DocumentReference that keeps
a section's narrative when the section has nothing structured (or nothing this reader maps)."""
from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from ...fhir.ids import ref, resource_id
from . import entries
from .common import PREFIX, entry_text
from .datatypes import concept, date_time, identifiers
from .narrative import DIV, escape, xhtml
from .nodes import Element, child
from .participants import authorship

if TYPE_CHECKING:
    from .context import Context
    from .entries import Scope

CATEGORY = {"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
                        "code": "clinical-note", "display": "Clinical Note"}]}


def note(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """Note Activity -> DocumentReference with the note text as an attachment."""
    recorded, recorder = authorship(el, ctx)
    code = concept(child(el, "code"), ctx)
    t = child(el, "text")
    body = None
    content_type = "text/plain"
    if t is not None:
        reference = child(t, "reference")
        target = ctx.narrative(reference.get("value")) if reference is not None else None
        if target is not None:
            body = xhtml(target, ctx)
            content_type = "application/xhtml+xml"
        elif t.get("mediaType") and t.get("representation") == "B64":
            body = "".join((t.text or "").split())
            content_type = t.get("mediaType")
        else:
            body = entry_text(el, ctx)
    res: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": ctx.entry_id("DocumentReference", el),
        "identifier": identifiers(el),
        "status": "current",
        "type": code,
        "category": [CATEGORY],
        "subject": ctx.subject(),
        "date": _instant(recorded),
        "author": [recorder] if recorder else [],
        "content": [{"attachment": _attachment(body, content_type,
                                               date_time(child(el, "effectiveTime"), ctx))}],
        "context": {"encounter": [ref(scope.encounter)]} if scope.encounter else None,
    }
    out = [ctx.add(res)]
    entries.rest(el, ctx, scope, frozenset({PREFIX + "64"}))
    return out


def _instant(value: str | None) -> str | None:
    """DocumentReference.date is an instant: only a full timestamp with offset fits."""
    return value if value and "T" in value else None


def _attachment(body: str | None, content_type: str, when: str | None) -> dict:
    if body is None:
        return {"contentType": content_type, "title": "note without text in the source"}
    if content_type in ("text/plain", "application/xhtml+xml"):
        data = base64.b64encode(body.encode("utf-8")).decode("ascii")
    else:
        data = body
    return {"contentType": content_type, "data": data, "creation": when}


def section_reference(section: Element, ctx: Context, title: str | None, code: dict | None,
                      div: str, why: str) -> dict:
    """A section kept as a DocumentReference: its safe XHTML as narrative and as attachment."""
    return ctx.add({
        "resourceType": "DocumentReference",
        "id": ctx.entry_id("DocumentReference", section, "section"),
        "identifier": identifiers(section),
        "status": "current",
        "type": code,
        "category": [CATEGORY],
        "subject": ctx.subject(),
        "description": f"{title or 'Untitled section'} ({why})",
        "text": {"status": "generated", "div": div},
        "content": [{"attachment": {
            "contentType": "application/xhtml+xml",
            "data": base64.b64encode(div.encode("utf-8")).decode("ascii"),
            "title": title}}],
    })




def narratives(sections: list, title: str | None, when: str | None, ctx: Context) -> dict | None:
    """The narrative of every structured section, in one DocumentReference (safe XHTML, each
    section under its title), so what the author wrote beside the coded entries reaches the Bundle
    too. Sections already kept whole as a DocumentReference are not repeated."""
    kept = [s for s in sections if s.div and not s.kept_as_reference]
    if not kept:
        return None
    # Written as text: each section's div (from xhtml(), so it starts with DIV) is nested without
    # its own xmlns, which the outer div declares; the same text etree would give for the tree.
    parts = [DIV]
    for s in kept:
        parts.append(f"<h2>{escape(s.title or 'Untitled section')}</h2><div{s.div[len(DIV) - 1:]}")
    parts.append("</div>")
    div = "".join(parts)
    doc = ctx.add({
        "resourceType": "DocumentReference",
        "id": resource_id("DocumentReference", ctx.doc_key, "narratives"),
        "status": "current",
        "type": {"text": "Narrative of the document's sections"},
        "category": [CATEGORY],
        "subject": ctx.subject(),
        "description": f"{title or 'CDA document'}: the narrative of its {len(kept)} "
                       "structured section(s), beside the entries mapped from them",
        "text": {"status": "generated", "div": div},
        "content": [{"attachment": {
            "contentType": "application/xhtml+xml",
            "data": base64.b64encode(div.encode("utf-8")).decode("ascii"),
            "title": title, "creation": when}}],
    })
    return doc

"""Pieces shared by the entry mappers: status tables, categories, notes, reasons, ids."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...vocabulary import lookup, table
from .datatypes import concept, identifiers, narrative_text
from .nodes import Element, child, related, templates

if TYPE_CHECKING:
    from .context import Context

PREFIX = "2.16.840.1.113883.10.20.22.4."
COMMENT = PREFIX + "64"
INDICATION = PREFIX + "19"
INSTRUCTION = PREFIX + "20"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def act_status(el: Element, column: str) -> str | None:
    """statusCode/@code mapped through act-status.csv for one target resource type."""
    sc = child(el, "statusCode")
    code = sc.get("code") if sc is not None else None
    return lookup("cda/act-status.csv", code, column) if code else None


def negated(el: Element) -> bool:
    return el.get("negationInd") == "true"


def has_template(el: Element, *roots: str) -> bool:
    own = templates(el)
    return any(r in own for r in roots)


def observation_category(code: str | None) -> list[dict]:
    """Observation.category for a code of the observation-category system."""
    if not code:
        return []
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code}]}]


def condition_category(code: str | None) -> list[dict]:
    row = table("cda/condition-category.csv").get(code or "")
    if not row:
        return []
    return [{"coding": [{"system": row["system"], "code": code, "display": row["display"]}]}]


def entry_text(el: Element, ctx: Context) -> str | None:
    """The plain text of a statement: its text/reference resolved, else its own text."""
    return narrative_text(child(el, "text"), ctx)


def notes(el: Element, ctx: Context) -> list[dict]:
    """Comment Activities (SUBJ acts, template .64) -> Annotation."""
    out = []
    for _holder, st in related(el):
        if has_template(st, COMMENT):
            t = entry_text(st, ctx)
            if t:
                out.append({"text": t})
    return out


def reasons(el: Element, ctx: Context) -> list[dict]:
    """Indications (RSON observations, template .19) -> reasonCode."""
    out = []
    for _holder, st in related(el, "RSON"):
        if has_template(st, INDICATION):
            c = concept(child(st, "value"), ctx) or concept(child(st, "code"), ctx)
            if c and c not in out:
                out.append(c)
    return out


def instructions(el: Element, ctx: Context) -> str | None:
    """Instruction acts (template .20) -> one text."""
    parts = []
    for _holder, st in related(el):
        if has_template(st, INSTRUCTION):
            t = entry_text(st, ctx)
            if not t:
                code = concept(child(st, "code"), ctx) or {}
                t = code.get("text") or next((c.get("display") for c in code.get("coding", [])
                                              if c.get("display")), None)
            if t:
                parts.append(t)
    return "; ".join(parts) or None


def ids(el: Element) -> list[dict]:
    return identifiers(el)


def first(*values: Any) -> Any:
    for v in values:
        if v:
            return v
    return None


def generic(concept: dict | None, kind: str) -> bool:
    """True when a concept is as wide as 'Substance' or 'Problem' (generic-concepts.csv): negated,
    it states that none is known rather than naming one."""
    if not concept:
        return False
    rows = table("cda/generic-concepts.csv")
    return any(c.get("code") in rows and rows[c["code"]]["kind"] == kind
               for c in concept.get("coding", []))

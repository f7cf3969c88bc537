"""Observation entries: the shared Observation builder (code, value of any type, interpretation,
reference range, method, site) and the mapper for social history, functional and mental status,
pregnancy and the other single observations of entry-templates.csv."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...fhir.ids import ref
from . import entries
from .common import PREFIX, act_status, negated, notes, observation_category
from .datatypes import (absent_concept, concept, concept_or_absent, effective, identifiers,
                        interval_quantity, narrative_text, set_choice, value)
from .nodes import Element, child, children, xsi_type
from .participants import authorship, performers

if TYPE_CHECKING:
    from .context import Context
    from .entries import Scope

CONSUMED = frozenset({PREFIX + "64"})
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


def observation(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """A single observation entry -> Observation in its template's category."""
    res = ctx.add(build(el, ctx, scope, scope.category or "social-history"))
    entries.rest(el, ctx, scope, CONSUMED)
    return [res]


def build(el: Element, ctx: Context, scope: Scope, category: str) -> dict[str, Any]:
    """The Observation dict for a CDA observation (not yet added)."""
    recorded, recorder = authorship(el, ctx)
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "id": ctx.entry_id("Observation", el),
        "identifier": identifiers(el),
        "status": act_status(el, "observation") or "final",
        "category": observation_category(category),
        "code": concept_or_absent(child(el, "code"), ctx),
        "subject": ctx.subject(),
        "encounter": ref(scope.encounter) if scope.encounter else None,
    }
    if not set_choice(res, "effective", effective(child(el, "effectiveTime"), ctx)) and recorded:
        res["effectiveDateTime"] = recorded
    perf = performers(el, ctx)
    if not perf and recorder:
        perf = [recorder]
    res["performer"] = perf
    values = children(el, "value")
    v = value(values[0], ctx) if values else None
    if v is not None and v[0] != "dataAbsentReason":
        res["value" + v[0]] = v[1]
    elif not negated(el):
        res["dataAbsentReason"] = v[1] if v is not None else absent_concept(
            values[0].get("nullFlavor") if values else "UNK")
    if negated(el):
        res["note"] = [{"text": "negated in the source (negationInd=true): the observation was "
                                "not made or its finding is absent"}]
    if len(values) > 1:
        ctx.issue("information", "unmapped-element",
                  f"{len(values) - 1} further <value> elements of this observation are not "
                  "mapped (FHIR allows one value)", values[1])
    res["interpretation"] = [c for c in (concept(i, ctx) for i in children(el, "interpretationCode"))
                             if c]
    res["method"] = concept(child(el, "methodCode"), ctx)
    res["bodySite"] = concept(child(el, "targetSiteCode"), ctx)
    res["referenceRange"] = reference_ranges(el, ctx)
    res["note"] = (res.get("note") or []) + notes(el, ctx)
    return res


def reference_ranges(el: Element, ctx: Context) -> list[dict]:
    """referenceRange/observationRange -> referenceRange (only normal ranges, STANDARDS 2.5)."""
    out = []
    for rr in children(el, "referenceRange"):
        orng = child(rr, "observationRange")
        if orng is None:
            continue
        interp = child(orng, "interpretationCode")
        if interp is not None and interp.get("code") not in (None, "N"):
            continue
        entry: dict[str, Any] = {}
        v = child(orng, "value")
        if v is not None:
            r = interval_quantity(v, ctx) if xsi_type(v) == "IVL_PQ" else None
            if r and r[0] == "Range":
                entry.update(r[1])
            elif r:
                q = dict(r[1])
                comparator = q.pop("comparator", "")
                entry["high" if comparator.startswith("<") else "low"] = q
        label = narrative_text(child(orng, "text"), ctx)
        if label:
            entry["text"] = label
        if entry:
            out.append(entry)
    return out

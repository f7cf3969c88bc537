"""Procedure Activity Procedure (.14), Act (.12) and Observation (.13) -> Procedure."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...fhir.datatypes import absent
from ...fhir.ids import ref
from . import entries
from .common import INDICATION, PREFIX, act_status, negated, notes, reasons
from .datatypes import concept, concept_or_absent, effective, identifiers, set_choice
from .nodes import Element, child, children
from .participants import actor, authorship, organization

if TYPE_CHECKING:
    from .context import Context
    from .entries import Scope

CONSUMED = frozenset({INDICATION, PREFIX + "64"})


def procedure(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """A procedure activity -> Procedure (negated -> not-done)."""
    recorded, recorder = authorship(el, ctx)
    res: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": ctx.entry_id("Procedure", el),
        "identifier": identifiers(el),
        "status": "not-done" if negated(el) else (act_status(el, "procedure") or "unknown"),
        "code": concept_or_absent(child(el, "code"), ctx),
        "subject": ctx.subject(),
        "encounter": ref(scope.encounter) if scope.encounter else None,
        "recorder": recorder,
        "performer": _performers(el, ctx),
        "bodySite": [c for c in (concept(s, ctx) for s in children(el, "targetSiteCode")) if c],
        "reasonCode": reasons(el, ctx),
        "note": notes(el, ctx),
    }
    if not set_choice(res, "performed", effective(child(el, "effectiveTime"), ctx)):
        res["_performedDateTime"] = absent("unknown")
    out = [ctx.add(res)]
    entries.rest(el, ctx, scope, CONSUMED)
    return out


def _performers(el: Element, ctx: Context) -> list[dict]:
    out = []
    for p in children(el, "performer"):
        entity = child(p, "assignedEntity")
        who = actor(entity, ctx)
        if who is None:
            continue
        org = organization(child(entity, "representedOrganization"), ctx)
        out.append({"actor": ref(who),
                    "onBehalfOf": ref(org) if org and who["resourceType"] == "Practitioner"
                    else None})
    return out

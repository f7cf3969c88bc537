"""Plan of Treatment entries: planned acts, encounters, procedures, observations and supplies,
referrals and interventions -> ServiceRequest; Goal Observation (.121) -> Goal."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...fhir.ids import ref
from ...vocabulary import lookup
from . import entries
from .common import INDICATION, PREFIX, act_status, entry_text, negated, notes, reasons
from .datatypes import concept, date_time, effective, identifiers, set_choice
from .datatypes import value as typed_value
from .nodes import Element, child
from .participants import authorship, performers

if TYPE_CHECKING:
    from .context import Context
    from .entries import Scope

CONSUMED = frozenset({INDICATION, PREFIX + "64"})



def planned(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """A planned or requested act -> ServiceRequest (intent from moodCode)."""
    recorded, recorder = authorship(el, ctx)
    code = concept(child(el, "code"), ctx)
    if code is None:
        label = entry_text(el, ctx)
        code = {"text": label} if label else None
    res: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": ctx.entry_id("ServiceRequest", el),
        "identifier": identifiers(el),
        "status": act_status(el, "service_request") or "active",
        "intent": lookup("cda/mood-intent.csv", el.get("moodCode"), "planned") or "plan",
        "doNotPerform": True if negated(el) else None,
        "code": code,
        "subject": ctx.subject(),
        "encounter": ref(scope.encounter) if scope.encounter else None,
        "authoredOn": recorded,
        "requester": recorder,
        "performer": performers(el, ctx),
        "reasonCode": reasons(el, ctx),
        "bodySite": [c for c in [concept(child(el, "targetSiteCode"), ctx)] if c],
        "note": notes(el, ctx),
    }
    set_choice(res, "occurrence", effective(child(el, "effectiveTime"), ctx))
    out = [ctx.add(res)]
    entries.rest(el, ctx, scope, CONSUMED)
    return out


def goal(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """Goal Observation -> Goal (the code, else the value or text, describes it)."""
    recorded, recorder = authorship(el, ctx)
    code = concept(child(el, "code"), ctx)
    target_value = typed_value(child(el, "value"), ctx)
    description = code
    if target_value and target_value[0] == "CodeableConcept":
        description = target_value[1] if code is None else code
    if description is None:
        label = entry_text(el, ctx)
        description = {"text": label or "goal (no description in the source)"}
    status = act_status(el, "goal") or "active"
    res: dict[str, Any] = {
        "resourceType": "Goal",
        "id": ctx.entry_id("Goal", el),
        "identifier": identifiers(el),
        "lifecycleStatus": status,
        "description": description,
        "subject": ctx.subject(),
        "expressedBy": recorder,
        "statusDate": (recorded or "")[:10] or None,
        "note": notes(el, ctx),
    }
    et = child(el, "effectiveTime")
    start = date_time(child(et, "low"), ctx) or date_time(et, ctx)
    if start:
        res["startDate"] = start[:10]
    due = date_time(child(et, "high"), ctx)
    target: dict[str, Any] = {}
    if target_value and target_value[0] in ("Quantity", "Range", "CodeableConcept", "String",
                                             "Boolean", "Integer", "Ratio") and code is not None:
        target["measure"] = code
        target["detail" + target_value[0]] = target_value[1]
    if due:
        target["dueDate"] = due[:10]
    if target:
        res["target"] = [target]
    out = [ctx.add(res)]
    entries.rest(el, ctx, scope, CONSUMED)
    return out



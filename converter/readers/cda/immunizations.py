"""Immunization Activity (.52) -> Immunization (given and not given, refusal reason);
Planned Immunization Activity (.120) -> MedicationRequest with a plan intent."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...fhir.ids import ref
from . import entries
from .common import INDICATION, PREFIX, act_status, has_template, negated, notes, reasons
from .datatypes import absent_concept, concept, date_time, identifiers, quantity
from .medications import medication_concept
from .nodes import Element, child, children, related, text
from .participants import actor, authorship, organization

if TYPE_CHECKING:
    from .context import Context
    from .entries import Scope

REFUSAL = PREFIX + "53"
CONSUMED = frozenset({REFUSAL, INDICATION, PREFIX + "64", PREFIX + "20", PREFIX + "118"})
FUNCTION = "http://terminology.hl7.org/CodeSystem/v2-0443"


def immunization(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """Immunization Activity -> Immunization."""
    code, product = medication_concept(el, ctx)
    material = child(product, "manufacturedMaterial")
    status = act_status(el, "immunization") or "completed"
    if negated(el):
        status = "not-done"
    recorded, recorder = authorship(el, ctx)
    et = child(el, "effectiveTime")
    res: dict[str, Any] = {
        "resourceType": "Immunization",
        "id": ctx.entry_id("Immunization", el),
        "identifier": identifiers(el),
        "status": status,
        "statusReason": _refusal(el, ctx),
        "vaccineCode": code or absent_concept(None),
        "patient": ctx.subject(),
        "encounter": ref(scope.encounter) if scope.encounter else None,
        "occurrenceDateTime": date_time(et, ctx) or date_time(child(et, "low"), ctx),
        "recorded": recorded,
        "lotNumber": text(child(material, "lotNumberText")),
        "manufacturer": _ref(organization(child(product, "manufacturerOrganization"), ctx)),
        "route": concept(child(el, "routeCode"), ctx),
        "site": concept(child(el, "approachSiteCode"), ctx),
        "doseQuantity": quantity(child(el, "doseQuantity"), ctx),
        "performer": _performers(el, ctx, recorder),
        "reasonCode": reasons(el, ctx),
        "note": notes(el, ctx),
    }
    if not res["occurrenceDateTime"]:
        # occurrence[x] is required: with no date in the source, say so in occurrenceString
        res["occurrenceString"] = "unknown (no date in the source document)"
    dose = child(el, "repeatNumber")
    if dose is not None and (dose.get("value") or "").isdigit() and int(dose.get("value")) > 0:
        res["protocolApplied"] = [{"doseNumberPositiveInt": int(dose.get("value"))}]
    out = [ctx.add(res)]
    entries.rest(el, ctx, scope, CONSUMED)
    return out


def planned(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """Planned Immunization Activity -> MedicationRequest (intent from moodCode)."""
    from .medications import planned as planned_medication
    return planned_medication(el, ctx, scope)


def _ref(res: dict | None) -> dict | None:
    return ref(res) if res else None


def _refusal(el: Element, ctx: Context) -> dict | None:
    for _h, st in related(el, "RSON"):
        if has_template(st, REFUSAL):
            return concept(child(st, "code"), ctx)
    return None


def _performers(el: Element, ctx: Context, recorder: dict | None) -> list[dict]:
    out = []
    for p in children(el, "performer"):
        who = actor(child(p, "assignedEntity"), ctx)
        if who is not None:
            out.append({"function": {"coding": [{"system": FUNCTION, "code": "AP",
                                                 "display": "Administering Provider"}]},
                        "actor": ref(who)})
    return out


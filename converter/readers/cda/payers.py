"""Payers section: Coverage Activity (.60) -> its Policy Activities (.61) -> Coverage, with the
payer as Organization (C-CDA on FHIR has no consensus map; this follows the R4 Coverage elements)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...fhir.ids import ref
from ...vocabulary import lookup
from .common import PREFIX, act_status
from .datatypes import concept, identifiers, period
from .nodes import Element, child, children, path, templates
from .participants import organization

if TYPE_CHECKING:
    from .context import Context
    from .entries import Scope

PAYER = PREFIX + "87"
GUARANTOR = PREFIX + "88"


def policy(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """Policy Activity -> Coverage: type, payer (performer .87), member id, relationship and
    period (participant COV), status."""
    payors = []
    for perf in children(el, "performer"):
        if PAYER in templates(perf) or (path(perf, "assignedEntity", "code") is not None and
                                        path(perf, "assignedEntity", "code").get("code")
                                        == "PAYOR"):
            entity = child(perf, "assignedEntity")
            org = organization(child(entity, "representedOrganization"), ctx) or \
                organization(entity, ctx)
            if org is not None:
                payors.append(ref(org))
        elif GUARANTOR in templates(perf):
            ctx.issue("information", "unmapped-element",
                      "guarantor: FHIR Coverage has no place for the person who pays the bill "
                      "(Account.guarantor would, and is not made)", perf)
    covered = next((p for p in children(el, "participant") if p.get("typeCode") == "COV"),
                   None)
    role = child(covered, "participantRole")
    member = next((i.get("extension") or i.get("root") for i in children(role, "id")
                   if not i.get("nullFlavor")), None)
    rel_code = child(role, "code")
    relationship = None
    if rel_code is not None and rel_code.get("code"):
        target = lookup("cda/coverage-relationship.csv", rel_code.get("code"))
        relationship = ({"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
            "code": target}]} if target else concept(rel_code, ctx))
    if not payors:
        ctx.issue("warning", "missing-field", "policy without an identifiable payer", el)
        payors = [{"display": "payer not identified in the source"}]
    res: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": ctx.entry_id("Coverage", el),
        "identifier": identifiers(el),
        "status": act_status(el, "coverage") or "active",
        "type": concept(child(el, "code"), ctx),
        "subscriberId": member,
        "beneficiary": ctx.subject(),
        "relationship": relationship,
        "period": period(child(covered, "time"), ctx) if covered is not None else None,
        "payor": payors,
    }
    return [ctx.add(res)]

"""IN1 -> Coverage with the payer Organization (V2-to-FHIR IN1[Coverage])."""
from __future__ import annotations

from typing import Any

from ...fhir.ids import ref, resource_id
from .context import Context
from .datatypes import compact, cx, fixed_coding, xad, xpn
from .message import Segment


def map_in1(seg: Segment, ctx: Context) -> dict | None:
    """IN1 -> Coverage: plan (IN1-2), payer (IN1-3 id, IN1-4 name, IN1-5 address), group
    (IN1-8/9), policy holder (IN1-11), period (IN1-12/13), plan type (IN1-15), subscriber (IN1-16,
    the patient when IN1-17 says self, else a RelatedPerson), relationship to the insured
    (IN1-17), policy number (IN1-36)."""
    seg.touch(1)
    if ctx.patient is None:
        ctx.issue("warning", "unexpected-segment", "IN1 without a patient: not mapped", seg)
        return None
    payer_ids = [x for x in (cx(r) for r in seg.reps(3)) if x]
    name = seg.value(4, 1)
    payer = ctx.organization([[name], [], [], [], [], [], [], [], [],
                              [payer_ids[0]["value"] if payer_ids else ""]])
    if payer is None:
        ctx.issue("warning", "missing-field", "IN1 without insurance company (IN1-3, IN1-4): "
                  "not mapped", seg, 3)
        return None
    seg.touch(3, 4)
    _payer_address(seg, ctx, payer)
    policy = seg.value(36)
    classes = []
    for n, code in ((2, "plan"), (8, "group")):
        if seg.value(n, 1):
            classes.append(compact({"type": {"coding": [fixed_coding(
                "http://terminology.hl7.org/CodeSystem/coverage-class", code)]},
                "value": seg.value(n, 1), "name": seg.value(n + 1) if n == 8 else
                seg.value(n, 2) or None}))
    seg.touch(9)
    coverage = {
        "resourceType": "Coverage",
        "id": resource_id("Coverage", ctx.patient["id"], payer["reference"], policy,
                          seg.value(1)),
        "identifier": [{"value": policy}] if policy else None,
        "status": "active",
        "type": ctx.code(seg, 15),
        "policyHolder": ctx.organization(seg.rep(11)),
        "subscriber": _subscriber(seg, ctx),
        "subscriberId": seg.value(49, 1) or None,
        "beneficiary": ctx.subject(),
        "relationship": ctx.code(seg, 17),
        "period": compact({"start": ctx.dt(seg, 12), "end": ctx.dt(seg, 13)}),
        "payor": [payer],
        "class": classes,
    }
    return ctx.add(coverage, seg)


def _payer_address(seg: Segment, ctx: Context, payer: dict) -> None:
    """IN1-5 insurance company address -> the payer Organization's address."""
    addresses = [x for x in (xad(r) for r in seg.reps(5)) if x]
    org = ctx.resource(payer["reference"][len("urn:uuid:"):])
    if addresses and org is not None and not org.get("address"):
        org["address"] = addresses


def _subscriber(seg: Segment, ctx: Context) -> dict | None:
    """IN1-16 name of insured: the patient when IN1-17 (table 0063) says self, else a
    RelatedPerson of that name and relationship."""
    names = [x for x in (xpn(r) for r in seg.reps(16)) if x]
    if not names:
        return None
    if seg.value(17, 1).upper() == "SEL":
        return ctx.subject()
    relationship = ctx.code(seg, 17)
    patient = ctx.patient
    assert patient is not None  # map_in1, the only caller, returns earlier without a patient
    person: dict[str, Any] = {
        "resourceType": "RelatedPerson",
        "id": resource_id("RelatedPerson", patient["id"], "IN1-16",
                          names[0].get("family", ""), " ".join(names[0].get("given", []))),
        "patient": ctx.subject(),
        "relationship": [relationship] if relationship else None,
        "name": names,
    }
    found = ctx.resource(person["id"]) or ctx.add(person, seg)
    return ref(found)

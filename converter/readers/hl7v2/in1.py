"""IN1 -> Coverage with the payer Organization (V2-to-FHIR IN1[Coverage])."""
from __future__ import annotations

from ...fhir.ids import resource_id
from .context import Context
from .datatypes import compact, cx, fixed_coding
from .message import Segment


def map_in1(seg: Segment, ctx: Context) -> dict | None:
    """IN1 -> Coverage: plan (IN1-2), payer (IN1-3 id, IN1-4 name), group (IN1-8/9), period
    (IN1-12/13), policy number (IN1-36), relationship to the insured (IN1-17)."""
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
        "subscriberId": seg.value(49, 1) or None,
        "beneficiary": ctx.subject(),
        "relationship": ctx.code(seg, 17),
        "period": compact({"start": ctx.dt(seg, 12), "end": ctx.dt(seg, 13)}),
        "payor": [payer],
        "class": classes,
    }
    return ctx.add(coverage, seg)

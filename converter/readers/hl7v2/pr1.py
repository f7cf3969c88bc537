"""PR1 -> Procedure (V2-to-FHIR PR1[Procedure]); every PR1 of a message, not only the first."""
from __future__ import annotations

from ...fhir.datatypes import absent
from ...fhir.ids import resource_id
from .context import Context
from .datatypes import business_key, compact, ei, fixed_coding
from .message import Segment

SNOMED = "http://snomed.info/sct"


def map_pr1(seg: Segment, ctx: Context) -> dict | None:
    """PR1 -> Procedure: code (PR1-3), performed (PR1-5), category (PR1-6), anesthesia/surgeon
    performers (PR1-8, PR1-11, PR1-12), identifier (PR1-19)."""
    seg.touch(1)
    code = ctx.code(seg, 3)
    if code is None and seg.value(4):
        code = {"text": seg.value(4)}
    seg.touch(4)
    if code is None:
        ctx.issue("error", "missing-field", "PR1-3 procedure code is empty: not mapped", seg, 3)
        return None
    performers = []
    # the IG's fixed functions: PR1-8 anaesthetist, PR1-11 surgeon; PR1-12 says no function
    for n, fn, label in ((8, "88189002", "Anesthesiologist"), (11, "304292004", "Surgeon"),
                         (12, None, None)):
        for r in seg.reps(n):
            who = ctx.practitioner(r)
            if who:
                function = {"coding": [fixed_coding(SNOMED, fn, label)]} if fn else None
                performers.append(compact({"function": function, "actor": who}))
    identifiers = [x for x in (ei(r) for r in seg.reps(19)) if x]
    performed = ctx.dt(seg, 5)
    proc = {
        "resourceType": "Procedure",
        "id": resource_id("Procedure", business_key(identifiers)) if identifiers else resource_id(
            "Procedure", ctx.patient["id"] if ctx.patient else ctx.key,
            seg.value(3, 1) or seg.value(4), seg.value(5)),
        "identifier": identifiers,
        "status": "completed",
        "category": ctx.code(seg, 6),  # procedure functional type
        "code": code,
        "subject": ctx.subject(),
        "encounter": ctx.context_encounter(),
        "performedDateTime": performed,
        "_performedDateTime": None if performed else absent("unknown"),
        "performer": performers,
        "reasonCode": ctx.codes(seg, 15),
    }
    return ctx.add(proc, seg)

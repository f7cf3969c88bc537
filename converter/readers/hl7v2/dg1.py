"""DG1 -> Condition, and Encounter.diagnosis in an encounter (V2-to-FHIR DG1[Condition])."""
from __future__ import annotations

from ...fhir.ids import ref, resource_id
from .context import Context
from .datatypes import business_key, ei, fixed_coding, table_coding
from .message import Segment

CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
DIAGNOSIS_ROLE = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
# DG1-6 diagnosis type (0052) -> Encounter.diagnosis.use (diagnosis-role)
DIAGNOSIS_USE = {"A": ("AD", "Admission diagnosis"), "W": ("CC", "Chief complaint"),
                 "F": ("DD", "Discharge diagnosis")}


def map_dg1(seg: Segment, ctx: Context) -> dict | None:
    """DG1 -> Condition: code (DG1-3, text DG1-4), onset (DG1-5), asserter (DG1-16),
    recorded (DG1-19), identifier (DG1-20), entered-in-error (DG1-21 = D)."""
    seg.touch(1)
    code = ctx.code(seg, 3)
    if code is None and seg.value(4):
        code = {"text": seg.value(4)}
    elif code is not None and seg.value(4) and "text" not in code:
        code["text"] = seg.value(4)
    seg.touch(4)
    if code is None:
        ctx.issue("error", "missing-field", "DG1-3 diagnosis code is empty: not mapped", seg, 3)
        return None
    in_encounter = ctx.encounter is not None
    identifiers = [x for x in (ei(r) for r in seg.reps(20)) if x]
    cond = {
        "resourceType": "Condition",
        "id": resource_id("Condition", business_key(identifiers)) if identifiers else resource_id(
            "Condition", ctx.patient["id"] if ctx.patient else ctx.key,
            ctx.encounter["id"] if ctx.encounter else "", seg.value(3, 1) or seg.value(4)),
        "identifier": identifiers,
        "verificationStatus": {"coding": [fixed_coding(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status", "entered-in-error")]}
        if seg.value(21).upper() == "D" else None,
        "category": [{"coding": [fixed_coding(CATEGORY, "encounter-diagnosis" if in_encounter
                                               else "problem-list-item")]}],
        "code": code,
        "subject": ctx.subject(),
        "encounter": ctx.context_encounter(),
        "onsetDateTime": ctx.dt(seg, 5),
        "recordedDate": ctx.dt(seg, 19),
        "asserter": ctx.practitioner(seg.rep(16)),
    }
    seg.touch(21)
    cond = ctx.add(cond, seg)
    if ctx.encounter is not None:
        dtype = seg.value(6).upper()
        use = DIAGNOSIS_USE.get(dtype)
        rank = seg.value(15)
        ctx.encounter.setdefault("diagnosis", []).append({k: v for k, v in {
            "condition": ref(cond),
            "use": {"coding": [fixed_coding(DIAGNOSIS_ROLE, *use)]} if use else
            ({"coding": [table_coding("0052", dtype)]} if dtype else None),
            "rank": int(rank) if rank.isdigit() and int(rank) > 0 else None,
        }.items() if v is not None})
        seg.touch(6, 15)
    return cond

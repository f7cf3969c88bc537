"""AL1 and IAM -> AllergyIntolerance (V2-to-FHIR AL1[AllergyIntolerance], IAM[AllergyIntolerance])."""
from __future__ import annotations

from ...fhir.ids import resource_id
from .context import Context
from .datatypes import compact, date_only, fixed_coding, mapped
from .message import Segment

CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
# 0128 used as criticality (SV -> high, MI -> low) when no reaction severity scale is meant.
CRITICALITY = {"SV": "high", "MI": "low", "MO": "low"}


def map_al1(seg: Segment, ctx: Context) -> dict | None:
    """AL1 -> AllergyIntolerance: category (0127), code (AL1-3), severity (0128), reaction (AL1-5),
    onset (AL1-6). IAM has the same first six fields, plus a clinical status and identifiers."""
    seg.touch(1)
    code = ctx.code(seg, 3)
    if code is None:
        ctx.issue("error", "missing-field", f"{seg.name}-3 allergen is empty: not mapped", seg, 3)
        return None
    type_code = seg.value(2, 1).upper()
    category = mapped("0127-allergy-category", type_code)
    severity_code = seg.value(4, 1).upper()
    reaction_severity = mapped("0128-reaction-severity", severity_code)
    manifestations = [{"text": r[0][0].strip()} for r in seg.reps(5)
                      if r and r[0] and r[0][0].strip()]
    reaction = None
    if manifestations:
        reaction = [compact({"manifestation": manifestations, "severity": reaction_severity})]
    onset = seg.value(6)
    clinical_status = "active"
    if seg.name == "IAM" and seg.value(6, 1).upper() in ("D",):  # IAM-6 action code: delete
        clinical_status = "inactive"
    allergy = {
        "resourceType": "AllergyIntolerance",
        "id": resource_id("AllergyIntolerance", ctx.patient["id"] if ctx.patient else ctx.key,
                          seg.value(3, 1) or seg.value(3, 2)),
        "clinicalStatus": {"coding": [fixed_coding(CLINICAL, clinical_status)]},
        "verificationStatus": {"coding": [fixed_coding(VERIFICATION, "confirmed")]},
        "type": "allergy" if type_code not in ("MC", "") else None,
        "category": [category] if category in ("food", "medication", "environment", "biologic")
        else None,
        "criticality": CRITICALITY.get(severity_code) if not manifestations else None,
        "code": code,
        "patient": ctx.subject(),
        "encounter": ctx.context_encounter(),
        "onsetDateTime": date_only(onset) if onset and seg.name == "AL1" else None,
        "reaction": reaction,
    }
    if seg.name == "IAM":
        seg.touch(6)
    seg.touch(2, 4, 6)
    if ctx.patient is None:
        ctx.issue("warning", "unexpected-segment", f"{seg.name} without a patient", seg)
    return ctx.add(allergy, seg)

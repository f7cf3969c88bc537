"""Family History Organizer (.45) -> FamilyMemberHistory with one condition per Family History
Observation (.46), the age at onset (.31) and death (.47)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import entries
from .common import PREFIX, act_status, has_template, notes
from .datatypes import absent_concept, concept, date_time, identifiers, quantity
from .nodes import Element, child, path, related
from .participants import authorship

if TYPE_CHECKING:
    from .context import Context
    from .entries import Scope

OBSERVATION = PREFIX + "46"
DEATH = PREFIX + "47"
AGE = PREFIX + "31"
GENDER = "http://hl7.org/fhir/administrative-gender"
SEX = {"M": "male", "F": "female", "UN": "other", "UNK": "unknown"}


def family_history(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """Family History Organizer -> FamilyMemberHistory."""
    subject = path(el, "subject", "relatedSubject")
    relationship = concept(child(subject, "code"), ctx)
    person = child(subject, "subject")
    gender = child(person, "administrativeGenderCode")
    recorded, _recorder = authorship(el, ctx)
    res: dict[str, Any] = {
        "resourceType": "FamilyMemberHistory",
        "id": ctx.entry_id("FamilyMemberHistory", el),
        "identifier": identifiers(el),
        "status": "completed" if act_status(el, "observation") in (None, "final") else "partial",
        "patient": ctx.subject(),
        "date": recorded,
        "relationship": relationship or absent_concept(None),
        "sex": _sex(gender),
        "bornDate": (date_time(path(person, "birthTime"), ctx) or "")[:10] or None,
    }
    conditions = []
    deceased = False
    for _h, st in related(el, "COMP"):
        if not has_template(st, OBSERVATION):
            entries.dispatch(st, ctx, scope)
            continue
        code = concept(child(st, "value"), ctx)
        if code is None:
            ctx.issue("warning", "missing-field", "family history observation without a value", st)
            continue
        cond: dict[str, Any] = {"code": code, "note": notes(st, ctx)}
        et = child(st, "effectiveTime")
        onset = date_time(et, ctx) or date_time(child(et, "low"), ctx)
        for _h2, inner in related(st):
            if has_template(inner, AGE):
                age = quantity(child(inner, "value"), ctx)
                if age:
                    cond["onsetAge"] = age
            elif has_template(inner, DEATH):
                deceased = True
                cond["outcome"] = concept(child(inner, "value"), ctx)
        if onset and "onsetAge" not in cond:
            cond["onsetString"] = onset
        conditions.append(cond)
    res["condition"] = conditions
    if deceased:
        res["deceasedBoolean"] = True
    return [ctx.add(res)]


def _sex(gender: Element | None) -> dict | None:
    code = SEX.get(gender.get("code", "")) if gender is not None else None
    return {"coding": [{"system": GENDER, "code": code}]} if code else None

"""Problem Concern Act (.3), Health Concern (.132), Encounter Diagnosis (.80) and other concern
wrappers -> one Condition per Problem Observation (.4)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...fhir.ids import ref
from ...vocabulary import lookup
from . import entries
from .common import (PREFIX, act_status, condition_category, generic, has_template, negated,
                     notes)
from .datatypes import absent_reason, concept, date_time, identifiers, quantity
from .nodes import Element, child, children, related
from .participants import authorship

if TYPE_CHECKING:
    from .context import Context
    from .entries import Scope

PROBLEM = PREFIX + "4"
PROBLEM_STATUS = PREFIX + "6"
AGE = PREFIX + "31"
DATE_OF_DIAGNOSIS = PREFIX + "502"
HEALTH_STATUS = PREFIX + "5"
PROBLEMS = frozenset({PROBLEM, PREFIX + "68", PREFIX + "73"})
SEVERITY = PREFIX + "8"
CONSUMED = frozenset({PROBLEM_STATUS, AGE, DATE_OF_DIAGNOSIS, SEVERITY, PREFIX + "64"})
NO_PROBLEMS = {"system": "http://snomed.info/sct", "code": "160245001",
               "display": "No current problems or disability"}
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
ASSERTED_DATE = "http://hl7.org/fhir/StructureDefinition/condition-assertedDate"


def concern(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """A concern act: each problem observation inside becomes a Condition; the rest is dispatched."""
    out = []
    for _holder, st in related(el):
        if has_template(st, *PROBLEMS):
            out.append(condition(st, ctx, scope, el))
    out += entries.rest(el, ctx, scope, PROBLEMS | {PREFIX + "64"})
    return out


def problem(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """A Problem Observation met outside a concern act."""
    return [condition(el, ctx, scope, None)]


def condition(obs: Element, ctx: Context, scope: Scope, act: Element | None) -> dict:
    """Problem Observation -> Condition (status from Problem Status, else dates, else the act)."""
    category = scope.category or _section_category(scope) or "problem-list-item"
    code = concept(child(obs, "value"), ctx)
    no_problem = negated(obs) and (code is None or not code.get("coding")
                                   or generic(code, "problem"))
    if no_problem:
        code = {"coding": [dict(NO_PROBLEMS)], "text": (code or {}).get("text")}
    elif code is None:
        own = concept(child(obs, "code"), ctx)
        code = own if own and own.get("coding") and not generic(own, "problem") else None
    et = child(obs, "effectiveTime")
    low, high = child(et, "low"), child(et, "high")
    onset = date_time(low, ctx) or date_time(et, ctx)
    abatement = date_time(high, ctx)
    resolved_unknown = high is not None and abatement is None and high.get("nullFlavor")
    clinical = _clinical_status(obs, act, ctx)
    if (abatement or resolved_unknown) and clinical in (None, "active", "relapse", "recurrence"):
        clinical = "resolved"
    recorded, recorder = authorship(obs, ctx)
    if act is not None and not recorder:
        recorded, recorder = authorship(act, ctx)
    res: dict = {
        "resourceType": "Condition",
        "id": ctx.entry_id("Condition", obs),
        "identifier": identifiers(obs),
        "clinicalStatus": _status_concept(CLINICAL, clinical),
        "verificationStatus": _status_concept(
            VERIFICATION, "refuted" if negated(obs) and not no_problem else "confirmed"),
        "category": condition_category(category),
        "code": code,
        "severity": _severity(obs, ctx),
        "bodySite": [c for c in (concept(s, ctx) for s in children(obs, "targetSiteCode")) if c],
        "subject": ctx.subject(),
        "encounter": ref(scope.encounter) if scope.encounter else None,
        "onsetDateTime": onset,
        "abatementDateTime": abatement,
        "recordedDate": recorded,
        "recorder": recorder,
        "note": notes(obs, ctx),
    }
    if resolved_unknown:
        res["_abatementDateTime"] = absent_reason(high)
    if not onset:
        age = _age(obs, ctx)
        if age:
            res["onsetAge"] = age
    asserted = _date_of_diagnosis(obs, ctx)
    if asserted:
        res["extension"] = [{"url": ASSERTED_DATE, "valueDateTime": asserted}]
    if clinical is None and category == "problem-list-item" and not negated(obs):
        res["clinicalStatus"] = _status_concept(CLINICAL, "active" if not abatement else "resolved")
    resource = ctx.add(res)
    entries.rest(obs, ctx, scope, CONSUMED)
    return resource


def _severity(obs: Element, ctx: Context) -> dict | None:
    """Severity Observation (.8) under the problem -> Condition.severity (its coded value)."""
    for _holder, st in related(obs, "SUBJ"):
        if has_template(st, SEVERITY):
            return concept(child(st, "value"), ctx)
    return None


def _section_category(scope: Scope) -> str:
    return {"problems": "problem-list-item", "encounters": "encounter-diagnosis"}.get(
        scope.section_kind, "")


def _clinical_status(obs: Element, act: Element | None, ctx: Context) -> str | None:
    for _holder, st in related(obs, "REFR"):
        if has_template(st, PROBLEM_STATUS):
            v = child(st, "value")
            status = lookup("cda/condition-clinical-status.csv", v.get("code")) if v is not None else None
            if status:
                return status
    if act is not None:
        return act_status(act, "condition")
    return None


def _status_concept(system: str, code: str | None) -> dict | None:
    return {"coding": [{"system": system, "code": code}]} if code else None


def _age(obs: Element, ctx: Context) -> dict | None:
    for _holder, st in related(obs, "SUBJ"):
        if has_template(st, AGE):
            q = quantity(child(st, "value"), ctx)
            if q:
                unit = q.get("code")
                if unit:
                    q["system"] = "http://unitsofmeasure.org"
                return q
    return None


def _date_of_diagnosis(obs: Element, ctx: Context) -> str | None:
    for _holder, st in related(obs):
        if has_template(st, DATE_OF_DIAGNOSIS):
            et = child(st, "effectiveTime")
            return date_time(et, ctx) or date_time(child(et, "low"), ctx)
    return None

"""Allergy Concern Act (.30) -> one AllergyIntolerance per Allergy-Intolerance Observation (.7),
with reactions, severity, criticality and the "no known allergy" statements of STANDARDS 2.5."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...vocabulary import lookup, table
from . import entries
from .common import PREFIX, act_status, generic, has_template, negated, notes
from .datatypes import concept, date_time, identifiers
from .nodes import Element, child, path, related
from .participants import authorship

if TYPE_CHECKING:
    from .context import Context
    from .entries import Scope

ALLERGY = PREFIX + "7"
STATUS = PREFIX + "28"
REACTION = PREFIX + "9"
SEVERITY = PREFIX + "8"
CRITICALITY = PREFIX + "145"
CONSUMED = frozenset({STATUS, REACTION, SEVERITY, CRITICALITY, PREFIX + "64"})
CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
SNOMED = "http://snomed.info/sct"
ABATEMENT = "http://hl7.org/fhir/StructureDefinition/allergyintolerance-abatement"
EXPOSURE_RISK = "http://hl7.org/fhir/StructureDefinition/allergyintolerance-substanceExposureRisk"


def concern(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """Allergy Concern Act: each allergy observation inside -> AllergyIntolerance."""
    out = [allergy_intolerance(st, ctx, scope, el) for _h, st in related(el)
           if has_template(st, ALLERGY)]
    return out + entries.rest(el, ctx, scope, frozenset({ALLERGY, PREFIX + "64"}))


def allergy(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """An allergy observation met outside a concern act."""
    return [allergy_intolerance(el, ctx, scope, None)]


def allergy_intolerance(obs: Element, ctx: Context, scope: Scope, act: Element | None) -> dict:
    value = child(obs, "value")
    kind = table("cda/allergy-type.csv").get(value.get("code", "") if value is not None else "")
    entity = path(obs, "participant", "participantRole", "playingEntity")
    substance = concept(child(entity, "code"), ctx)
    if substance is None and entity is not None:
        label = child(entity, "name")
        if label is not None and (label.text or "").strip():
            substance = {"text": " ".join(label.text.split())}
    et = child(obs, "effectiveTime")
    recorded, recorder = authorship(obs, ctx)
    if act is not None and not recorder:
        recorded, recorder = authorship(act, ctx)
    res: dict = {
        "resourceType": "AllergyIntolerance",
        "id": ctx.entry_id("AllergyIntolerance", obs),
        "identifier": identifiers(obs),
        "type": kind["type"] if kind else None,
        "category": [kind["category"]] if kind and kind["category"] else [],
        "patient": ctx.subject(),
        "onsetDateTime": date_time(child(et, "low"), ctx) or date_time(et, ctx),
        "recordedDate": recorded,
        "recorder": recorder,
        "criticality": _criticality(obs),
        "note": notes(obs, ctx),
    }
    clinical = _clinical_status(obs, act)
    if negated(obs):
        if substance is None or not substance.get("coding") or generic(substance, "substance"):
            # "No known (drug/food...) allergy": the negated propensity becomes its SNOMED concept
            code = kind["no_known_code"] if kind else "716186003"
            display = kind["no_known_display"] if kind else "No known allergy"
            res["code"] = {"coding": [{"system": SNOMED, "code": code, "display": display}]}
            res["verificationStatus"] = _concept(VERIFICATION, "confirmed")
            res["clinicalStatus"] = _concept(CLINICAL, "active")
        else:
            res["extension"] = [{"url": EXPOSURE_RISK, "extension": [
                {"url": "substance", "valueCodeableConcept": substance},
                {"url": "exposureRisk", "valueCodeableConcept": {"coding": [{
                    "system": "http://hl7.org/fhir/allerg-intol-substance-exp-risk",
                    "code": "no-known-reaction-risk"}]}}]}]
            res["clinicalStatus"] = _concept(CLINICAL, clinical or "active")  # ait-1
    else:
        res["code"] = substance
        res["clinicalStatus"] = _concept(CLINICAL, clinical or "active")
        res["verificationStatus"] = _concept(VERIFICATION, "confirmed")
    high = date_time(child(et, "high"), ctx)
    if high:
        res.setdefault("extension", []).append({"url": ABATEMENT, "valueDateTime": high})
    res["reaction"] = _reactions(obs, ctx, res.get("code"))
    overall = _severity(obs)
    if overall and not res["reaction"]:
        # FHIR keeps severity on a reaction, and a reaction needs a manifestation: with none
        # given, the allergy-level severity is kept as a note rather than dropped
        res["note"] = (res.get("note") or []) + [
            {"text": f"Severity stated for the allergy (no reaction given): {overall}"}]
    resource = ctx.add(res)
    entries.rest(obs, ctx, scope, CONSUMED)
    return resource


def _concept(system: str, code: str) -> dict:
    return {"coding": [{"system": system, "code": code}]}


def _clinical_status(obs: Element, act: Element | None) -> str | None:
    for _h, st in related(obs):
        if has_template(st, STATUS):
            v = child(st, "value")
            status = lookup("cda/allergy-clinical-status.csv", v.get("code")) if v is not None else None
            if status:
                return status
    return act_status(act, "allergy") if act is not None else None


def _severity(el: Element) -> str | None:
    for _h, st in related(el, "SUBJ"):
        if has_template(st, SEVERITY):
            v = child(st, "value")
            return lookup("cda/reaction-severity.csv", v.get("code")) if v is not None else None
    return None


def _criticality(obs: Element) -> str | None:
    for _h, st in related(obs, "SUBJ"):
        if has_template(st, CRITICALITY):
            v = child(st, "value")
            return lookup("cda/criticality.csv", v.get("code")) if v is not None else None
    return None


def _reactions(obs: Element, ctx: Context, substance: dict | None) -> list[dict]:
    """Reaction Observations (MFST) -> reaction; allergy-level severity is copied to each."""
    overall = _severity(obs)
    out = []
    for _h, st in related(obs, "MFST"):
        if not has_template(st, REACTION):
            continue
        manifestation = concept(child(st, "value"), ctx)
        if manifestation is None:
            ctx.issue("warning", "missing-field",
                      "reaction without a manifestation code or text; left out", st)
            continue
        et = child(st, "effectiveTime")
        out.append({
            "manifestation": [manifestation],
            "severity": _severity(st) or overall,
            "onset": date_time(child(et, "low"), ctx) or date_time(et, ctx),
            "note": notes(st, ctx),
        })
    return out

"""Medication Activity (.16) -> MedicationStatement (moodCode EVN, history) or MedicationRequest
(INT and other intents); Planned Medication Activity (.42) -> MedicationRequest with a plan intent.
Dosage, timing (PIVL_TS, EIVL_TS), route, site, supply, indications and instructions included."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...fhir.datatypes import absent
from ...fhir.ids import ref
from ...vocabulary import lookup
from . import entries
from .common import (INDICATION, INSTRUCTION, PREFIX, act_status, entry_text, generic, has_template,
                     instructions, negated, notes, reasons)
from .datatypes import (absent_concept, concept, date_time, identifiers, interval_quantity, period, quantity,
                        ratio, set_choice)
from .nodes import Element, child, children, path, related, xsi_type
from .participants import actor_ref, authorship, organization

if TYPE_CHECKING:
    from .context import Context
    from .entries import Scope

SUPPLY_ORDER = PREFIX + "17"
DISPENSE = PREFIX + "18"
FREE_TEXT_SIG = PREFIX + "147"
CONSUMED = frozenset({SUPPLY_ORDER, DISPENSE, INDICATION, INSTRUCTION, FREE_TEXT_SIG, PREFIX + "64",
                      PREFIX + "24", PREFIX + "118"})
NO_MEDICATIONS = {"system": "http://snomed.info/sct", "code": "787481004",
                  "display": "No known medications"}


def medication(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """Medication Activity: history (EVN) -> MedicationStatement, otherwise MedicationRequest."""
    if el.get("moodCode", "EVN") == "EVN":
        res = _statement(el, ctx, scope)
    else:
        res = _request(el, ctx, scope, lookup("cda/mood-intent.csv", el.get("moodCode"),
                                              "medication") or "order")
    dispensed = [_dispense(st, el, res, ctx) for _h, st in related(el, "REFR")
                 if has_template(st, DISPENSE)]
    entries.rest(el, ctx, scope, CONSUMED)
    return [res, *dispensed]


def planned(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """Planned Medication Activity -> MedicationRequest (intent from moodCode)."""
    res = _request(el, ctx, scope, lookup("cda/mood-intent.csv", el.get("moodCode"), "planned")
                   or "plan")
    entries.rest(el, ctx, scope, CONSUMED)
    return [res]


def medication_concept(el: Element, ctx: Context) -> tuple[dict | None, Element | None]:
    """The drug code of consumable/manufacturedProduct/manufacturedMaterial, and the product."""
    product = path(el, "consumable", "manufacturedProduct")
    material = child(product, "manufacturedMaterial")
    code = concept(child(material, "code"), ctx)
    if code is None and material is not None:
        label = child(material, "name")
        if label is not None and (label.text or "").strip():
            code = {"text": " ".join(label.text.split())}
    return code, product


def _medication(el: Element, ctx: Context) -> dict:
    """medicationCodeableConcept (a data-absent-reason concept when the drug is not named)."""
    code, product = medication_concept(el, ctx)
    if code is None:
        ctx.issue("warning", "missing-field", "medication without a code or a name", el)
        material = path(product, "manufacturedMaterial", "code")
        return absent_concept(material.get("nullFlavor") if material is not None else None)
    return code


def _medication_fields(el: Element, ctx: Context, code: dict) -> dict:
    """medicationCodeableConcept, or a Medication (code, form from administrationUnitCode,
    manufacturer) when the entry says more about the product than its code."""
    product = path(el, "consumable", "manufacturedProduct")
    maker = organization(child(product, "manufacturerOrganization"), ctx)
    form = concept(child(el, "administrationUnitCode"), ctx)
    if maker is None and form is None:
        return {"medicationCodeableConcept": code}
    medication = ctx.add({
        "resourceType": "Medication",
        "id": ctx.entry_id("Medication", el),
        "code": code,
        "form": form,
        "manufacturer": ref(maker) if maker else None,
    })
    return {"medicationReference": ref(medication)}


def _statement(el: Element, ctx: Context, scope: Scope) -> dict:
    recorded, recorder = authorship(el, ctx)
    code, _product = medication_concept(el, ctx)
    status = act_status(el, "medication_statement") or "unknown"
    if negated(el):
        status = "not-taken"
    if negated(el) and (code is None or not code.get("coding") or generic(code, "substance")):
        medication_cc: dict = {"coding": [dict(NO_MEDICATIONS)]}
        status = "active"  # "no known medications" is a statement about now, not a refusal
    else:
        medication_cc = _medication(el, ctx)
    res: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": ctx.entry_id("MedicationStatement", el),
        "identifier": identifiers(el),
        "status": status,
        **_medication_fields(el, ctx, medication_cc),
        "subject": ctx.subject(),
        "context": ref(scope.encounter) if scope.encounter else None,
        "dateAsserted": recorded,
        "informationSource": recorder,
        "reasonCode": reasons(el, ctx),
        "note": notes(el, ctx),
        "dosage": [_dosage(el, ctx)],
    }
    if not set_choice(res, "effective", _effective(el, ctx)):
        res["_effectiveDateTime"] = absent("unknown")
    return ctx.add(res)


def _request(el: Element, ctx: Context, scope: Scope, intent: str) -> dict:
    recorded, recorder = authorship(el, ctx)
    dosage = _dosage(el, ctx)
    bounds = _effective(el, ctx)
    if bounds is not None:
        repeat = dosage.setdefault("timing", {}).setdefault("repeat", {})
        if bounds[0] == "Period":
            repeat["boundsPeriod"] = bounds[1]
        else:
            dosage["timing"]["event"] = [bounds[1]]
            if not repeat:
                del dosage["timing"]["repeat"]
    res: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": ctx.entry_id("MedicationRequest", el),
        "identifier": identifiers(el),
        "status": act_status(el, "medication_request") or "unknown",
        "intent": intent,
        "doNotPerform": True if negated(el) else None,
        **_medication_fields(el, ctx, _medication(el, ctx)),
        "subject": ctx.subject(),
        "encounter": ref(scope.encounter) if scope.encounter else None,
        "authoredOn": recorded,
        "requester": recorder,
        "reasonCode": reasons(el, ctx),
        "note": notes(el, ctx),
        "dosageInstruction": [dosage],
        "dispenseRequest": _dispense_request(el, ctx),
    }
    return ctx.add(res)


def _effective(el: Element, ctx: Context) -> tuple[str, Any] | None:
    """The first effectiveTime that is not a frequency (IVL_TS or TS)."""
    for et in children(el, "effectiveTime"):
        kind = xsi_type(et)
        if kind in ("", "IVL_TS", "TS") and et.get("operator") != "A":
            if et.get("value"):
                v = date_time(et, ctx)
                return ("DateTime", v) if v else None
            p = period(et, ctx)
            return ("Period", p) if p else None
    return None


def _timing(el: Element, ctx: Context) -> dict | None:
    """PIVL_TS / EIVL_TS effectiveTimes -> Timing.repeat."""
    repeat: dict[str, Any] = {}
    for et in children(el, "effectiveTime"):
        kind = xsi_type(et)
        if kind == "PIVL_TS":
            per = child(et, "period")
            if per is not None:
                if per.get("value"):
                    q = quantity(per, ctx)
                    unit = lookup("cda/timing-units.csv", per.get("unit"))
                    if q and unit:
                        repeat.update({"frequency": 1, "period": q["value"], "periodUnit": unit})
                else:  # a range of periods: every 4-6 hours
                    lo, hi = child(per, "low"), child(per, "high")
                    ql, qh = quantity(lo, ctx), quantity(hi, ctx)
                    unit = lookup("cda/timing-units.csv", (lo if lo is not None else hi).get("unit")) \
                        if (lo is not None or hi is not None) else None
                    if ql and unit:
                        repeat.update({"frequency": 1, "period": ql["value"], "periodUnit": unit})
                        if qh:
                            repeat["periodMax"] = qh["value"]
            freq = child(et, "frequency")
            if freq is not None:
                n = quantity(child(freq, "numerator"), ctx)
                d = quantity(child(freq, "denominator"), ctx)
                unit = lookup("cda/timing-units.csv", child(freq, "denominator").get("unit")) if d else None
                if n and d and unit and n["value"] == int(n["value"]):
                    repeat.update({"frequency": int(n["value"]), "period": d["value"],
                                   "periodUnit": unit})
        elif kind == "EIVL_TS":
            event = child(et, "event")
            when = lookup("cda/event-timing.csv", event.get("code")) if event is not None else None
            if when:
                repeat["when"] = [when]
            offset = child(et, "offset")
            q = quantity(child(offset, "low"), ctx) if offset is not None else None
            if offset is not None and q is None:
                q = quantity(offset, ctx)
            if q is not None:
                minutes = _minutes(q)
                if minutes is not None:
                    repeat["offset"] = minutes
    return {"repeat": repeat} if repeat else None


def _minutes(q: dict) -> int | None:
    factor = {"min": 1, "h": 60, "d": 1440, "s": None}.get(q.get("code", "min"))
    if factor is None:
        return None
    v = q["value"] * factor
    return int(v) if v == int(v) and v >= 0 else None


def _dosage(el: Element, ctx: Context) -> dict:
    dose: dict[str, Any] = {}
    dq = child(el, "doseQuantity")
    if dq is not None:
        if child(dq, "low") is not None or child(dq, "high") is not None:
            r = interval_quantity(dq, ctx)
            if r:
                dose["doseRange" if r[0] == "Range" else "doseQuantity"] = r[1]
                if r[0] == "Quantity":
                    r[1].pop("comparator", None)
        else:
            q = quantity(dq, ctx)
            if q:
                dose["doseQuantity"] = q
    rate = quantity(child(el, "rateQuantity"), ctx)
    if rate:
        dose["rateQuantity"] = rate
    max_dose = child(el, "maxDoseQuantity")
    dosage: dict[str, Any] = {
        "text": _sig(el, ctx),
        "patientInstruction": instructions(el, ctx),
        "timing": _timing(el, ctx),
        "route": concept(child(el, "routeCode"), ctx),
        "site": concept(child(el, "approachSiteCode"), ctx),
        "doseAndRate": [dose] if dose else [],
        "maxDosePerPeriod": ratio(max_dose, ctx) if max_dose is not None else None,
    }
    precondition = children(el, "precondition")
    if precondition:
        criterion = path(precondition[0], "criterion", "value")
        cc = concept(criterion, ctx) if criterion is not None else None
        if cc:
            dosage["asNeededCodeableConcept"] = cc
        else:
            dosage["asNeededBoolean"] = True
    return {k: v for k, v in dosage.items() if v}


def _sig(el: Element, ctx: Context) -> str | None:
    for _h, st in related(el):
        if has_template(st, FREE_TEXT_SIG):
            t = entry_text(st, ctx)
            if t:
                return t
    return entry_text(el, ctx)


def _dispense_request(el: Element, ctx: Context) -> dict | None:
    for _h, st in related(el, "REFR"):
        if not has_template(st, SUPPLY_ORDER):
            continue
        out: dict[str, Any] = {}
        rn = child(st, "repeatNumber")
        if rn is not None and rn.get("value", "").isdigit() and int(rn.get("value")) >= 1:
            out["numberOfRepeatsAllowed"] = int(rn.get("value")) - 1
        q = quantity(child(st, "quantity"), ctx)
        if q:
            out["quantity"] = q
        p = period(child(st, "effectiveTime"), ctx)
        if p:
            out["validityPeriod"] = p
        return out or None
    return None


def _dispense(st: Element, activity: Element, given: dict, ctx: Context) -> dict:
    """Medication Dispense (.18, a supply in EVN mood) -> MedicationDispense: the product (its own,
    else the activity's), quantity, when handed over, the pharmacy as performer, and the order it
    fills when the activity is one."""
    code, _product = medication_concept(st, ctx)
    product_of = st if code is not None else activity
    performer = actor_ref(path(st, "performer", "assignedEntity"), ctx)
    handed = date_time(child(st, "effectiveTime"), ctx) or date_time(
        path(st, "effectiveTime", "high"), ctx)
    res: dict[str, Any] = {
        "resourceType": "MedicationDispense",
        "id": ctx.entry_id("MedicationDispense", st),
        "identifier": identifiers(st),
        "status": act_status(st, "dispense") or "completed",
        **_medication_fields(product_of, ctx, _medication(product_of, ctx)),
        "subject": ctx.subject(),
        "performer": [{"actor": performer}] if performer else None,
        "authorizingPrescription": [ref(given)] if given["resourceType"] == "MedicationRequest"
        else None,
        "quantity": quantity(child(st, "quantity"), ctx),
        "whenHandedOver": handed if handed and "T" in handed else None,
        "note": notes(st, ctx),
    }
    return ctx.add(res)

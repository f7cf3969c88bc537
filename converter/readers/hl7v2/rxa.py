"""RXA and RXR -> Immunization (V2-to-FHIR RXA[Immunization], RXR[Immunization])."""
from __future__ import annotations

from ...fhir.datatypes import absent, decimal_or_none, screen
from ...fhir.ids import resource_id
from .context import Context
from .datatypes import business_key, c, compact, date_only, ei, fixed_coding, mapped, system_uri
from .message import Segment
from .obx import quantity

PERFORMER_FUNCTION = "http://terminology.hl7.org/CodeSystem/v2-0443"


def map_rxa(seg: Segment, ctx: Context, orc: Segment | None) -> dict | None:
    """RXA -> Immunization: date (RXA-3), vaccine (RXA-5), dose (RXA-6/7), administering provider
    (RXA-10), lot (RXA-15), expiry (RXA-16), manufacturer (RXA-17), refusal reason (RXA-18),
    indication (RXA-19), completion status (RXA-20), action code (RXA-21), recorded (RXA-22)."""
    seg.touch(1, 2)
    vaccine = ctx.code(seg, 5)
    if vaccine is None:
        ctx.issue("error", "missing-field", "RXA-5 administered code is empty: not mapped", seg, 5)
        return None
    completion = seg.value(20).upper()
    status = mapped("0322-completion-status", completion) or "completed"
    if seg.value(21).upper() == "D":
        status = "entered-in-error"
    seg.touch(20, 21)
    occurrence = ctx.dt(seg, 3)
    dose = decimal_or_none(seg.value(6))
    filler = ei(orc.rep(3)) if orc is not None and orc.value(3) else None
    if orc is not None:
        orc.touch(3)
    identifiers = [filler] if filler else []
    performers = []
    for r in seg.reps(10):
        who = ctx.practitioner(r)
        if who:
            performers.append({"function": {"coding": [fixed_coding(PERFORMER_FUNCTION, "AP",
                                                                    "Administering Provider")]},
                               "actor": who})
    if orc is not None and orc.value(12, 1) + orc.value(12, 2):
        who = ctx.practitioner(orc.rep(12))
        if who:
            performers.append({"function": {"coding": [fixed_coding(PERFORMER_FUNCTION, "OP",
                                                                    "Ordering Provider")]},
                               "actor": who})
        orc.touch(12)
    imm = {
        "resourceType": "Immunization",
        "id": resource_id("Immunization", business_key(identifiers)) if identifiers else
        resource_id("Immunization", ctx.patient["id"] if ctx.patient else ctx.key,
                    seg.value(5, 1), seg.value(3)),
        "identifier": identifiers,
        "status": status,
        "statusReason": ctx.code(seg, 18) if status == "not-done" else None,
        "vaccineCode": vaccine,
        "patient": ctx.subject(),
        "encounter": ctx.context_encounter(),
        "occurrenceDateTime": occurrence,
        "_occurrenceDateTime": None if occurrence else absent("unknown"),
        "recorded": ctx.dt(seg, 22),
        "primarySource": None,
        "lotNumber": "; ".join(r[0][0] for r in seg.reps(15) if r and r[0] and r[0][0]).strip(),
        "expirationDate": date_only(seg.value(16)) if seg.value(16) else None,
        "manufacturer": _manufacturer(seg, ctx),
        "doseQuantity": quantity(dose, seg.rep(7)) if dose is not None and seg.value(6) != "999"
        else None,
        "performer": performers,
        "reasonCode": ctx.codes(seg, 19),
    }
    if status != "not-done" and seg.has(18):
        imm["statusReason"] = ctx.code(seg, 18)
    if seg.has(11):
        seg.touch(11)  # RXA-11 administered-at location: kept only as text of the location
        place = c(seg.rep(11), 4) or c(seg.rep(11), 1)
        if place:
            imm["location"] = {"display": place}
    return ctx.add(imm, seg)


def map_rxr(seg: Segment, ctx: Context, target: dict | None) -> None:
    """RXR -> route (RXR-1) and site (RXR-2) of the Immunization, MedicationAdministration or
    MedicationRequest it follows."""
    if target is None:
        ctx.issue("warning", "unexpected-segment", "RXR without an RXA, RXE or RXO before it",
                  seg)
        return
    route, site = ctx.code(seg, 1), ctx.code(seg, 2)
    if target["resourceType"] == "Immunization":
        if route:
            target["route"] = route
        if site:
            target["site"] = site
    elif target["resourceType"] == "MedicationAdministration":
        dosage = target.setdefault("dosage", {})
        if route:
            dosage["route"] = route
        if site:
            dosage["site"] = site
        if not dosage:
            del target["dosage"]
    else:
        dosage = target.setdefault("dosageInstruction", [{}])[0]
        if route:
            dosage["route"] = route
        if site:
            dosage["site"] = site
        if not dosage:
            target["dosageInstruction"] = [d for d in target["dosageInstruction"] if d] or None
            if target["dosageInstruction"] is None:
                del target["dosageInstruction"]


def _manufacturer(seg: Segment, ctx: Context) -> dict | None:
    """RXA-17 is a CWE (code^name^MVX): an Organization named by the text, identified by the code."""
    rep = seg.rep(17)
    code, name = c(rep, 1), c(rep, 2)
    if not (code or name):
        return None
    system = system_uri(c(rep, 3))
    ident = compact({"system": system, "value": code}) if code else None
    if ident:
        screen(ident)
    org = ctx.add({"resourceType": "Organization",
                   "id": resource_id("Organization", f"{system or ''}|{code}" if code else name),
                   "identifier": [ident] if ident else None,
                   "name": name or code})
    return {"reference": f"urn:uuid:{org['id']}", "display": name or code}


def is_vaccination(seg: Segment, ctx: Context) -> bool:
    """VXU messages, or an RXA-5 coded in CVX, are vaccinations; other RXA are drug administrations."""
    return ctx.event.startswith("VXU") or "CVX" in (seg.value(5, 3).upper(),
                                                   seg.value(5, 6).upper())


def map_rxa_administration(seg: Segment, ctx: Context, orc: Segment | None) -> dict | None:
    """RXA (outside vaccination) -> MedicationAdministration: drug (RXA-5), time (RXA-3/4), dose
    (RXA-6/7), administering provider (RXA-10), completion status (RXA-20), action (RXA-21)."""
    seg.touch(1, 2)
    drug = ctx.code(seg, 5)
    if drug is None:
        ctx.issue("error", "missing-field", "RXA-5 administered code is empty: not mapped", seg, 5)
        return None
    completion = seg.value(20).upper()
    status = {"CP": "completed", "PA": "stopped", "RE": "not-done", "NA": "not-done"}.get(
        completion, "completed")
    if seg.value(21).upper() == "D":
        status = "entered-in-error"
    seg.touch(20, 21)
    start, end = ctx.dt(seg, 3), ctx.dt(seg, 4)
    dose = decimal_or_none(seg.value(6))
    filler = ei(orc.rep(3)) if orc is not None and orc.value(3) else None
    if orc is not None:
        orc.touch(3)
    performers = [{"actor": who} for who in (ctx.practitioner(r) for r in seg.reps(10)) if who]
    admin = {
        "resourceType": "MedicationAdministration",
        "id": resource_id("MedicationAdministration", *(
            [filler.get("system", ""), filler["value"], seg.value(1)] if filler else
            [ctx.patient["id"] if ctx.patient else ctx.key, seg.value(5, 1), seg.value(3)])),
        "identifier": [filler] if filler else None,
        "status": status,
        "statusReason": ctx.codes(seg, 18),
        "medicationCodeableConcept": drug,
        "subject": ctx.subject(),
        "context": ctx.context_encounter(),
        "effectiveDateTime": start if not end else None,
        "effectivePeriod": compact({"start": start, "end": end}) if end else None,
        "_effectiveDateTime": None if start or end else absent("unknown"),
        "performer": performers,
        "reasonCode": ctx.codes(seg, 19),
        "dosage": {"dose": quantity(dose, seg.rep(7))} if dose is not None else None,
    }
    return ctx.add(admin, seg)

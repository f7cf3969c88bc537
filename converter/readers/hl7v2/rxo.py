"""RXO and RXE -> MedicationRequest (V2-to-FHIR RXO[MedicationRequest]; RXE follows the same
shape: give code, amount, units, dosage form, dispense amount, refills)."""
from __future__ import annotations

from typing import Any

from ...fhir.datatypes import decimal_or_none, prune
from ...fhir.ids import ref, resource_id
from .context import Context
from .datatypes import business_key, compact, ei, fixed_coding
from .message import Segment
from .obx import quantity

# field numbers of the give code, min amount, max amount, units, dosage form, provider's
# instructions, dispense amount, dispense units, refills, requested give per time unit
FIELDS: dict[str, dict[str, Any]] = {  # field numbers, and None where the segment has none
    "RXO": {"code": 1, "min": 2, "max": 3, "units": 4, "form": 5, "sig": 6, "disp": 11,
            "disp_units": 12, "refills": 13, "rate": None},
    "RXE": {"code": 2, "min": 3, "max": 4, "units": 5, "form": 6, "sig": 7, "disp": 10,
            "disp_units": 11, "refills": 12, "rate": 22},
}


def map_rx_order(seg: Segment, ctx: Context, orc: Segment | None,
                 current: dict | None) -> dict | None:
    """RXO or RXE -> MedicationRequest (an RXE after an RXO of the same order completes it)."""
    f = FIELDS[seg.name]
    med = ctx.code(seg, f["code"])
    if med is None:
        ctx.issue("error", "missing-field", f"{seg.name}-{f['code']} medication is empty: "
                  "not mapped", seg, f["code"])
        return current
    ids = []
    if orc is not None:
        for n, t in ((2, "PLAC"), (3, "FILL")):
            ident = ei(orc.rep(n))
            if ident:
                ident["type"] = {"coding": [fixed_coding(
                    "http://terminology.hl7.org/CodeSystem/v2-0203", t)]}
                ids.append(ident)
        orc.touch(2, 3)
    dose_low = decimal_or_none(seg.value(f["min"]))
    dose_high = decimal_or_none(seg.value(f["max"]))
    units = seg.rep(f["units"])
    dose_and_rate = None
    if dose_low is not None and dose_high is not None and dose_high != dose_low:
        dose_and_rate = [{"doseRange": {"low": quantity(dose_low, units),
                                        "high": quantity(dose_high, units)}}]
    elif dose_low is not None:
        dose_and_rate = [{"doseQuantity": quantity(dose_low, units)}]
    seg.touch(f["max"], f["units"])
    sig = "; ".join(x for x in (cc.get("text") or (cc.get("coding") or [{}])[0].get("display")
                                for cc in ctx.codes(seg, f["sig"])) if x)
    dispense = decimal_or_none(seg.value(f["disp"]))
    refills = seg.value(f["refills"])
    seg.touch(f["disp_units"])
    requester = None
    if orc is not None and orc.value(12, 1) + orc.value(12, 2):
        requester = ctx.practitioner(orc.rep(12))
        orc.touch(12)
    key = business_key(ids, prefer_last=True) or \
        f"{ctx.key}|{seg.name}|{seg.position}"
    req = {
        "resourceType": "MedicationRequest",
        "id": resource_id("MedicationRequest", key),
        "identifier": ids,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": med,
        "subject": ctx.subject(),
        "encounter": ctx.context_encounter(),
        "authoredOn": ctx.dt(orc, 9) if orc is not None and orc.value(9) else None,
        "requester": requester,
        "dosageInstruction": [x for x in [compact({"text": sig, "doseAndRate": dose_and_rate})]
                              if x],
        "dispenseRequest": compact({
            "quantity": quantity(dispense, seg.rep(f["disp_units"])) if dispense is not None
            else None,
            "numberOfRepeatsAllowed": int(refills) if refills.isdigit() else None,
        }),
    }
    if orc is not None:
        orc.touch(9)
    form = ctx.code(seg, f["form"])
    if form:  # the dosage form belongs to the medication: a Medication with code and form
        medication = ctx.add({"resourceType": "Medication",
                              "id": resource_id("Medication", req["id"]),
                              "code": med, "form": form})
        del req["medicationCodeableConcept"]
        req["medicationReference"] = ref(medication)
    if current is not None and current["id"] == req["id"]:
        current.update({k: v for k, v in prune(req).items() if k not in current})
        return current
    return ctx.add(req, seg)

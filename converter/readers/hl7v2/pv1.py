"""PV1 and PV2 -> Encounter (V2-to-FHIR PV1[Encounter], PV2[Encounter]), Location when identifiable."""
from __future__ import annotations

from typing import Any

from ...fhir.datatypes import coding, screen_quantity
from ...fhir.ids import ref, resource_id
from .context import Context
from .datatypes import V2_TABLE, c, compact, components, cx, fixed_coding, mapped, \
    mapped_coding, table_coding
from .message import Rep, Segment

V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
# PV1 field -> participant type (v3 ParticipationType)
PARTICIPANTS = ((7, "ATND", "attender"), (8, "REF", "referrer"), (9, "CON", "consultant"),
                (17, "ADM", "admitter"), (52, "PART", "Participation"))


def map_pv1(seg: Segment, ctx: Context) -> dict | None:
    """PV1 -> Encounter: class (0004), status, period, participants, location, visit number and
    PV1-50 alternate visit ids, hospitalization (PV1-16 VIP as specialCourtesy, PV1-37 discharged
    to as its destination)."""
    seg.touch(1)
    klass_code = seg.value(2)
    klass = mapped_coding("0004-encounter-class", klass_code) or table_coding("0004", klass_code)
    if klass is None:
        klass = fixed_coding("http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "UNK",
                             "unknown")
    visit = [x for x in (cx(r) for r in seg.reps(19)) if x]
    for v in visit:
        if "type" not in v:
            v["type"] = {"coding": [fixed_coding(V2_TABLE.format("0203"), "VN")]}
    alternate = [x for x in (cx(r) for r in seg.reps(50)) if x and x not in visit]  # PV1-50
    start, end = ctx.dt(seg, 44), ctx.dt(seg, 45)
    if end or seg.has(45):
        status = "finished"
    else:
        status = mapped("0004-encounter-status", klass_code) or (
            "planned" if klass_code == "P" else "unknown" if klass_code == "U" else "in-progress")
    key = visit[0]["value"] if visit else f"{ctx.key}|PV1|{seg.position}"
    participants = []
    for n, code, display in PARTICIPANTS:
        for r in seg.reps(n):
            who = ctx.practitioner(r)
            if who:
                participants.append({
                    "type": [{"coding": [fixed_coding(PARTICIPATION, code, display)]}],
                    "individual": who})
    locations = []
    for n, loc_status in ((3, "planned" if klass_code == "P" else "active"), (6, "completed"),
                          (11, "reserved"), (42, "planned"), (43, "completed")):
        loc = location(seg.rep(n), ctx)
        if loc:
            locations.append({"location": ref(loc), "status": loc_status})
    hospitalization = compact({
        "preAdmissionIdentifier": cx(seg.rep(5)),
        "admitSource": ctx.code(seg, 14),
        "reAdmission": ctx.code(seg, 13),
        "dischargeDisposition": _disposition(seg.rep(36)),
        "dietPreference": ctx.codes(seg, 38),
        "specialArrangement": ctx.codes(seg, 15),
        "specialCourtesy": ctx.codes(seg, 16),  # VIP indicator
        "destination": _discharged_to(seg.rep(37), ctx),
    })
    encounter = {
        "resourceType": "Encounter",
        "id": resource_id("Encounter", ctx.patient["id"] if ctx.patient else "", key),
        "identifier": visit + alternate,
        "status": status,
        "class": klass,
        "type": [x for x in [ctx.code(seg, 4)] if x],
        "serviceType": ctx.code(seg, 10),
        "subject": ctx.subject(),
        "participant": participants,
        "period": compact({"start": start, "end": end}),
        "location": locations,
        "hospitalization": hospitalization,
    }
    return ctx.add(encounter, seg)


def _disposition(rep: Rep) -> dict | None:
    code = c(rep, 1)
    if not code:
        return None
    return {"coding": [coding(V2_TABLE.format("0112"), code, c(rep, 2) or None)]}


def location(pl: Rep, ctx: Context) -> dict | None:
    """PL -> Location when it names at least a point of care or facility (else nothing)."""
    if not pl:
        return None  # an empty field: most of the five PV1 reads
    poc, room, bed = components(pl, 3)
    facility = c(pl, 4) or c(pl, 4, 2)  # PL.4 is an HD: hd_label(sub(pl, 4)), read in place
    if not (poc or room or bed or facility):
        return None
    loc_id = resource_id("Location", facility, poc, room, bed)
    found = ctx.resource(loc_id)
    if found is not None:
        return found
    parts = [p for p in (poc, room, bed) if p]
    name = " ".join(parts) + (f" ({facility})" if facility and parts else facility)
    physical = "bd" if bed else "ro" if room else "wa" if poc else "si"
    # built clean (add_shared)
    place: dict[str, Any] = {"resourceType": "Location", "id": loc_id, "name": name}
    description = c(pl, 9)
    if description:
        place["description"] = description
    place["physicalType"] = {"coding": [fixed_coding(
        "http://terminology.hl7.org/CodeSystem/location-physical-type", physical)]}
    return ctx.add_shared(place)


def _discharged_to(dld: Rep, ctx: Context) -> dict | None:
    """PV1-37 (DLD; CM before v2.5): where the patient went, a Location of its own (as the IG
    says) named by the code's text, else the code (table 0113)."""
    code, text = c(dld, 1), c(dld, 1, 2)  # DLD.1 (CWE, a CM's IS before v2.5) read in place
    if not (code or text):
        return None
    loc_id = resource_id("Location", "discharged-to", code, text)
    found = ctx.add_shared({"resourceType": "Location", "id": loc_id, "name": text or code})
    return ref(found)


def map_pv2(seg: Segment, ctx: Context) -> None:
    """PV2 -> Encounter: admit reason (PV2-3), expected dates, length of stay, referral source
    (PV2-13, a REF participant), visit priority."""
    enc = ctx.encounter
    if enc is None:
        return
    reason = ctx.code(seg, 3)
    if reason:
        enc.setdefault("reasonCode", []).append(reason)
    priority = ctx.code(seg, 25)
    if priority:
        enc["priority"] = priority
    for r in seg.reps(13):  # referral source
        who = ctx.practitioner(r)
        if who:
            enc.setdefault("participant", []).append({
                "type": [{"coding": [fixed_coding(PARTICIPATION, "REF", "referrer")]}],
                "individual": who})
    los = seg.value(11)
    if los.isdigit():
        enc["length"] = {"value": int(los), "unit": "days", "system": "http://unitsofmeasure.org",
                         "code": "d"}
        screen_quantity(enc["length"])
    desc = seg.value(12)
    if desc:
        enc.setdefault("reasonCode", []).append({"text": desc})

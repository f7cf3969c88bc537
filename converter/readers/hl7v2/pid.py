"""PID, PD1 and MRG -> Patient (V2-to-FHIR PID[Patient], PD1[Patient], MRG)."""
from __future__ import annotations

from typing import Any

from ...fhir.datatypes import screen
from ...fhir.ids import ref, resource_id
from ...fhir.language import language_concept
from .context import Context
from .datatypes import V2_TABLE, c, cx, date_only, fixed_coding, identity_key, mapped, \
    mapped_coding, table_coding, xad, xpn, xtn
from .message import Rep, Segment

BIRTH_TIME = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
EXTENSION = "http://hl7.org/fhir/StructureDefinition/"
V2_0203 = V2_TABLE.format("0203")


def patient_identifiers(seg: Segment) -> list[dict]:
    """PID-3 (and legacy PID-2, PID-4), PID-19 SSN, PID-20 driver's licence as Identifiers."""
    out = [x for x in (cx(r) for r in seg.reps(3)) if x]
    for n in (2, 4):
        out += [x for x in (cx(r) for r in seg.reps(n)) if x and x not in out]
    ssn = seg.value(19)
    if ssn:
        out.append({"type": {"coding": [fixed_coding(V2_0203, "SS")]},
                    "system": "http://hl7.org/fhir/sid/us-ssn", "value": ssn})
    dl = seg.rep(20)
    if c(dl, 1):
        out.append({"type": {"coding": [fixed_coding(V2_0203, "DL")]}, "value": c(dl, 1)})
    return out


def patient_key(seg: Segment, identifiers: list[dict], ctx: Context) -> str:
    """The business key of the patient: the first PID-3 identifier, else the name and birth date."""
    if identifiers:
        return identity_key(identifiers[0])
    return f"demographics|{seg.value(5, 1)}|{seg.value(5, 2)}|{seg.value(7)[:8]}|{ctx.key}"


def map_pid(seg: Segment, ctx: Context) -> dict:
    """PID -> Patient."""
    seg.touch(1)
    identifiers = patient_identifiers(seg)
    if not identifiers:
        ctx.issue("warning", "missing-field", "no patient identifier (PID-3)", seg, 3)
    birth = seg.value(7)
    birth_date = date_only(birth) if birth else None
    if birth and birth_date is None:
        ctx.issue("warning", "invalid-date", f"not a valid birth date: {birth!r}", seg, 7)
    birth_ext = None
    if birth_date and len(birth.strip()) > 8:
        t = ctx.dt(seg, 7)
        if t and "T" in t:
            birth_ext = {"extension": [{"url": BIRTH_TIME, "valueDateTime": t}]}
    gender_code = seg.value(8)
    gender = mapped("0001-gender", gender_code)
    if gender_code and not gender:
        ctx.issue("warning", "unknown-code", f"unknown administrative sex {gender_code!r}", seg, 8)
    death = seg.value(29)
    deceased_flag = seg.value(30)
    birth_order, multiple_birth = seg.value(25), seg.value(24)
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": resource_id("Patient", patient_key(seg, identifiers, ctx)),
        "identifier": identifiers,
        # PID-9 aliases after the legal names
        "name": [x for n in (5, 9) for x in (xpn(r) for r in seg.reps(n)) if x],
        "telecom": _telecom(seg),
        "gender": gender,
        "birthDate": birth_date,
        "_birthDate": birth_ext,
        "address": _addresses(seg),
        "maritalStatus": _marital(seg),
        "multipleBirthInteger": int(birth_order) if birth_order.isdigit() else None,
        "multipleBirthBoolean": (multiple_birth == "Y") if multiple_birth in ("Y", "N")
        and not birth_order.isdigit() else None,
        "deceasedDateTime": ctx.dt(seg, 29) if death else None,
        "deceasedBoolean": (deceased_flag == "Y") if deceased_flag in ("Y", "N") and not death
        else None,
        "communication": [{"language": lang} for lang in (primary_language(r) for r in seg.reps(15))
                          if lang],
        "extension": _race_ethnicity(seg, ctx),
    }
    if seg.value(6, 1):  # mother's maiden name
        maiden = xpn(seg.rep(6))
        if maiden:
            patient["extension"] = (patient["extension"] or []) + [{
                "url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName",
                "valueString": maiden.get("family") or " ".join(maiden.get("given", []))}]
    more = _demographic_extensions(seg, ctx)
    if more:
        patient["extension"] = (patient["extension"] or []) + more
    if seg.value(18):
        patient["identifier"] = identifiers + [x for x in [
            _typed(cx(seg.rep(18)), "AN")] if x]
    return ctx.add(patient, seg)


def primary_language(rep: Rep) -> dict | None:
    """PID-15, NK1-20 (CWE) -> a CodeableConcept in BCP-47, its coding screened for the code repairs."""
    lang = language_concept(c(rep, 1) or c(rep, 4), c(rep, 2), c(rep, 9))
    if lang:
        for found in lang.get("coding", ()):
            screen(found)
    return lang


def _typed(ident: dict | None, code: str) -> dict | None:
    if ident and "type" not in ident:
        ident["type"] = {"coding": [fixed_coding(V2_0203, code)]}
    return ident


def _marital(seg: Segment) -> dict | None:
    code = seg.value(16)
    if not code:
        return None
    found = mapped_coding("0002-marital-status", code)
    cc = {"coding": [found or table_coding("0002", code, seg.value(16, 2) or None)]}
    return cc


def _telecom(seg: Segment) -> list[dict]:
    """PID-13 home and PID-14 work numbers, then PID-40 (v2.7+, which replaces them; a sender
    filling both gives each number once)."""
    out = [x for x in (xtn(r, "home") for r in seg.reps(13)) if x]
    out += [x for x in (xtn(r, "work") for r in seg.reps(14)) if x]
    seen = {(x.get("system"), x["value"]) for x in out}
    for rep in seg.reps(40):
        point = xtn(rep, None)
        if point and (point.get("system"), point["value"]) not in seen:
            seen.add((point.get("system"), point["value"]))
            out.append(point)
    return out


def _addresses(seg: Segment) -> list[dict]:
    """PID-11 addresses, with PID-12 county as a district: on the one address that has none, else
    (several addresses, or one in another county) as an address of its own, as the IG says."""
    addresses = [x for x in (xad(r) for r in seg.reps(11)) if x]
    county = seg.value(12)
    if county:
        if len(addresses) == 1 and "district" not in addresses[0]:
            addresses[0]["district"] = county
        elif not (len(addresses) == 1 and addresses[0]["district"] == county):
            addresses.append({"district": county})
    return addresses


def _demographic_extensions(seg: Segment, ctx: Context) -> list[dict]:
    """PID-17 religion, PID-23 birth place, PID-26 citizenship, PID-28 nationality and PID-39
    tribal citizenship as the core extensions the V2-to-FHIR IG names (after the mother's maiden
    name, in the IG's order)."""
    out = []
    religion = ctx.code(seg, 17)
    if religion:
        out.append({"url": EXTENSION + "patient-religion", "valueCodeableConcept": religion})
    birth_place = seg.value(23)
    if birth_place:
        out.append({"url": EXTENSION + "patient-birthPlace",
                    "valueAddress": {"text": birth_place}})
    for n, name in ((26, "patient-citizenship"), (28, "patient-nationality"),
                    (39, "patient-citizenship")):
        out += [{"url": EXTENSION + name, "extension": [{"url": "code",
                                                         "valueCodeableConcept": cc}]}
                for cc in ctx.codes(seg, n)]
    return out


def _race_ethnicity(seg: Segment, ctx: Context) -> list[dict] | None:
    """PID-10 race and PID-22 ethnic group as (non-US-Core-specific) CodeableConcept extensions."""
    out = []
    for n, url in ((10, "http://hl7.org/fhir/StructureDefinition/patient-race"),
                   (22, "http://hl7.org/fhir/StructureDefinition/patient-ethnicity")):
        for cc in ctx.codes(seg, n):
            out.append({"url": url, "valueCodeableConcept": cc})
    return out or None


def map_pd1(seg: Segment, ctx: Context) -> None:
    """PD1 -> Patient.generalPractitioner (PD1-3 organisation, PD1-4 practitioner)."""
    if ctx.patient is None:
        return
    gps = [x for x in (ctx.organization(r) for r in seg.reps(3)) if x]
    gps += [x for x in (ctx.practitioner(r) for r in seg.reps(4)) if x]
    if gps:
        ctx.patient.setdefault("generalPractitioner", []).extend(gps)


def map_mrg(seg: Segment, ctx: Context) -> None:
    """MRG (merge events) -> the prior Patient record, inactive and linked as replaced."""
    if ctx.patient is None:
        return
    prior_ids = [x for x in (cx(r) for r in seg.reps(1)) if x]
    if not prior_ids:
        return
    prior = ctx.add({
        "resourceType": "Patient",
        "id": resource_id("Patient", identity_key(prior_ids[0])),
        "identifier": [dict(i, use="old") for i in prior_ids],
        "active": False,
        "link": [{"other": ref(ctx.patient), "type": "replaced-by"}],
    }, seg)
    ctx.patient.setdefault("link", []).append({"other": ref(prior), "type": "replaces"})

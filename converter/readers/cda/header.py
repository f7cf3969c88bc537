"""The CDA header: recordTarget -> Patient; author, legalAuthenticator, custodian ->
Practitioner, PractitionerRole, Organization, Device; componentOf/encompassingEncounter -> Encounter;
documentationOf/serviceEvent performers -> Practitioner."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...fhir.language import language_concept
from ...fhir.ids import ref
from ...vocabulary import lookup, table
from .datatypes import (absent_reason, addresses, concept, date_time, identifiers, names, sdtc,
                        telecoms)
from .encounters import build as build_encounter, location
from .context import resource_id
from .nodes import SDTC, V3, Element, child, children, path
from .participants import actor, organization

if TYPE_CHECKING:
    from .context import Context

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
BIRTH_TIME = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
RELIGION = "http://hl7.org/fhir/StructureDefinition/patient-religion"
BIRTH_PLACE = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
LANGUAGE = "urn:ietf:bcp:47"
# Header elements mapped here or kept for the Composition (issue 5); any other is reported.
HEADER = frozenset(V3 + n for n in (
    "realmCode", "typeId", "templateId", "id", "code", "title", "effectiveTime",
    "confidentialityCode", "languageCode", "setId", "versionNumber", "recordTarget", "author",
    "custodian", "legalAuthenticator", "authenticator", "documentationOf", "componentOf",
    "component", "relatedDocument", "dataEnterer", "informant", "informationRecipient",
    "participant", "inFulfillmentOf", "authorization", "copyTime"))


def patient(root: Element, ctx: Context) -> dict | None:
    """recordTarget/patientRole -> Patient (None when the document names no patient)."""
    targets = children(root, "recordTarget")
    role = child(targets[0], "patientRole") if targets else None
    if role is None:
        return None
    if len(targets) > 1:
        ctx.issue("warning", "unmapped-element",
                  f"{len(targets)} recordTargets: only the first patient is converted", targets[1])
    person = child(role, "patient")
    ids = identifiers(role)
    key = (ids[0].get("system", ""), ids[0]["value"]) if ids and ids[0].get("value") else (
        ctx.doc_key, "recordTarget")
    res: dict[str, Any] = {
        "resourceType": "Patient",
        "id": resource_id("Patient", *key),
        "identifier": ids,
        "name": names(person),
        "telecom": telecoms(role),
        "gender": _gender(child(person, "administrativeGenderCode")),
        "address": addresses(role, ctx),
        "maritalStatus": concept(child(person, "maritalStatusCode"), ctx),
        "communication": _communication(person, ctx),
        "contact": [c for c in (_guardian(g, ctx) for g in children(person, "guardian")) if c],
        "extension": _extensions(person, ctx),
    }
    birth = child(person, "birthTime")
    when = date_time(birth, ctx)
    if when:
        res["birthDate"] = when[:10]
        if "T" in when:
            res["_birthDate"] = {"extension": [{"url": BIRTH_TIME, "valueDateTime": when}]}
    else:
        res["_birthDate"] = absent_reason(birth)
    deceased_ind, deceased_time = sdtc(person, "deceasedInd"), sdtc(person, "deceasedTime")
    died = date_time(deceased_time, ctx)
    if died:
        res["deceasedDateTime"] = died
    elif deceased_ind is not None and deceased_ind.get("value") in ("true", "false"):
        res["deceasedBoolean"] = deceased_ind.get("value") == "true"
    org = organization(child(role, "providerOrganization"), ctx)
    if org:
        res["managingOrganization"] = ref(org)
    return res


def _gender(el: Element | None) -> str | None:
    if el is None:
        return None
    return lookup("cda/gender.csv", el.get("code") or el.get("nullFlavor"))


def _extensions(person: Element | None, ctx: Context) -> list[dict]:
    out = []
    for kind, main, extra in (("race", "raceCode", "raceCode"),
                              ("ethnicity", "ethnicGroupCode", "ethnicGroupCode")):
        codes = children(person, main) + (person.findall(SDTC + extra) if person is not None
                                          else [])
        ext = _omb(kind, codes)
        if ext:
            out.append(ext)
    religion = concept(child(person, "religiousAffiliationCode"), ctx)
    if religion:
        out.append({"url": RELIGION, "valueCodeableConcept": religion})
    place = path(person, "birthplace", "place", "addr")
    addr = addresses(child(path(person, "birthplace"), "place"), ctx) if place is not None else []
    if addr:
        out.append({"url": BIRTH_PLACE, "valueAddress": addr[0]})
    return out


def _omb(kind: str, codes: list[Element]) -> dict | None:
    """raceCode / ethnicGroupCode (+ sdtc: repeats) -> the US Core race / ethnicity extension."""
    omb = table("cda/omb-categories.csv")
    parts = []
    labels = []
    for c in codes:
        code = c.get("code")
        if not code:
            continue
        coding = {"system": "urn:oid:2.16.840.1.113883.6.238", "code": code,
                  "display": c.get("displayName")}
        row = omb.get(code)
        slot = "ombCategory" if row and row["kind"] == kind else "detailed"
        parts.append({"url": slot, "valueCoding": {k: v for k, v in coding.items() if v}})
        labels.append(c.get("displayName") or (row["display"] if row else code))
    if not parts:
        return None
    parts.append({"url": "text", "valueString": ", ".join(labels)})
    return {"url": US_CORE + f"us-core-{kind}", "extension": parts}


def _communication(person: Element | None, ctx: Context) -> list[dict]:
    out = []
    for lc in children(person, "languageCommunication"):
        lang = child(lc, "languageCode")
        if lang is None or not lang.get("code"):
            continue
        pref = child(lc, "preferenceInd")
        language = language_concept(lang.get("code"))  # BCP-47 ("eng" becomes "en")
        if language is None:
            continue
        out.append({"language": language,
                    "preferred": pref.get("value") == "true" if pref is not None
                    and pref.get("value") in ("true", "false") else None})
    return out


def _guardian(g: Element, ctx: Context) -> dict | None:
    """guardian -> Patient.contact with relationship GUARD (and its own code)."""
    person = child(g, "guardianPerson")
    who = names(person)
    rel = [{"coding": [{"system": ROLE_CODE, "code": "GUARD", "display": "guardian"}]}]
    code = concept(child(g, "code"), ctx)
    if code:
        rel.append(code)
    org = organization(child(g, "guardianOrganization"), ctx)
    if not who and org is None:
        return None
    return {"relationship": rel, "name": who[0] if who else None,
            "telecom": telecoms(g), "address": (addresses(g, ctx) or [None])[0],
            "organization": ref(org) if org else None}


def participants(root: Element, ctx: Context) -> dict[str, list[dict]]:
    """The document's authors, legal authenticator, authenticators and custodian (by role)."""
    out: dict[str, list[dict]] = {"author": [], "legal": [], "verifier": [], "custodian": [],
                                  "performer": [], "enterer": [], "informant": []}
    for a in children(root, "author"):
        res = actor(child(a, "assignedAuthor"), ctx, with_role=True)
        if res:
            out["author"].append(res)
    for name, slot in (("legalAuthenticator", "legal"), ("authenticator", "verifier")):
        for el in children(root, name):
            res = actor(child(el, "assignedEntity"), ctx, with_role=True)
            if res:
                out[slot].append(res)
    custodian = organization(path(root, "custodian", "assignedCustodian",
                                  "representedCustodianOrganization"), ctx)
    if custodian:
        out["custodian"].append(custodian)
    for de in children(root, "dataEnterer"):
        res = actor(child(de, "assignedEntity"), ctx)
        if res:
            out["enterer"].append(res)
    for inf in children(root, "informant"):
        res = actor(child(inf, "assignedEntity"), ctx)
        if res:
            out["informant"].append(res)
    for doc_of in children(root, "documentationOf"):
        for perf in children(child(doc_of, "serviceEvent"), "performer"):
            res = actor(child(perf, "assignedEntity"), ctx, with_role=True)
            if res:
                out["performer"].append(res)
    for el in root:
        if el.tag not in HEADER and isinstance(el.tag, str):
            ctx.issue("information", "unmapped-element",
                      f"header element {el.tag.rpartition('}')[2]} has no FHIR mapping", el)
    for name in ("informationRecipient", "participant", "inFulfillmentOf", "authorization"):
        for el in children(root, name):
            ctx.issue("information", "unmapped-element",
                      f"header element {name} is not converted (kept in the source document)", el)
    return out


def encounter(root: Element, ctx: Context) -> dict | None:
    """componentOf/encompassingEncounter -> Encounter."""
    ee = path(root, "componentOf", "encompassingEncounter")
    if ee is None:
        return None
    res = build_encounter(ee, ctx, ctx.entry_id("Encounter", ee))
    facility = path(ee, "location", "healthCareFacility")
    loc = location(facility, ctx, "location")
    if loc:
        res["location"] = [{"location": ref(loc)}]
    provider = organization(child(facility, "serviceProviderOrganization"), ctx)
    if provider:
        res["serviceProvider"] = ref(provider)
    return ctx.add(res)

"""Encounter Activity (.49) and the header's encompassingEncounter -> Encounter, with Encounter
Diagnoses (.80) as Conditions, the Service Delivery Location (.32) as Location."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ...fhir.datatypes import absent
from ...fhir.ids import ref
from ...vocabulary import lookup
from . import entries
from .common import INDICATION, PREFIX, act_status, has_template, reasons
from .datatypes import (addresses, coding, concept, identifiers, period, sdtc,
                        telecoms)
from .context import resource_id
from .nodes import Element, child, children, path, related, text
from .participants import actor, organization

if TYPE_CHECKING:
    from .context import Context
    from .entries import Scope

ACT_CODE = "2.16.840.1.113883.5.4"
ENCOUNTER_DIAGNOSIS = PREFIX + "80"
CONSUMED = frozenset({INDICATION, ENCOUNTER_DIAGNOSIS})
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"


def encounter(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """Encounter Activity -> Encounter; its diagnoses -> Conditions (encounter-diagnosis)."""
    res = build(el, ctx, ctx.entry_id("Encounter", el))
    res["reasonCode"] = reasons(el, ctx)
    for p in children(el, "participant"):
        if p.get("typeCode") == "LOC":
            loc = location(child(p, "participantRole"), ctx, "playingEntity")
            if loc:
                res.setdefault("location", []).append({"location": ref(loc)})
    res = ctx.add(res)
    inner = replace(scope, encounter=res, category="encounter-diagnosis")
    diagnoses = []
    for _h, st in related(el):
        if has_template(st, ENCOUNTER_DIAGNOSIS):
            diagnoses += entries.dispatch(st, ctx, inner)
    if diagnoses:
        res["diagnosis"] = [{"condition": ref(c)} for c in diagnoses
                            if c["resourceType"] == "Condition"]
    entries.rest(el, ctx, replace(scope, encounter=res), CONSUMED)
    return [res]


def build(el: Element, ctx: Context, rid: str) -> dict[str, Any]:
    """The Encounter dict shared by entries and the header (not yet added)."""
    code = child(el, "code")
    cls = None
    types = []
    if code is not None:
        candidates = [code] + list(code.iterfind("{urn:hl7-org:v3}translation"))
        act = next((c for c in candidates if c.get("codeSystem") == ACT_CODE and c.get("code")),
                   None)
        cls = coding(act) if act is not None else None
        cc = concept(code, ctx)
        if cc and not (act is code and len(candidates) == 1):
            types.append(cc)
    et = child(el, "effectiveTime")
    span = period(et, ctx)
    status = act_status(el, "encounter")
    if status is None or status == "finished":
        finished = et is not None and (et.get("value") or child(et, "high") is not None)
        status = "finished" if finished else (status or "unknown")
    res: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": rid,
        "identifier": identifiers(el),
        "status": status,
        "class": cls or absent("unknown"),
        "type": types,
        "subject": ctx.subject(),
        "period": span,
        "participant": _participants(el, ctx),
    }
    disposition = sdtc(el, "dischargeDispositionCode")
    if disposition is None:
        disposition = child(el, "dischargeDispositionCode")
    if disposition is not None:
        res["hospitalization"] = {"dischargeDisposition": concept(disposition, ctx)}
    return res


def _participants(el: Element, ctx: Context) -> list[dict]:
    out = []
    for p in children(el, "performer") + children(el, "encounterParticipant"):
        who = actor(child(p, "assignedEntity"), ctx)
        if who is None or who["resourceType"] not in ("Practitioner", "PractitionerRole"):
            continue
        type_code = p.get("typeCode")
        kind = lookup("cda/participation-type.csv", type_code, "display") if type_code else None
        out.append({"type": [{"coding": [{"system": PARTICIPATION, "code": type_code,
                                          "display": kind}]}] if kind else [],
                    "individual": ref(who)})
    responsible = path(el, "responsibleParty", "assignedEntity")
    who = actor(responsible, ctx)
    if who is not None and who["resourceType"] == "Practitioner":
        out.append({"type": [{"coding": [{"system": PARTICIPATION, "code": "RESP",
                                          "display": "responsible party"}]}],
                    "individual": ref(who)})
    return out


def location(role: Element | None, ctx: Context, place: str = "playingEntity") -> dict | None:
    """A Service Delivery Location / healthCareFacility -> Location."""
    if role is None:
        return None
    entity = child(role, place)
    label = text(child(entity, "name"))
    ids = identifiers(role)
    addr = addresses(role, ctx) or addresses(entity, ctx)
    kind = concept(child(role, "code"), ctx)
    if not (label or ids or addr):
        return None
    key = (ids[0].get("system"), ids[0].get("value")) if ids else (label, repr(addr))
    return ctx.add({
        "resourceType": "Location",
        "id": resource_id("Location", *key),
        "identifier": ids,
        "name": label,
        "type": [kind] if kind else [],
        "telecom": telecoms(role),
        "address": addr[0] if addr else None,
        "managingOrganization": _org_ref(child(role, "serviceProviderOrganization"), ctx),
    })


def _org_ref(el: Element | None, ctx: Context) -> dict | None:
    org = organization(el, ctx)
    return ref(org) if org else None


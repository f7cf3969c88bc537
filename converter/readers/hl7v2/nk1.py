"""NK1 -> RelatedPerson (V2-to-FHIR NK1[RelatedPerson])."""
from __future__ import annotations

from ...fhir.ids import resource_id
from .context import Context
from .datatypes import V2_TABLE, compact, cwe, cx, date_only, fixed_coding, mapped, \
    mapped_coding, table_coding, xad, xpn, xtn
from .message import Segment
from .pid import primary_language

SSN = "http://hl7.org/fhir/sid/us-ssn"


def map_nk1(seg: Segment, ctx: Context) -> dict | None:
    """NK1 -> RelatedPerson: name, relationship (0063) and contact role (0131), address, telecom,
    gender, language, identifiers; the contact person of NK1-30 to 32 as a second name, telecom
    and address, as V2-to-FHIR NK1[RelatedPerson] does."""
    seg.touch(1)
    if ctx.patient is None:
        ctx.issue("warning", "unexpected-segment", "NK1 without a patient: not mapped", seg)
        return None
    names = [x for x in (xpn(r) for r in seg.reps(2)) if x]
    relationship = []
    rel = seg.rep(3)
    if rel:
        code = rel[0][0] if rel and rel[0] else ""
        relationship.append(_coded("0063-relationship", code, cwe(rel)))
    role = seg.rep(7)
    if role:
        code = role[0][0] if role and role[0] else ""
        relationship.append(_coded("0131-contact-role", code, cwe(role)))
    gender_code = seg.value(15)
    gender = mapped("0001-gender", gender_code)
    if gender_code and not gender:
        ctx.issue("warning", "unknown-code", f"unknown administrative sex {gender_code!r}", seg, 15)
    identifiers = [x for n in (33, 12) for x in (cx(r) for r in seg.reps(n)) if x]
    if seg.value(37):
        identifiers.append({"type": {"coding": [fixed_coding(V2_TABLE.format("0203"), "SS")]},
                            "system": SSN, "value": seg.value(37)})
    person = {
        "resourceType": "RelatedPerson",
        "id": resource_id("RelatedPerson", ctx.patient["id"], seg.value(1) or seg.position,
                          seg.value(2, 1), seg.value(2, 2)),
        "identifier": identifiers,
        "patient": ctx.subject(),
        "relationship": [r for r in relationship if r],
        "name": names + [x for x in (xpn(r) for r in seg.reps(30)) if x],
        "telecom": [x for x in (xtn(r, "home") for r in seg.reps(5)) if x]
        + [x for x in (xtn(r, "work") for r in seg.reps(6)) if x]
        + [x for n in (40, 31) for x in (xtn(r, None) for r in seg.reps(n)) if x],
        "gender": gender,
        "address": [x for n in (4, 32) for x in (xad(r) for r in seg.reps(n)) if x],
        "period": compact({"start": date_only(seg.value(8)), "end": date_only(seg.value(9))}),
        "birthDate": date_only(seg.value(16)) if seg.value(16) else None,
        "communication": [{"language": lang} for lang in [primary_language(seg.rep(20))]
                          if lang],
    }
    return ctx.add(person, seg)


def _coded(table_name: str, code: str, original: dict | None) -> dict | None:
    found = mapped_coding(table_name, code)
    if found is None:
        return original or (
            {"coding": [table_coding(table_name[:4], code)]} if code else None)
    out = {"coding": [found]}
    if original and original.get("text"):
        out["text"] = original["text"]
    return out

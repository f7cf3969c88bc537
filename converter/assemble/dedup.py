"""De-duplication inside one patient's resources: the same person, organisation or clinical fact
stated by several sources becomes one resource, and every reference follows.

Keys (two resources are one when their keys are equal; an empty key never matches):
- Practitioner, Organization: first identifier (system and value), else the normalised name.
- Condition: a shared code (system and code) and the same onset date (or none on either side).
- AllergyIntolerance: a shared substance code.
- MedicationStatement, MedicationRequest: a shared medication code and the same start date.
- Observation: a shared code, the same value, and the same effective time as far as both give it.
- DiagnosticReport: a shared code and the same effective date.
- Encounter: a shared identifier (visit number).
- Immunization: a shared vaccine code and the same date.
- Procedure: a shared code and the same performed date.
- ImagingStudy: the same Study Instance UID.
The first resource seen is kept and completed with the others' list elements; the Provenance of
every source then points at it.
"""
from __future__ import annotations

from typing import Any, Callable

from .merge import merge
from .patients import identity_key, normalise

Key = tuple


def codes(concept: dict | None) -> frozenset[str]:
    """system|code of every coding of a CodeableConcept."""
    if not concept:
        return frozenset()
    return frozenset(f"{c.get('system', '')}|{c['code']}" for c in concept.get("coding", [])
                     if c.get("code"))


def _date(value: Any) -> str:
    return value[:10] if isinstance(value, str) else ""


def _first(resource: dict, *paths: str) -> Any:
    for path in paths:
        value: Any = resource
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value:
            return value
    return None


def _value_key(obs: dict) -> str:
    q = obs.get("valueQuantity")
    if q:
        return f"q|{q.get('value')}|{q.get('code') or q.get('unit', '')}"
    if "valueCodeableConcept" in obs:
        return "c|" + ",".join(sorted(codes(obs["valueCodeableConcept"])))
    for k in ("valueString", "valueBoolean", "valueInteger", "valueDateTime", "valueTime"):
        if k in obs:
            return f"{k}|{obs[k]}"
    return "none|" + ",".join(f"{c.get('valueQuantity', {}).get('value')}"
                              for c in obs.get("component", []))


def party_key(resource: dict) -> Key | None:
    for ident in resource.get("identifier") or []:
        key = identity_key(ident)
        if key:
            return key
    name = resource.get("name")
    if isinstance(name, list):
        name = " ".join(filter(None, [(name[0].get("family") or "")] + name[0].get("given", [])
                               + [name[0].get("text") or ""])) if name else ""
    name = normalise(name or "")
    return ("name", name) if name else None


def _medication_codes(resource: dict, by_id: dict[str, dict]) -> frozenset[str]:
    if "medicationCodeableConcept" in resource:
        return codes(resource["medicationCodeableConcept"])
    ref = (resource.get("medicationReference") or {}).get("reference", "")
    med = by_id.get(ref.removeprefix("urn:uuid:"))
    return codes(med.get("code")) if med else frozenset()


def fact_key(resource: dict, by_id: dict[str, dict]) -> tuple[frozenset[str], str] | None:
    """(codes, qualifier): two resources of one type state the same fact when their code sets
    intersect and their qualifiers (dates, values) are equal."""
    rtype = resource["resourceType"]
    if rtype == "Condition":
        return codes(resource.get("code")), _date(_first(resource, "onsetDateTime",
                                                          "onsetPeriod.start"))
    if rtype == "AllergyIntolerance":
        return codes(resource.get("code")), ""
    if rtype in ("MedicationStatement", "MedicationRequest"):
        start = _first(resource, "effectiveDateTime", "effectivePeriod.start", "authoredOn",
                       "dispenseRequest.validityPeriod.start")
        return _medication_codes(resource, by_id), _date(start)
    if rtype == "Observation":
        when = _first(resource, "effectiveDateTime", "effectivePeriod.start") or ""
        return codes(resource.get("code")), f"{_value_key(resource)}|{when}"
    if rtype == "DiagnosticReport":
        return codes(resource.get("code")), _date(_first(resource, "effectiveDateTime",
                                                          "effectivePeriod.start"))
    if rtype == "Encounter":
        return frozenset(f"{k[0]}|{k[1]}" for k in (identity_key(i) for i in
                                                   resource.get("identifier") or []) if k), ""
    if rtype == "Immunization":
        return codes(resource.get("vaccineCode")), _date(resource.get("occurrenceDateTime"))
    if rtype == "Procedure":
        return codes(resource.get("code")), _date(_first(resource, "performedDateTime",
                                                          "performedPeriod.start"))
    if rtype == "ImagingStudy":
        uids = frozenset(i["value"] for i in resource.get("identifier", [])
                         if i.get("system") == "urn:dicom:uid" and i.get("value"))
        return uids, ""
    return None


def _matches(a: tuple[frozenset[str], str], b: tuple[frozenset[str], str], rtype: str) -> bool:
    if not (a[0] & b[0]):
        return False
    if rtype in ("Condition", "MedicationStatement", "MedicationRequest"):
        return a[1] == b[1] or not a[1] or not b[1]  # a source that gives no date agrees
    if rtype == "Observation":
        # same value, and the same time as far as both sources give it: a v2 time without an
        # offset is kept as a date, while a CDA may give the same moment in full
        value_a, _, when_a = a[1].rpartition("|")
        value_b, _, when_b = b[1].rpartition("|")
        if value_a != value_b or not when_a or not when_b:
            return False
        n = min(len(when_a), len(when_b))
        return when_a[:n] == when_b[:n] if n == 10 else when_a == when_b
    return a[1] == b[1]


def duplicates(resources: list[dict]) -> dict[str, str]:
    """Map of dropped id -> kept id for resources stating the same party or fact."""
    by_id = {r["id"]: r for r in resources}
    replaced: dict[str, str] = {}
    parties: dict[tuple[str, Key], str] = {}
    facts: dict[str, list[tuple[tuple[frozenset[str], str], str]]] = {}
    # (type, code) -> positions in facts[type] of the facts with that code: only those can match,
    # so a patient's thousandth result is not compared with all the others
    with_code: dict[tuple[str, str], list[int]] = {}
    for r in resources:
        rtype = r["resourceType"]
        if rtype in ("Practitioner", "Organization"):
            key = party_key(r)
            if key is None:
                continue
            kept = parties.setdefault((rtype, key), r["id"])
            if kept != r["id"]:
                replaced[r["id"]] = kept
            continue
        fk = fact_key(r, by_id)
        if fk is None or not fk[0]:
            continue
        seen = facts.setdefault(rtype, [])
        # in the order they were seen, so the first fact stated is the one kept
        for n in sorted({n for code in fk[0] for n in with_code.get((rtype, code), ())}):
            other_key, other_id = seen[n]
            if _matches(fk, other_key, rtype):
                replaced[r["id"]] = other_id
                break
        else:
            for code in fk[0]:
                with_code.setdefault((rtype, code), []).append(len(seen))
            seen.append((fk, r["id"]))
    return replaced


_REFERENCE_KEYS = frozenset({"reference", "display"})


def rewrite_references(value: Any, replaced: dict[str, str]) -> Any:
    """`value` with every urn:uuid reference to a replaced id pointing at its replacement, and no
    list naming one resource twice. A part with nothing to change is returned as it is, not
    copied (most of a resource is left alone, and copying it all was the cost)."""
    if isinstance(value, dict):
        out = value
        for k, v in value.items():
            if isinstance(v, (dict, list)):
                new = rewrite_references(v, replaced)
            elif k == "reference" and isinstance(v, str) and v.startswith("urn:uuid:") \
                    and replaced.get(v[9:]):
                new = f"urn:uuid:{replaced[v[9:]]}"
            else:
                continue
            if new is not v:
                if out is value:
                    out = dict(value)  # the first change: copy, in the same key order
                out[k] = new
        return out
    if isinstance(value, list):
        out_list = []
        changed = False
        for v in value:
            new = rewrite_references(v, replaced) if isinstance(v, (dict, list)) else v
            if isinstance(new, dict) and new.keys() <= _REFERENCE_KEYS and new in out_list:
                changed = True  # a list of references may now name one resource twice
                continue
            changed = changed or new is not v
            out_list.append(new)
        return out_list if changed else value
    return value


def apply(resources: list[dict], replaced: dict[str, str],
          combine: Callable[[dict, dict], dict] = merge) -> list[dict]:
    """Resources with the replaced ones folded into those kept, and references rewritten."""
    if not replaced:
        return resources
    kept: dict[str, dict] = {}
    order: list[str] = []
    for r in resources:
        target = replaced.get(r["id"], r["id"])
        if target in kept:
            kept[target] = combine(kept[target], {**r, "id": target})
        else:
            kept[target] = r if target == r["id"] else {**r, "id": target}
            order.append(target)
    return [rewrite_references(kept[i], replaced) for i in order]


def chains(replaced: dict[str, str]) -> dict[str, str]:
    """Follow replacement chains so that every id maps straight to the one finally kept."""
    out = {}
    for old in replaced:
        new = replaced[old]
        while new in replaced:
            new = replaced[new]
        out[old] = new
    return out

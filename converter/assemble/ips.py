"""`--bundle-type document`: one patient's merged resources as an IPS 2.0 document Bundle.

STANDARDS.md section 1. The Bundle holds the Composition first, then the Patient, then the other
resources in the order given, then the Device that authored the document (medbundle). The
Composition has the three required sections (Problems, Allergies, Medications) always, with
`emptyReason` and a narrative when nothing is known, and the other sections when the data fill
them. A source's own "no known allergy" (or problem, medication...) statement is an entry like any
other. Resources the document cannot carry are left out and reported; IPS profiles and
data-absent-reason fills are applied on copies (ips_conform). Nothing here mutates the input.
"""
from __future__ import annotations

import hashlib
import re
from typing import Any, Iterable

import msgspec

from ..fhir.ids import resource_id
from ..issues import Issue, Location
from ..summary.fhirtext import human_name
from .ips_conform import conform, profile_url
from .ips_sections import Placed, SectionDef, members, place, section_defs, states_absence
from .narrative import cells, instant_key, labels, lines, paragraph, raw_date, table

LOINC = "http://loinc.org"
LIST_EMPTY_REASON = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
ACT_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActClass"
TITLE = "International Patient Summary"
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_encode = msgspec.json.Encoder(decimal_format="number", order="deterministic").encode


def document(resources: list[dict], patient: dict, timestamp: str, version: str
             ) -> tuple[dict, list[Issue]]:
    """An IPS document Bundle for one patient's merged resources, plus the issues met.

    `resources` are plain FHIR R4 dicts with ids, referring to each other as 'urn:uuid:<id>';
    `timestamp` is an instant with offset (Bundle.timestamp and Composition.date); `version` is
    medbundle's version, named by the Device that authors the document.
    """
    if not isinstance(timestamp, str) or not _INSTANT.match(timestamp):
        raise ValueError(f"timestamp must be an instant with an offset, not {timestamp!r}")
    pid = patient["id"]
    issues: list[Issue] = []
    patient = _logical_links(patient, resources)
    others = [r for r in resources if r.get("id") != pid]
    kept = _keep(others, patient, issues)

    subject, fills = conform(patient)
    issues.extend(i for i in fills if i.code != "ips-profile-skipped")
    if profile_url("patient") not in (subject.get("meta") or {}).get("profile", []):
        issues.append(Issue("warning", "missing-field",
                            "the Patient has no name with a family name, given name or text: the "
                            "document cannot meet the IPS Patient profile (name 1..*, ips-pat-1)",
                            Location(source=f"Patient/{pid}", expression="Patient.name")))
    content: list[dict] = []
    for r in kept:
        out, fills = conform(r)
        content.append(out)
        issues.extend(fills)

    placed = place(content, lambda r: instant_key(raw_date(r)))
    by_url = {f"urn:uuid:{r['id']}": r for r in [subject, *content]}
    sections = [_section(s, placed[s.code], by_url, issues) for s in section_defs()
                if placed[s.code] or s.required]

    author = _author(version)
    composition = _composition(subject, content, sections, author, timestamp, version)
    entries = [composition, subject, *content, author]
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "meta": {"profile": [profile_url("bundle")]},
        "type": "document",
        "timestamp": timestamp,
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in entries],
    }
    uid = resource_id("Bundle", "ips", hashlib.sha256(_encode(bundle)).hexdigest())
    bundle = {"resourceType": "Bundle", "id": uid, "meta": bundle["meta"],
              "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uid}"},
              **{k: v for k, v in bundle.items() if k not in ("resourceType", "meta")}}
    issues.extend(_unresolved(entries))
    return bundle, issues


# -- what the document carries ---------------------------------------------------------------------

def _logical_links(patient: dict, resources: list[dict]) -> dict:
    """The Patient with its links to other Patient records (a merged, replaced record) made logical
    references by identifier: a document is about one Patient, so the other record stays out while
    the link still says which record it replaces."""
    links = patient.get("link") or []
    if not links:
        return patient
    by_url = {f"urn:uuid:{r['id']}": r for r in resources if r.get("resourceType") == "Patient"}
    out = []
    for link in links:
        other = by_url.get((link.get("other") or {}).get("reference", ""))
        if other is not None and other.get("id") != patient["id"]:
            ident = next(iter(other.get("identifier") or []), None)
            link = {**link, "other": {k: v for k, v in (
                ("identifier", ident), ("display", f"Patient record {other['id']}")) if v}}
        out.append(link)
    return {**patient, "link": out}


def _leave_out(r: dict, pid: str) -> tuple[str, str] | None:
    """(severity, why) when a resource cannot be in the IPS document, else None."""
    rtype = r.get("resourceType")
    if rtype == "MessageHeader":
        return "information", "a MessageHeader belongs to a message, not to a document"
    if rtype == "Composition":
        return "warning", "an IPS document holds one Composition only (bdl-ips-1)"
    if rtype == "Patient":
        return "warning", (f"an IPS document is about one Patient ({pid}); this one was not "
                           "merged with it")
    if rtype == "MedicationRequest" and r.get("doNotPerform") is True:
        return "warning", ("a 'do not perform' MedicationRequest cannot be carried by the IPS "
                           "(MedicationRequest-uv-ips fixes doNotPerform to false)")
    if "entered-in-error" in {r.get("status"), *_codes(r.get("verificationStatus"))}:
        return "information", "it was entered in error"
    return None


def _keep(resources: list[dict], patient: dict, issues: list[Issue]) -> list[dict]:
    """The resources the document carries, in their order; Provenance trimmed to what remains.

    A resource left out is kept after all when another kept resource refers to it (every
    reference in a document must resolve); it then stays out of the sections only.
    """
    reasons = {r["id"]: why for r in resources if (why := _leave_out(r, patient["id"]))}
    needed: set[str] = set()
    frontier = [patient, *(r for r in resources
                           if r["id"] not in reasons and r["resourceType"] != "Provenance")]
    while frontier:
        found = {t for r in frontier for t in _targets(r)} & (set(reasons) - needed)
        needed |= found
        frontier = [r for r in resources if r["id"] in found]
    out = []
    for r in resources:
        why = reasons.get(r["id"])
        where = Location(source=f"{r['resourceType']}/{r['id']}", expression=r["resourceType"])
        if why is None:
            out.append(r)
        elif r["id"] in needed:
            out.append(r)
            issues.append(Issue(why[0], "ips-excluded",
                                f"kept out of the IPS sections: {why[1]}; it stays in the Bundle "
                                "because another resource refers to it", where))
        else:
            issues.append(Issue(why[0], "ips-excluded",
                                f"left out of the IPS document: {why[1]}", where))
    gone = set(reasons) - needed
    if not gone:
        return out
    trimmed = []
    for r in out:
        if r["resourceType"] != "Provenance":
            trimmed.append(r)
            continue
        prov = _trim_provenance(r, gone)
        if prov is not None:
            trimmed.append(prov)
    return trimmed


def _trim_provenance(prov: dict, gone: set[str]) -> dict | None:
    """A copy of a Provenance without its links to resources left out (None if nothing is left)."""
    def alive(link: Any) -> bool:
        ref = link.get("reference") if isinstance(link, dict) else None
        return not (isinstance(ref, str) and _target_id(ref) in gone)

    targets = [t for t in prov.get("target") or [] if alive(t)]
    if not targets:
        return None
    entities = [e for e in prov.get("entity") or [] if alive(e.get("what"))]
    out = {**prov, "target": targets}
    if entities:
        out["entity"] = entities
    else:
        out.pop("entity", None)
    return out


def _codes(concept: Any) -> set[str]:
    if not isinstance(concept, dict):
        return set()
    return {str(c.get("code")) for c in concept.get("coding") or [] if isinstance(c, dict)}


def _target_id(reference: str) -> str:
    return reference[len("urn:uuid:"):] if reference.startswith("urn:uuid:") else \
        reference.rsplit("/", 1)[-1]


def _references(value: Any, path: str) -> Iterable[tuple[str, str]]:
    """(FHIRPath, reference) of every Reference inside a resource."""
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str):
            yield path, ref
        for k, v in value.items():
            if isinstance(v, (dict, list)):
                yield from _references(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _references(v, f"{path}[{i}]")


def _targets(resource: dict) -> set[str]:
    return {_target_id(ref) for _, ref in _references(resource, "") if not ref.startswith("#")}


def _unresolved(resources: list[dict]) -> list[Issue]:
    """Warnings for references that point outside the document (every reference must resolve)."""
    known = set()
    for r in resources:
        known.add(f"urn:uuid:{r['id']}")
        known.add(f"{r['resourceType']}/{r['id']}")
    issues = []
    for r in resources:
        for path, ref in _references(r, r["resourceType"]):
            if ref.startswith("#") or ref in known:
                continue
            issues.append(Issue("warning", "unresolved-reference",
                                f"reference {ref!r} does not resolve inside the IPS document",
                                Location(source=f"{r['resourceType']}/{r['id']}", expression=path)))
    return issues


# -- sections --------------------------------------------------------------------------------------

def _ordered(items: list[dict]) -> list[dict]:
    """Newest first; undated items last; ties keep the order given."""
    return sorted(items, key=lambda r: instant_key(raw_date(r)), reverse=True)


def _rows(items: list[dict], by_url: dict[str, dict]) -> list[tuple[int, list[str]]]:
    """Narrative rows: each item, then the results or members it groups, one level deeper."""
    out: list[tuple[int, list[str]]] = []

    def resolve(reference: Any) -> dict | None:
        return by_url.get(reference.get("reference")) if isinstance(reference, dict) else None

    def add(r: dict, depth: int, seen: frozenset[str]) -> None:
        out.append((depth, cells(r, resolve)))
        if r["resourceType"] in ("DiagnosticReport", "Observation"):
            for m in members(by_url, r):
                if m["id"] not in seen:
                    add(m, depth + 1, seen | {m["id"]})

    for r in items:
        add(r, 0, frozenset({r["id"]}))
    return out


def _section(sdef: SectionDef, placed: Placed, by_url: dict[str, dict],
             issues: list[Issue]) -> dict:
    """One Composition.section: title, code, generated narrative, entries or emptyReason."""
    section: dict[str, Any] = {
        "title": sdef.title,
        "code": {"coding": [{"system": LOINC, "code": sdef.code, "display": sdef.display}]},
    }
    entries = _ordered(placed.entries)
    shown = _ordered(placed.entries + placed.listed)
    section["text"] = table(_rows(shown, by_url)) if shown else paragraph(sdef.empty_text)
    if entries:
        section["entry"] = [{"reference": f"urn:uuid:{r['id']}"} for r in entries]
    elif sdef.required:
        section["emptyReason"] = {
            "coding": [{"system": LIST_EMPTY_REASON, "code": "unavailable",
                        "display": "Unavailable"}],
            "text": labels()["empty_reason"]}
    absent = [r for r in entries if states_absence(r)]
    present = [r for r in entries
               if not states_absence(r) and r["resourceType"] != "DocumentReference"]
    if absent and present:
        issues.append(Issue(
            "warning", "absence-conflict",
            f"section {sdef.title}: a source states absence "
            f"({cells(absent[0], lambda _ref: None)[1]}) "
            f"while {len(present)} other entr{'y' if len(present) == 1 else 'ies'} list something: "
            "both are kept; check which is current",
            Location(source=f"{absent[0]['resourceType']}/{absent[0]['id']}",
                     expression=f"Composition.section.where(code.coding.code = '{sdef.code}')")))
    return section


# -- Composition and its author --------------------------------------------------------------------

def _author(version: str) -> dict:
    """The Device that assembled the document (IPS: a software-assembled summary)."""
    device: dict[str, Any] = {
        "resourceType": "Device",
        "id": resource_id("Device", "medbundle", version),
        "deviceName": [{"name": "medbundle", "type": "model-name"}],
    }
    if version:
        device["version"] = [{"value": version}]
    return device


def _period(resources: list[dict]) -> dict[str, str]:
    dated = [d for d in (raw_date(r) for r in resources
                         if r["resourceType"] not in ("Provenance", "Device")) if d]
    if not dated:
        return {}
    keyed = sorted(dated, key=instant_key)
    return {"start": keyed[0], "end": keyed[-1]}


def _composition(subject: dict, content: list[dict], sections: list[dict], author: dict,
                 timestamp: str, version: str) -> dict:
    pid = subject["id"]
    cid = resource_id("Composition", "ips", pid, timestamp, version,
                      *sorted(r["id"] for r in content))
    name = human_name(subject.get("name"))[0]
    made_by = f"medbundle {version}".strip()
    summary = [f"{TITLE}: {name}" if name else TITLE]
    if subject.get("birthDate"):
        summary.append(f"Born {subject['birthDate']}")
    summary.append(f"Assembled by {made_by} on {timestamp} from the sources in this Bundle")
    event: dict[str, Any] = {"code": [{"coding": [{"system": ACT_CLASS, "code": "PCPR"}]}]}
    period = _period(content)
    if period:
        event["period"] = period
    subject_ref: dict[str, str] = {"reference": f"urn:uuid:{pid}"}
    if name:
        subject_ref["display"] = name
    return {
        "resourceType": "Composition",
        "id": cid,
        "meta": {"profile": [profile_url("composition")]},
        "text": lines(summary),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{cid}"},
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": "60591-5",
                             "display": "Patient summary Document"}]},
        "subject": subject_ref,
        "date": timestamp,
        "author": [{"reference": f"urn:uuid:{author['id']}", "display": made_by}],
        "title": TITLE,
        "event": [event],
        "section": sections,
    }

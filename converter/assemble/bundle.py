"""Fragments -> one Bundle per patient: match patients across sources, merge each person's
records, de-duplicate facts stated twice, order the history, wrap it as the Bundle type asked."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable
from urllib.parse import quote

from .. import __version__
from ..fhir.datatypes import absent
from ..fhir.ids import resource_id
from ..fragment import Fragment
from ..issues import Issue, Location
from . import dedup
from .chronology import clinical_date, sort_key
from .merge import MERGED_TYPES, exact_form, merge
from .patients import match

BUNDLE_TYPES = ("collection", "transaction", "document")
# Resources that frame the history come before it, in this order; the rest follow by date.
LEADING = {"Patient": 0, "RelatedPerson": 1, "Coverage": 2}
TRAILING = {"Practitioner": 1, "PractitionerRole": 2, "Organization": 3, "Location": 4,
            "Device": 5, "Medication": 6, "MessageHeader": 7, "Provenance": 8}
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"


@dataclass
class PatientGroup:
    """Everything gathered for one person (key "" when no source named a patient)."""

    key: str
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    origin: dict[str, str] = field(default_factory=dict)  # resource id -> first source
    merged_patients: list[tuple[str, str]] = field(default_factory=list)  # (patient id, source)
    # resource id -> (the record kept, the exact_form of every record it holds), for those
    # merged (see `add`)
    _forms: dict[str, tuple[dict[str, Any], set[bytes]]] = field(default_factory=dict, init=False,
                                                                  repr=False)

    def add(self, resource: dict[str, Any], source: str) -> None:
        rid = resource["id"]
        old = self.resources.get(rid)
        self.origin.setdefault(rid, source)
        if old is None:
            self.resources[rid] = resource
        elif resource["resourceType"] in MERGED_TYPES:
            # Most often the record is sent again as it was, or as an earlier message sent it
            # (every message repeats its sender's Practitioner, Organization and Location; a
            # Patient comes as each of the systems in a stream knows it). merge() only adds (keys,
            # list items, and to items of one identifier), so a record of a form already merged
            # into the record kept has nothing left to add: its form tells so at once, and the
            # record kept is not merged again at every message of the stream.
            kept = self._forms.get(rid)
            if kept is None or kept[0] is not old:
                kept = self._forms[rid] = (old, {exact_form(old)})
            form = exact_form(resource)
            if form not in kept[1]:
                merged = self.resources[rid] = merge(old, resource)
                kept[1].add(form)
                self._forms[rid] = (merged, kept[1])
        else:
            # The same clinical fact sent again (a corrected result, an A08 update): the later
            # message wins, and both messages' Provenance still points at it.
            self.resources[rid] = resource

    def add_all(self, resources: list[dict[str, Any]], source: str) -> None:
        """`add` each of a fragment's resources, in order."""
        if not self.resources and not self.origin:
            # The group's first fragment (a one-message call has no other): when no id comes
            # twice, each add() would only store the resource under its id, from this source.
            by_id = {r["id"]: r for r in resources}
            if len(by_id) == len(resources):
                self.resources = by_id
                self.origin = dict.fromkeys(by_id, source)
                return
        for r in resources:
            self.add(r, source)


def group_fragments(fragments: Iterable[Fragment]) -> tuple[list[PatientGroup], list[Issue]]:
    """Fragments grouped by person (patient matching across sources), in order of appearance."""
    frags = _separate_contradicting_patients(
        [f for f in fragments if not f.unusable and f.resources])
    patients = [(r, f.source) for f in frags for r in f.resources
                if r["resourceType"] == "Patient" and r.get("active") is not False]
    if len(patients) > 1:
        _, owner, issues = match(patients)
    else:  # one Patient record (most messages): nobody to match it with, it is its own person
        owner, issues = {r["id"]: r["id"] for r, _ in patients}, []
    groups: dict[str, PatientGroup] = {}
    listed: set[tuple[str, str]] = set()  # (group key, source) already in group.sources
    for frag in frags:
        pids = [r["id"] for r in frag.resources if r["resourceType"] == "Patient"]
        first = pids[0] if pids else ""
        key = owner.get(first, first)
        group = groups.get(key)
        if group is None:
            group = groups[key] = PatientGroup(key)
        if (key, frag.source) not in listed:
            listed.add((key, frag.source))
            group.sources.append(frag.source)
        renamed = {pid: owner[pid] for pid in pids if owner.get(pid, pid) != pid}
        if renamed:
            for r in frag.resources:
                if r["resourceType"] == "Patient" and r["id"] in renamed:
                    group.merged_patients.append((r["id"], frag.source))
                    r = {**r, "id": renamed[r["id"]]}
                group.add(dedup.rewrite_references(r, renamed), frag.source)
            continue
        group.add_all(frag.resources, frag.source)
    return list(groups.values()), issues


def _separate_contradicting_patients(frags: list[Fragment]) -> list[Fragment]:
    """Readers key Patient ids on identifiers, so two records with one identifier but different
    birth dates or sexes arrive with the same id. Give the later one an id of its own, so that
    matching sees the contradiction (and reports it) instead of a silent merge."""
    seen: dict[str, tuple[str, str]] = {}
    out = []
    for frag in frags:
        renamed = {}
        for r in frag.resources:
            if r["resourceType"] != "Patient":
                continue
            facts = (r.get("birthDate", ""), r.get("gender", ""))
            first = seen.setdefault(r["id"], facts)
            if first != facts and (first[0] and facts[0] and first[0] != facts[0] or
                                   first[1] and facts[1] and first[1] != facts[1]
                                   and "unknown" not in (first[1], facts[1])):
                renamed[r["id"]] = resource_id("Patient", r["id"], frag.source, frag.index)
        if renamed:
            frag = Fragment(frag.source, frag.format, frag.kind, frag.index,
                            [dedup.rewrite_references({**r, "id": renamed.get(r["id"], r["id"])},
                                                      renamed) for r in frag.resources],
                            frag.issues, frag.unusable)
        out.append(frag)
    return out


def deduplicate(group: PatientGroup, stamp: str | None) -> list[Issue]:
    """Fold facts that several sources state into one resource each; record what was merged."""
    # Only across sources: two equal results in one message are the sender's to explain. So a
    # group read from one source (one message, or one stream of messages) has nothing to fold,
    # and its keys need not be computed at all.
    if len(group.sources) == 1 and not group.merged_patients:
        return []
    resources = list(group.resources.values())
    found = dedup.duplicates(resources) if len(group.sources) > 1 else {}
    replaced = dedup.chains({old: new for old, new in found.items()
                             if group.origin.get(old) != group.origin.get(new)})
    issues: list[Issue] = []
    if not replaced and not group.merged_patients:
        return issues
    kept = dedup.apply(resources, replaced)
    entities = [{"role": "source", "what": {"display": f"Patient {pid} from {source}"}}
                for pid, source in group.merged_patients]
    for old, new in sorted(replaced.items()):
        rtype = group.resources[old]["resourceType"]
        entities.append({"role": "source", "what": {
            "display": f"{rtype} from {group.origin.get(old, '?')} merged into {rtype} {new} "
                       f"from {group.origin.get(new, '?')}"}})
        issues.append(Issue("information", "merged-duplicate",
                            f"{rtype} stated by {group.origin.get(old, '?')} and "
                            f"{group.origin.get(new, '?')}: kept once",
                            Location(source=group.origin.get(old, ""),
                                     expression=f"{rtype}/{new}")))
    targets = sorted({new for new in replaced.values()} |
                     ({group.key} if group.merged_patients else set()))
    group.resources = {r["id"]: r for r in kept}
    provenance: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": resource_id("Provenance", "merge", group.key, *sorted(replaced.items())),
        "target": [{"reference": f"urn:uuid:{t}"} for t in targets],
        "activity": {"coding": [{"system": DATA_OPERATION, "code": "UPDATE",
                                 "display": "revise"}],
                     "text": "merged the records of one person, and facts stated by several "
                             "sources"},
        "agent": [{"type": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
            "code": "assembler", "display": "Assembler"}]},
            "who": {"display": f"medbundle {__version__}"}}],
        "entity": entities,
    }
    if stamp:
        provenance["recorded"] = stamp
    else:
        provenance["_recorded"] = absent("unknown")  # no wall clock unless pinned
    group.resources[provenance["id"]] = provenance
    group.origin[provenance["id"]] = "medbundle"
    return issues


# The sort keys of the leading and trailing types, made once (most resources of a message are one)
_FIXED_KEYS = {**{rtype: (0, n, "", "") for rtype, n in LEADING.items()},
               **{rtype: (2, n, "", "") for rtype, n in TRAILING.items()}}


def _order_key(resource: dict[str, Any]) -> tuple:
    rtype = resource["resourceType"]
    fixed = _FIXED_KEYS.get(rtype)
    if fixed is not None:
        return fixed
    date = clinical_date(resource)
    return (1, 0 if date else 1, sort_key(date), rtype)


def timestamp(pinned: str | None = None) -> str | None:
    """Bundle.timestamp: `pinned`, else SOURCE_DATE_EPOCH, else None (reproducible output)."""
    if pinned:
        return pinned
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return None
    try:
        return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        return None


def _request(resource: dict[str, Any]) -> dict[str, str]:
    """A conditional update keyed on the first business identifier, else an update by id.

    Either way, loading the same history twice updates instead of duplicating.
    """
    rtype = resource["resourceType"]
    for ident in resource.get("identifier") or []:
        system, value = ident.get("system"), ident.get("value")
        if system and value:
            return {"method": "PUT",
                    "url": f"{rtype}?identifier={quote(system, safe=':/')}|{quote(value, safe='')}"}
    return {"method": "PUT", "url": f"{rtype}/{resource['id']}"}


def build_bundle(group: PatientGroup, bundle_type: str = "collection",
                 stamp: str | None = None) -> dict[str, Any]:
    """The collection or transaction Bundle dict for one patient group."""
    resources = sorted(group.resources.values(), key=_order_key)
    entries: list[dict[str, Any]] = [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r}
                                     for r in resources]
    if bundle_type == "transaction":
        for entry in entries:
            entry["request"] = _request(entry["resource"])
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": resource_id("Bundle", bundle_type, group.key, *sorted(group.resources)),
        "type": bundle_type,
    }
    if stamp:
        bundle["timestamp"] = stamp
    if entries:
        bundle["entry"] = entries
    return bundle


def assemble(fragments: Iterable[Fragment], bundle_type: str = "collection",
             pinned_time: str | None = None
             ) -> tuple[list[tuple[PatientGroup, dict[str, Any]]], list[Issue]]:
    """One (group, Bundle) per person, in order of first appearance, and the assembly's issues."""
    if bundle_type not in BUNDLE_TYPES:
        raise ValueError(f"bundle type must be one of {BUNDLE_TYPES}, not {bundle_type!r}")
    stamp = timestamp(pinned_time)
    groups, issues = group_fragments(fragments)
    out = []
    for group in groups:
        issues.extend(deduplicate(group, stamp))
        if bundle_type == "document":
            from .ips import document

            doc_stamp = stamp or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            patient = group.resources.get(group.key)
            if patient is None:
                issues.append(Issue("error", "no-patient", "an IPS document needs a patient; "
                                    "these sources name none", Location(
                                        source=", ".join(group.sources))))
                out.append((group, build_bundle(group, "collection", stamp)))
                continue
            resources = sorted(group.resources.values(), key=_order_key)
            bundle, doc_issues = document(resources, patient, doc_stamp, __version__)
            issues.extend(doc_issues)
            out.append((group, bundle))
        else:
            out.append((group, build_bundle(group, bundle_type, stamp)))
    return out, issues

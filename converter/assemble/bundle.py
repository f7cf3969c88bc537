"""Fragments -> one Bundle per patient: group, merge same-id resources, order, wrap, add requests."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable
from urllib.parse import quote

from ..fhir.ids import resource_id
from ..fragment import Fragment
from .chronology import clinical_date
from .merge import MERGED_TYPES, merge

BUNDLE_TYPES = ("collection", "transaction")
# Resources that frame the history come before it, in this order; the rest follow by date.
LEADING = {"Patient": 0, "RelatedPerson": 1, "Coverage": 2}
TRAILING = {"Practitioner": 1, "PractitionerRole": 2, "Organization": 3, "Location": 4,
            "Device": 5, "Medication": 6, "MessageHeader": 7, "Provenance": 8}


@dataclass
class PatientGroup:
    """Everything gathered for one patient (key "" when no source named a patient)."""

    key: str
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def add(self, resource: dict[str, Any]) -> None:
        rid = resource["id"]
        old = self.resources.get(rid)
        if old is None:
            self.resources[rid] = resource
        elif resource["resourceType"] in MERGED_TYPES:
            self.resources[rid] = merge(old, resource)
        else:
            # The same clinical fact sent again (a corrected result, an A08 update): the later
            # message wins, and both messages' Provenance still points at it.
            self.resources[rid] = resource


def group_fragments(fragments: Iterable[Fragment]) -> list[PatientGroup]:
    """Fragments grouped by the id of their first Patient, in order of first appearance."""
    groups: dict[str, PatientGroup] = {}
    for frag in fragments:
        if frag.unusable or not frag.resources:
            continue
        key = next((r["id"] for r in frag.resources if r["resourceType"] == "Patient"), "")
        group = groups.get(key)
        if group is None:
            group = groups[key] = PatientGroup(key)
        if frag.source not in group.sources:
            group.sources.append(frag.source)
        for r in frag.resources:
            group.add(r)
    return list(groups.values())


def _order_key(resource: dict[str, Any]) -> tuple:
    rtype = resource["resourceType"]
    if rtype in LEADING:
        return (0, LEADING[rtype], "", "")
    if rtype in TRAILING:
        return (2, TRAILING[rtype], "", "")
    date = clinical_date(resource)
    return (1, 0 if date else 1, date, rtype)


def timestamp() -> str | None:
    """Bundle.timestamp: pinned by SOURCE_DATE_EPOCH; otherwise left out so output is reproducible."""
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


def build_bundle(group: PatientGroup, bundle_type: str = "collection") -> dict[str, Any]:
    """The Bundle dict for one patient group."""
    resources = sorted(group.resources.values(), key=_order_key)
    entries = []
    for r in resources:
        entry: dict[str, Any] = {"fullUrl": f"urn:uuid:{r['id']}", "resource": r}
        if bundle_type == "transaction":
            entry["request"] = _request(r)
        entries.append(entry)
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": resource_id("Bundle", bundle_type, group.key, *sorted(group.resources)),
        "type": bundle_type,
    }
    ts = timestamp()
    if ts:
        bundle["timestamp"] = ts
    if entries:
        bundle["entry"] = entries
    return bundle


def assemble(fragments: Iterable[Fragment], bundle_type: str = "collection"
             ) -> list[tuple[PatientGroup, dict[str, Any]]]:
    """One (group, Bundle) per patient, in order of the patient's first appearance."""
    if bundle_type not in BUNDLE_TYPES:
        raise ValueError(f"bundle type must be one of {BUNDLE_TYPES}, not {bundle_type!r}")
    return [(g, build_bundle(g, bundle_type)) for g in group_fragments(fragments)]

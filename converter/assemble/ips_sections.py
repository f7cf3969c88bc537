"""Which IPS section each resource belongs to, read from `mappings/ips/section-entries.csv`.

The first row that matches a resource decides: its section and its role there. `entry` makes it a
`section.entry`; `narrative` lists it in the section's narrative only (its type is not allowed as
an entry of that section, e.g. ImagingStudy in Results); `latest` makes the newest resource with
the same code an entry and lists the older ones (the section allows one entry per such code, e.g.
the tobacco-use slice of Social History); `skip` keeps the resource out of every section.

Observations grouped under a DiagnosticReport (`result`) or a panel (`hasMember`) that is itself
in a section are not entries of their own: they are reached through the group, and the narrative
lists them under it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..vocabulary import rows
from .ips_conform import codings, matches, profile_key

SECTIONS = "ips/sections.csv"
ENTRIES = "ips/section-entries.csv"
KNOWN_ABSENT = "ips/known-absent.csv"


@dataclass(frozen=True)
class SectionDef:
    """One IPS section as `mappings/ips/sections.csv` describes it."""

    code: str
    display: str
    title: str
    required: bool
    empty_text: str


@dataclass
class Placed:
    """What one section holds: entries, narrative-only items, and members listed under a group."""

    entries: list[dict] = field(default_factory=list)
    listed: list[dict] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.entries or self.listed)


@lru_cache(maxsize=1)
def section_defs() -> tuple[SectionDef, ...]:
    """Every section medbundle can write, in document order."""
    return tuple(SectionDef(r["code"], r["display"], r["title"], r["required"] == "yes",
                            r["empty_text"] or "No information available.")
                 for r in rows(SECTIONS))


@lru_cache(maxsize=1)
def known_absent() -> dict[str, dict[str, str]]:
    """SNOMED CT "no known ..." codes -> their row (section, display)."""
    return {r["code"]: r for r in rows(KNOWN_ABSENT)}


def states_absence(resource: dict) -> bool:
    """True when the resource is a "no known ..." statement (its code is one of the IPS codes)."""
    concept = resource.get("code") or resource.get("medicationCodeableConcept")
    table = known_absent()
    return any(c.split("|", 1)[1] in table for c in codings(concept)
               if c.startswith("http://snomed.info/sct|"))


def _tokens(value: Any) -> set[str]:
    """The codes an element holds, as text: a code, a boolean, or a CodeableConcept's codes."""
    if isinstance(value, bool):
        return {"true" if value else "false"}
    if isinstance(value, (str, int)):
        return {str(value)}
    if isinstance(value, dict):
        return {str(c["code"]) for c in value.get("coding") or []
                if isinstance(c, dict) and c.get("code")}
    if isinstance(value, list):
        out: set[str] = set()
        for v in value:
            out |= _tokens(v)
        return out
    return set()


def rule_for(resource: dict) -> tuple[str, str] | None:
    """(section code, role) of the first rule matching `resource`, or None."""
    for row in rows(ENTRIES):
        if not matches(resource, row["resource_type"], row["category"], row["codes"]):
            continue
        wanted = set(row["values"].split())
        if row["element"] and not _tokens(resource.get(row["element"])) & wanted:
            continue
        return row["section"], row["role"]
    return None


def _document_section(resource: dict, codes: set[str]) -> str | None:
    """The section a DocumentReference belongs to: the one its LOINC type names."""
    for c in codings(resource.get("type")):
        system, _, code = c.partition("|")
        if system == "http://loinc.org" and code in codes:
            return code
    return None


def _grouped(resources: list[dict]) -> dict[str, str]:
    """Member id -> id of the DiagnosticReport or panel Observation that groups it."""
    out: dict[str, str] = {}
    for r in resources:
        links = (r.get("result") if r["resourceType"] == "DiagnosticReport"
                 else r.get("hasMember") if r["resourceType"] == "Observation" else None)
        for link in links or []:
            ref = link.get("reference") if isinstance(link, dict) else None
            if isinstance(ref, str) and ref.startswith("urn:uuid:"):
                out.setdefault(ref[len("urn:uuid:"):], r["id"])
    return out


def place(resources: list[dict], date_of) -> dict[str, Placed]:
    """Section code -> what it holds, for the resources of one patient (in their given order).

    `date_of(resource)` gives a sortable clinical date, used for the `latest` role.
    """
    codes = {s.code for s in section_defs()}
    placed: dict[str, Placed] = {s.code: Placed() for s in section_defs()}
    decided: dict[str, tuple[str, str]] = {}
    for r in resources:
        if r["resourceType"] == "DocumentReference":
            section = _document_section(r, codes)
            rule = (section, "entry") if section else None
        else:
            rule = rule_for(r)
        if rule and rule[1] != "skip" and rule[0] in placed:
            decided[r["id"]] = rule
    groups = _grouped([r for r in resources if r["id"] in decided])
    latest: dict[tuple[str, str], dict] = {}
    for r in resources:
        rule = decided.get(r["id"])
        if rule is None or groups.get(r["id"]) in decided:
            continue
        section, role = rule
        if role == "latest":
            # One entry per IPS slice (tobacco use, alcohol use): the slice is the profile.
            key = (section, profile_key(r) or min(codings(r.get("code")), default=""))
            best = latest.get(key)
            if best is None or date_of(r) > date_of(best):
                latest[key] = r
            continue
        (placed[section].entries if role == "entry" else placed[section].listed).append(r)
    chosen = {id(r) for r in latest.values()}
    for r in resources:
        rule = decided.get(r["id"])
        if rule is None or rule[1] != "latest" or groups.get(r["id"]) in decided:
            continue
        (placed[rule[0]].entries if id(r) in chosen else placed[rule[0]].listed).append(r)
    return placed


def members(by_url: dict[str, dict], group: dict) -> list[dict]:
    """The resources a DiagnosticReport's results or a panel's members point to, in their order.

    `by_url` maps 'urn:uuid:<id>' to the document's resources.
    """
    links = group.get("result" if group["resourceType"] == "DiagnosticReport" else "hasMember")
    out = []
    for link in links or []:
        target = by_url.get(link.get("reference")) if isinstance(link, dict) else None
        if target is not None and target is not group:
            out.append(target)
    return out

"""IPS profiles for the resources of a document, and data-absent-reason for what IPS requires.

Which profile a resource takes (`mappings/ips/profiles.csv`, first matching row) and which of its
elements IPS makes mandatory (`mappings/ips/required-elements.csv`) are data. A missing required
element is filled with the data-absent-reason extension (STANDARDS.md 1.4) on a copy, never on the
caller's dict, and each fill is reported. In that table `names` lists what is written (first) and
the elements that stand in for it; an element `x[x]` is present in any of its types.

A profile is claimed in `meta.profile` only when the resource also meets the profile's fixed rules
that no fill can satisfy (the guards below), so that a validator never finds a resource failing
the profile it claims.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any, Callable

from ..fhir.datatypes import absent
from ..issues import Issue, Location
from ..vocabulary import rows

PROFILES = "ips/profiles.csv"
REQUIRED = "ips/required-elements.csv"
DAR_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
UNKNOWN = {"coding": [{"system": DAR_SYSTEM, "code": "unknown", "display": "Unknown"}]}


def category_codes(resource: dict) -> set[str]:
    """The category codes of a resource (CodeableConcepts, or plain codes: AllergyIntolerance)."""
    cats = resource.get("category")
    if cats is None:
        return set()
    out: set[str] = set()
    for c in cats if isinstance(cats, list) else [cats]:
        if isinstance(c, str):
            out.add(c)
        elif isinstance(c, dict):
            out.update(str(x["code"]) for x in c.get("coding") or []
                       if isinstance(x, dict) and x.get("code"))
    return out


def codings(concept: Any) -> set[str]:
    """"system|code" for every coding of a CodeableConcept."""
    if not isinstance(concept, dict):
        return set()
    return {f"{c.get('system') or ''}|{c['code']}" for c in concept.get("coding") or []
            if isinstance(c, dict) and c.get("code")}


def matches(resource: dict, rtype: str, category: str, codes: str) -> bool:
    """True when `resource` fits a table row: type, category ("-": none) and any of its codes."""
    if resource.get("resourceType") != rtype:
        return False
    if category:
        cats = category_codes(resource)
        if (category == "-" and cats) or (category != "-" and category not in cats):
            return False
    if codes and not codings(resource.get("code")) & set(codes.split()):
        return False
    return True


@lru_cache(maxsize=1)
def _profile_rows() -> tuple[dict[str, str], ...]:
    return rows(PROFILES)


@lru_cache(maxsize=1)
def _required() -> dict[str, tuple[dict[str, str], ...]]:
    out: dict[str, list[dict[str, str]]] = {}
    for row in rows(REQUIRED):
        out.setdefault(row["profile"], []).append(row)
    return {k: tuple(v) for k, v in out.items()}


def profile_key(resource: dict) -> str | None:
    """The key of the IPS profile row `resource` falls under, or None."""
    for row in _profile_rows():
        if matches(resource, row["resource_type"], row["category"], row["codes"]):
            return row["key"]
    return None


def profile_url(key: str) -> str:
    """The canonical URL of the profile row `key`."""
    return next(r["profile"] for r in _profile_rows() if r["key"] == key)


# -- guards: fixed profile rules a fill cannot meet ------------------------------------------------

def _named(r: dict) -> str | None:
    names = [n for n in r.get("name") or [] if isinstance(n, dict)]
    if any(n.get("family") or n.get("given") or n.get("text") for n in names):
        return None
    return "it has no name with a family name, given name or text (ips-pat-1)"


def _dated_only(r: dict) -> str | None:
    other = [k for k in ("effectivePeriod", "effectiveInstant", "effectiveTiming") if k in r]
    return f"the profile allows effectiveDateTime only, not {other[0]}" if other else None


def _no_component(r: dict) -> str | None:
    return "the profile forbids component" if r.get("component") else None


def _day_precise(r: dict) -> str | None:
    when = r.get("effectiveDateTime")
    if isinstance(when, str) and len(when) < 10:
        return f"effectiveDateTime {when!r} is not precise to the day (ips-1 / vs-1)"
    return None


def _date_or_period(r: dict) -> str | None:
    other = [k for k in ("effectiveInstant", "effectiveTiming") if k in r]
    return f"the profile allows a dateTime or Period only, not {other[0]}" if other else None


def _member_or_component(r: dict) -> str | None:
    if r.get("hasMember") and r.get("component"):
        return "hasMember and component are both present (hasMemberOrComponent)"
    return None


def _one_category(r: dict) -> str | None:
    cats = r.get("category")
    if isinstance(cats, list) and len(cats) > 1:
        return f"it has {len(cats)} categories and the profile allows one"
    return None


def _patient_device(r: dict) -> bool:
    patient = r.get("patient")
    return isinstance(patient, dict) and bool(patient.get("reference"))


# Profiles that describe only some resources of their type: Device-uv-ips is a device used by or
# implanted in the patient, not the software that wrote a source document.
APPLIES: dict[str, Callable[[dict], bool]] = {"device": _patient_device}
GUARDS: dict[str, tuple[Callable[[dict], str | None], ...]] = {
    "patient": (_named,),
    "diagnostic-report": (_one_category,),
    "pregnancy-status": (_dated_only, _no_component),
    "pregnancy-edd": (_dated_only,),
    "pregnancy-outcome": (_dated_only,),
    "tobacco-use": (_dated_only, _no_component),
    "alcohol-use": (_dated_only, _no_component),
    "vital-signs": (_date_or_period, _day_precise),
    "lab": (_date_or_period,),
    "radiology": (_date_or_period, _day_precise, _member_or_component),
}


# -- fills -----------------------------------------------------------------------------------------

def _choice_present(resource: dict, stem: str) -> bool:
    """Any type of a choice element (`effective[x]`: effectiveDateTime, _effectiveDateTime...)."""
    for key in resource:
        bare = key[1:] if key.startswith("_") else key
        if bare.startswith(stem) and bare[len(stem):len(stem) + 1].isupper():
            return True
    return False


def _present(resource: dict, element: str, names: list[str]) -> bool:
    """True when the element (any of its choice types) or one of its stand-ins is present."""
    if element.endswith("[x]") and _choice_present(resource, element[:-3]):
        return True
    return any(resource.get(n) not in (None, "", [], {}) or f"_{n}" in resource for n in names)


def _fill(resource: dict, kind: str, names: list[str]) -> str:
    """Write data-absent-reason into `names[0]` (in the form `kind` says) and return that name."""
    name = names[0]
    if kind == "primitive":
        resource[f"_{name}"] = absent("unknown")
        return name
    if kind == "string":
        # The element is required by base R4 too, and a value-less primitive fails the structural
        # models: the text "unknown" with the extension says the same and passes everywhere.
        resource[name] = "unknown"
        resource[f"_{name}"] = absent("unknown")
        return name
    if kind == "concept":
        resource[name] = copy.deepcopy(UNKNOWN)
        return name
    if kind == "concept-list":
        resource[name] = [copy.deepcopy(UNKNOWN)]
        return name
    if kind in ("reference-list", "element-list"):
        resource[name] = [absent("unknown")]  # one element holding only the extension
        return name
    raise ValueError(f"unknown fill kind {kind!r} in {REQUIRED}")


def conform(resource: dict) -> tuple[dict, list[Issue]]:
    """A copy of `resource` with its IPS profile and data-absent-reason fills, plus the issues."""
    key = profile_key(resource)
    if key is None or not APPLIES.get(key, bool)(resource):
        return copy.deepcopy(resource), []
    rtype, rid = resource["resourceType"], resource.get("id", "")
    where = f"{rtype}/{rid}"
    issues: list[Issue] = []
    out = copy.deepcopy(resource)
    for row in _required().get(key, ()):
        names = row["names"].split()
        if _present(out, row["element"], names):
            continue
        written = _fill(out, row["fill"], names)
        issues.append(Issue(
            "information", "data-absent",
            f"IPS requires {rtype}.{row['element']}, which the sources do not give: "
            f"filled with data-absent-reason 'unknown'",
            Location(source=where, expression=f"{rtype}.{written}")))
    blocked = [reason for guard in GUARDS.get(key, ()) if (reason := guard(out))]
    if blocked:
        issues.append(Issue(
            "information", "ips-profile-skipped",
            f"{where} is not tagged with the IPS profile {profile_url(key)}: {blocked[0]}",
            Location(source=where, expression=rtype)))
        return out, issues
    meta = dict(out.get("meta") or {})
    profiles = list(meta.get("profile") or [])
    url = profile_url(key)
    if url not in profiles:
        profiles.append(url)
    meta["profile"] = profiles
    out["meta"] = meta
    return out, issues

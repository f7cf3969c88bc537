"""Vital Signs Organizer (.26) -> a vital-signs panel Observation (85353-1) with hasMember;
Vital Sign Observations (.27) -> Observations, systolic and diastolic pressure as components of one
blood pressure Observation (85354-9), oxygen flow and concentration as pulse-oximetry components."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...fhir.ids import ref
from ...vocabulary import table
from . import entries
from .common import PREFIX, act_status, has_template, observation_category
from .datatypes import effective, identifiers, set_choice
from .nodes import Element, child, related
from .observations import build

if TYPE_CHECKING:
    from .context import Context
    from .entries import Scope

VITAL = PREFIX + "27"
LOINC = "http://loinc.org"
PANEL = {"coding": [{"system": LOINC, "code": "85353-1",
                     "display": "Vital signs, weight, height, head circumference, oxygen "
                                "saturation and BMI panel"}], "text": "Vital signs"}
BLOOD_PRESSURE = {"coding": [{"system": LOINC, "code": "85354-9",
                              "display": "Blood pressure panel with all children optional"}],
                  "text": "Blood pressure"}


def vital_sign(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """A vital sign observation outside an organizer."""
    res = ctx.add(build(el, ctx, scope, "vital-signs"))
    entries.rest(el, ctx, scope, frozenset({PREFIX + "64"}))
    return [res]


def _loinc(obs: dict) -> str | None:
    for c in obs["code"].get("coding", []):
        if c.get("system") == LOINC:
            return c.get("code")
    return None


def organizer(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """Vital Signs Organizer -> panel Observation with hasMember."""
    groups = table("cda/vital-sign-groups.csv")
    built: list[dict] = []
    for _h, st in related(el, "COMP"):
        if has_template(st, VITAL):
            built.append(build(st, ctx, scope, "vital-signs"))
            entries.rest(st, ctx, scope, frozenset({PREFIX + "64"}))
    members = _grouped(built, groups, el, ctx)
    members += [r for r in entries.rest(el, ctx, scope, frozenset({VITAL}))
                if r["resourceType"] == "Observation"]
    panel: dict[str, Any] = {
        "resourceType": "Observation",
        "id": ctx.entry_id("Observation", el),
        "identifier": identifiers(el),
        "status": act_status(el, "observation") or "final",
        "category": observation_category("vital-signs"),
        "code": PANEL,
        "subject": ctx.subject(),
        "encounter": ref(scope.encounter) if scope.encounter else None,
        "hasMember": [ref(m) for m in members],
    }
    if not set_choice(panel, "effective", effective(child(el, "effectiveTime"), ctx)):
        times = sorted(m["effectiveDateTime"] for m in members if m.get("effectiveDateTime"))
        if times:
            panel["effectiveDateTime"] = times[0]
    return [ctx.add(panel)]


def _grouped(built: list[dict], groups: dict, el: Element, ctx: Context) -> list[dict]:
    """Add the observations, folding blood pressure and pulse-oximetry parts into components."""
    by_group: dict[str, dict[str, list[dict]]] = {}
    for obs in built:
        row = groups.get(_loinc(obs) or "")
        if row:
            by_group.setdefault(row["group"], {}).setdefault(row["role"], []).append(obs)
    folded: set[int] = set()
    out: list[dict] = []
    bp = by_group.get("blood-pressure", {}).get("component", [])
    if len(bp) == 2 and _loinc(bp[0]) != _loinc(bp[1]):
        base = {k: v for k, v in bp[0].items() if not k.startswith(("value", "interpretation",
                                                                    "referenceRange",
                                                                    "dataAbsentReason"))}
        base["id"] = ctx.entry_id("Observation", el, "blood-pressure")
        base["code"] = BLOOD_PRESSURE
        base["component"] = [_component(o) for o in bp]
        folded.update(id(o) for o in bp)
        out.append(ctx.add(base))
    ox = by_group.get("pulse-oximetry", {})
    if ox.get("base") and ox.get("component"):
        ox["base"][0]["component"] = [_component(o) for o in ox["component"]]
        folded.update(id(o) for o in ox["component"])
    for obs in built:
        if id(obs) not in folded:
            out.append(ctx.add(obs))
    return out


def _component(obs: dict) -> dict:
    comp = {k: v for k, v in obs.items() if k == "code" or k.startswith("value")
            or k in ("dataAbsentReason", "interpretation", "referenceRange")}
    return comp

"""Result Organizer (.1) -> DiagnosticReport with one Observation per Result Observation (.2)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...fhir.ids import ref
from . import entries
from .common import PREFIX, act_status, has_template
from .datatypes import concept_or_absent, effective, identifiers, set_choice
from .nodes import Element, child, related
from .observations import build
from .participants import authorship, performers

if TYPE_CHECKING:
    from .context import Context
    from .entries import Scope

RESULT = PREFIX + "2"
CONSUMED = frozenset({RESULT})
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"


def result(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """A Result Observation outside an organizer -> Observation."""
    res = ctx.add(build(el, ctx, scope, scope.category or "laboratory"))
    entries.rest(el, ctx, scope, frozenset({PREFIX + "64"}))
    return [res]


def organizer(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """Result Organizer -> DiagnosticReport whose result lists its Observations."""
    observations = []
    for _h, st in related(el, "COMP"):
        if has_template(st, RESULT):
            observations.append(ctx.add(build(st, ctx, scope, "laboratory")))
            entries.rest(st, ctx, scope, frozenset({PREFIX + "64"}))
    others = entries.rest(el, ctx, scope, CONSUMED)
    _recorded, recorder = authorship(el, ctx)
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": ctx.entry_id("DiagnosticReport", el),
        "identifier": identifiers(el),
        "status": act_status(el, "report") or "final",
        "category": [{"coding": [{"system": V2_0074, "code": "LAB", "display": "Laboratory"}]}],
        "code": concept_or_absent(child(el, "code"), ctx),
        "subject": ctx.subject(),
        "encounter": ref(scope.encounter) if scope.encounter else None,
        "performer": performers(el, ctx) or ([recorder] if recorder else []),
        "result": [ref(o) for o in observations + others if o["resourceType"] == "Observation"],
    }
    if not set_choice(report, "effective", effective(child(el, "effectiveTime"), ctx)):
        set_choice(report, "effective", _span(observations))
    return [ctx.add(report)]


def _span(observations: list[dict]) -> tuple[str, Any] | None:
    """The period the observations cover when the organizer gives no time."""
    times = sorted(t for o in observations for t in (
        o.get("effectiveDateTime"), (o.get("effectivePeriod") or {}).get("start"),
        (o.get("effectivePeriod") or {}).get("end")) if t)
    if not times:
        return None
    if times[0] == times[-1]:
        return ("DateTime", times[0])
    return ("Period", {"start": times[0], "end": times[-1]})

"""Entry dispatch: each clinical statement goes to the mapper its templateId names
(mappings/cda/entry-templates.csv); an unknown one is reported with its XPath and its nested
statements are still looked at, so that a known entry inside an unknown wrapper is not lost."""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Callable

from ...vocabulary import table
from .nodes import Element, related, templates

if TYPE_CHECKING:
    from .context import Context

Handler = Callable[[Element, "Context", "Scope"], list[dict]]


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a statement sits: its section's kind and default category, and an encounter."""

    section_kind: str = ""
    category: str = ""
    encounter: dict | None = None

    def with_category(self, category: str) -> Scope:
        return replace(self, category=category) if category else self


@lru_cache(maxsize=1)
def handlers() -> dict[str, Handler]:
    """Mapper functions by the handler names used in entry-templates.csv."""
    from . import (allergies, devices, directives, encounters, family, immunizations,
                   medications, notes, observations, payers, plans, problems, procedures, results,
                   vitals)
    return {
        "problem-concern": problems.concern,
        "health-concern": problems.concern,
        "problem": problems.problem,
        "allergy-concern": allergies.concern,
        "allergy": allergies.allergy,
        "medication": medications.medication,
        "planned-medication": medications.planned,
        "planned-immunization": immunizations.planned,
        "result-organizer": results.organizer,
        "result": results.result,
        "vitals-organizer": vitals.organizer,
        "vital-sign": vitals.vital_sign,
        "procedure": procedures.procedure,
        "immunization": immunizations.immunization,
        "encounter": encounters.encounter,
        "observation": observations.observation,
        "family-history": family.family_history,
        "planned": plans.planned,
        "goal": plans.goal,
        "device-use": devices.device_use,
        "advance-directive": directives.advance_directive,
        "note": notes.note,
        "policy": payers.policy,
        "wrapper": wrapper,
    }


def template_row(el: Element) -> dict[str, str] | None:
    """The entry-templates.csv row of the first known templateId of a statement."""
    known = table("cda/entry-templates.csv", "root")
    for root in templates(el):
        row = known.get(root)
        if row:
            return row
    return None


def dispatch(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """Map one clinical statement; returns the main resources it produced."""
    row = template_row(el)
    if row is None:
        ctx.unmapped(el, "entry")
        return wrapper(el, ctx, scope)
    return handlers()[row["handler"]](el, ctx, scope.with_category(row["category"]))


def wrapper(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """A statement that only groups others (organizers, Discharge Medication...): map its parts."""
    out: list[dict] = []
    for _holder, st in related(el):
        out += dispatch(st, ctx, scope)
    return out


def rest(el: Element, ctx: Context, scope: Scope, consumed: frozenset[str]) -> list[dict]:
    """Dispatch the nested statements that a mapper did not consume itself."""
    out: list[dict] = []
    for _holder, st in related(el):
        if consumed.intersection(templates(st)):
            continue
        out += dispatch(st, ctx, scope)
    return out

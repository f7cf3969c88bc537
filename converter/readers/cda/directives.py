"""Advance Directive Observation (.48) -> Consent (scope adr), the directive type as category."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import entries
from .common import PREFIX, act_status, entry_text
from .datatypes import concept, identifiers, period
from .nodes import Element, child, path
from .participants import authorship

if TYPE_CHECKING:
    from .context import Context
    from .entries import Scope

SCOPE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                     "code": "adr", "display": "Advanced Care Directive"}]}
CATEGORY = {"coding": [{"system": "http://loinc.org", "code": "42348-3",
                        "display": "Advance directives"}]}


def advance_directive(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """Advance Directive Observation -> Consent."""
    recorded, _recorder = authorship(el, ctx)
    kind = concept(child(el, "code"), ctx)
    detail = concept(child(el, "value"), ctx)
    reference = path(el, "reference", "externalDocument", "text", "reference")
    res: dict[str, Any] = {
        "resourceType": "Consent",
        "id": ctx.entry_id("Consent", el),
        "identifier": identifiers(el),
        "status": act_status(el, "consent") or "active",
        "scope": SCOPE,
        "category": [c for c in (CATEGORY, kind, detail) if c],
        "patient": ctx.subject(),
        "dateTime": recorded,
        "policyRule": detail or kind,
        "provision": {"period": period(child(el, "effectiveTime"), ctx)},
    }
    if reference is not None and reference.get("value"):
        res["sourceAttachment"] = {"url": reference.get("value"),
                                   "title": entry_text(el, ctx)}
    elif entry_text(el, ctx):
        res["sourceAttachment"] = {"title": entry_text(el, ctx)}
    out = [ctx.add(res)]
    entries.rest(el, ctx, scope, frozenset({PREFIX + "64"}))
    return out

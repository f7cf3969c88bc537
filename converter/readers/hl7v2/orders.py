"""ORC and OBR -> ServiceRequest and DiagnosticReport (V2-to-FHIR ORC[ServiceRequest],
OBR[ServiceRequest], OBR[DiagnosticReport], ORC[DiagnosticReport])."""
from __future__ import annotations

from ...fhir.datatypes import coding
from ...fhir.ids import ref, resource_id
from .context import Context
from .datatypes import V2_TABLE, business_key, clone, compact, ei, fixed_coding, mapped
from .message import Segment

DIAGNOSTIC_SERVICE = V2_TABLE.format("0074")
ORDER_NUMBER_TYPES = ((2, "PLAC", "Placer Identifier"), (3, "FILL", "Filler Identifier"))


def order_identifiers(obr: Segment | None, orc: Segment | None) -> list[dict]:
    """Placer (OBR-2 / ORC-2) and filler (OBR-3 / ORC-3) order numbers, typed PLAC / FILL."""
    out = []
    for n, type_code, type_display in ORDER_NUMBER_TYPES:
        ident = None
        for seg in (obr, orc):
            if seg is not None and seg.value(n):
                ident = ei(seg.rep(n))
                if seg is obr and orc is not None:
                    orc.touch(n)
                break
        if ident:
            ident["type"] = {"coding": [fixed_coding(V2_TABLE.format("0203"), type_code,
                                                     type_display)]}
            out.append(ident)
    return out


def order_key(ids: list[dict], ctx: Context, seg: Segment) -> str:
    """The business key of an order: its filler number, else its placer number, else position."""
    return business_key(ids, prefer_last=True) or f"{ctx.key}|{seg.name}|{seg.position}"


def service_request(seg: Segment, ctx: Context, orc: Segment | None, ids: list[dict]) -> dict:
    """OBR (with its ORC) -> ServiceRequest."""
    status = None
    intent = "order"
    if orc is not None:
        status = mapped("0038-order-status", orc.value(5)) or mapped("0119-order-control",
                                                                      orc.value(1))
        orc.touch(1, 5)
    requester = None
    for s, n in ((orc, 12), (seg, 16)):
        if s is not None and s.value(n, 1) + s.value(n, 2):
            requester = requester or ctx.practitioner(s.rep(n))
            s.touch(n)
    sr = {
        "resourceType": "ServiceRequest",
        "id": resource_id("ServiceRequest", order_key(ids, ctx, seg)),
        "identifier": ids,
        "status": status if status in ("draft", "active", "on-hold", "revoked", "completed",
                                       "entered-in-error", "unknown") else "unknown",
        "intent": intent,
        "priority": _priority(seg),
        "code": ctx.code(seg, 4),
        "subject": ctx.subject(),
        "encounter": ctx.context_encounter(),
        "occurrenceDateTime": ctx.dt(seg, 6) if seg.name == "OBR" else None,
        "authoredOn": ctx.dt(orc, 9) if orc is not None and orc.value(9) else None,
        "requester": requester,
        "reasonCode": ctx.codes(seg, 31),
    }
    return ctx.add(sr, seg)


def _priority(seg: Segment) -> str | None:
    p = seg.value(5).upper() if seg.name == "OBR" else ""
    return {"S": "stat", "A": "asap", "R": "routine", "P": "urgent"}.get(p)


def diagnostic_report(seg: Segment, ctx: Context, ids: list[dict], sr: dict) -> dict:
    """OBR -> DiagnosticReport: code, effective (OBR-7/8), issued (OBR-22), category (OBR-24),
    status (OBR-25), interpreter (OBR-32). `ids` are the order's, which its ServiceRequest holds:
    the report gets copies."""
    status_code = seg.value(25).upper()
    status = mapped("0123-report-status", status_code)
    if status_code and status is None:
        ctx.issue("warning", "unknown-code",
                  f"result status {status_code!r} has no FHIR equivalent; status 'unknown'",
                  seg, 25)
    start, end = ctx.dt(seg, 7), ctx.dt(seg, 8)
    category = seg.value(24)
    interpreters = [x for x in (ctx.practitioner(_ndl_as_xcn(r)) for r in seg.reps(32)) if x]
    report = {
        "resourceType": "DiagnosticReport",
        "id": resource_id("DiagnosticReport", order_key(ids, ctx, seg)),
        "identifier": clone(ids),
        "basedOn": [ref(sr)],
        "status": status or "unknown",
        "category": [{"coding": [coding(DIAGNOSTIC_SERVICE, category)]}] if category else None,
        "code": ctx.code(seg, 4) or {"text": "unknown"},
        "subject": ctx.subject(),
        "encounter": ctx.context_encounter(),
        "effectiveDateTime": start if not end else None,
        "effectivePeriod": compact({"start": start, "end": end}) if end else None,
        "issued": _instant(ctx.dt(seg, 22)),
        "resultsInterpreter": interpreters,
    }
    seg.touch(24, 25)
    return ctx.add(report, seg)


def _ndl_as_xcn(rep: list) -> list:
    """OBR-32 is NDL (name^start^end^...), whose first component is a CNN with subcomponents."""
    return [[x] for x in rep[0]] if rep else []


def _instant(value: str | None) -> str | None:
    """`issued` is an instant: only a full time with an offset qualifies."""
    return value if value and "T" in value else None

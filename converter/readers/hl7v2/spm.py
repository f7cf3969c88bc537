"""SPM -> Specimen (V2-to-FHIR SPM[Specimen])."""
from __future__ import annotations

from ...fhir.ids import ref, resource_id
from .context import Context
from .datatypes import business_key, c, compact, cwe, cx, ei, mapped, sub
from .message import Segment


def map_spm(seg: Segment, ctx: Context, report: dict | None, request: dict | None) -> dict:
    """SPM -> Specimen: identifiers (SPM-2 EIP, SPM-31), accession (SPM-30), type (SPM-4),
    collection method/site/time (SPM-7, SPM-8, SPM-17), description (SPM-14) as notes, received
    time (SPM-18), availability (SPM-20) as status, condition (SPM-24)."""
    seg.touch(1)
    eip = seg.rep(2)
    ids = [x for x in (ei(sub(eip, 1)), ei(sub(eip, 2))) if x]
    ids += [x for x in (cx(r) for r in seg.reps(31)) if x and x not in ids]
    accession = next((x for x in (cx(r) for r in seg.reps(30)) if x), None)
    availability = seg.value(20)
    status = mapped("0136-specimen-availability", availability)
    if availability and status is None:
        ctx.issue("warning", "unknown-code", f"specimen availability {availability!r} is neither "
                  "Y nor N: not mapped", seg, 20)
    collected = seg.rep(17)
    start = ctx.dt(seg, 17, 1, value=c(collected, 1))
    end = ctx.dt(seg, 17, 2, value=c(collected, 2)) if c(collected, 2) else None
    key = business_key(ids) or \
        f"{ctx.key}|SPM|{seg.position}"
    specimen = ctx.add({
        "resourceType": "Specimen",
        "id": resource_id("Specimen", key),
        "identifier": ids,
        "accessionIdentifier": accession,
        "status": status,
        "type": ctx.code(seg, 4),
        "subject": ctx.subject(),
        "request": [ref(request)] if request else None,
        "receivedTime": ctx.dt(seg, 18),
        "collection": compact({
            "method": ctx.code(seg, 7),
            "bodySite": ctx.code(seg, 8),
            "collectedDateTime": start if not end else None,
            "collectedPeriod": compact({"start": start, "end": end}) if end else None,
        }),
        "condition": [x for x in (cwe(r) for r in seg.reps(24)) if x],
        "note": [{"text": text} for text in (c(r, 1) for r in seg.reps(14)) if text],
    }, seg)
    if report is not None:
        report.setdefault("specimen", []).append(ref(specimen))
    return specimen

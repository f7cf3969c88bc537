"""TXA (+ its OBX text or ED content) -> DocumentReference (V2-to-FHIR TXA[DocumentReference])."""
from __future__ import annotations

from typing import Any

import base64

from ...fhir.ids import resource_id
from .context import Context
from .datatypes import business_key, compact, ei
from .message import Segment
from .obx import attachment, value_type

# TXA-17 document completion status (0271) -> DocumentReference.docStatus
DOC_STATUS = {"DO": "final", "AU": "final", "LA": "final", "IP": "preliminary",
              "IN": "preliminary", "PA": "preliminary", "DI": "preliminary"}


def map_txa(seg: Segment, ctx: Context) -> dict:
    """TXA -> DocumentReference: type (TXA-2), dates (TXA-4/6), authors (TXA-9), identifiers
    (TXA-12 unique document number, TXA-16 file name), completion status (TXA-17)."""
    seg.touch(1)
    unique = ei(seg.rep(12))
    key = business_key([unique] if unique else []) or f"{ctx.key}|TXA"
    completion = seg.value(17).upper()
    seg.touch(17)
    activity = ctx.dt(seg, 4)  # (read once: each read reports a zone-less or invalid time)
    doc: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": resource_id("DocumentReference", key),
        "masterIdentifier": unique,
        "identifier": [x for x in [ei(seg.rep(16))] if x],
        "status": "current",
        "docStatus": DOC_STATUS.get(completion),
        "type": ctx.code(seg, 2) or ({"text": seg.value(2)} if seg.value(2) else None),
        "subject": ctx.subject(),
        "date": activity if activity and "T" in activity else None,
        "author": [x for x in (ctx.practitioner(r) for r in seg.reps(9)) if x],
        "content": [],
        "context": {"period": compact({"start": activity or ctx.dt(seg, 6)})},
    }
    if ctx.encounter is not None:
        doc["context"]["encounter"] = [{"reference": f"urn:uuid:{ctx.encounter['id']}"}]
    doc["context"] = compact(doc["context"])
    seg.touch(6)
    return ctx.add(doc, seg)


def add_content(doc: dict, obx_segments: list[Segment]) -> None:
    """The document body: TX/FT/ST lines joined as text/plain, ED as the attachment itself."""
    lines = []
    content = doc.setdefault("content", [])
    for obx in obx_segments:
        vtype = value_type(obx)
        obx.touch(1, 2, 3, 4, 5, 11)
        if vtype in ("ED", "RP"):
            for rep in obx.reps(5):
                content.append({"attachment": attachment(vtype, rep)})
        else:
            lines.append(obx.text(5))
    if lines:
        text = "\n".join(lines)
        content.insert(0, {"attachment": {
            "contentType": "text/plain; charset=utf-8",
            "data": base64.b64encode(text.encode("utf-8")).decode("ascii")}})
    doc["content"] = [c for c in content if c["attachment"]] or [
        {"attachment": {"title": "document content not in the message"}}]

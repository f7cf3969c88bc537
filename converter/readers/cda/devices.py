"""Non-Medicinal Supply Activity (.50) with its Product Instance (.37) -> Device and
DeviceUseStatement (medical equipment)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...fhir.datatypes import absent
from ...fhir.ids import ref
from . import entries
from .common import PREFIX, act_status, notes, reasons
from .datatypes import concept, effective, identifiers, set_choice
from .context import resource_id
from .nodes import Element, child, path, text
from .participants import authorship

if TYPE_CHECKING:
    from .context import Context
    from .entries import Scope

PRODUCT_INSTANCE = PREFIX + "37"


def device_use(el: Element, ctx: Context, scope: Scope) -> list[dict]:
    """Non-Medicinal Supply -> DeviceUseStatement pointing at a Device."""
    role = path(el, "participant", "participantRole")
    dev = _device(role, el, ctx)
    recorded, recorder = authorship(el, ctx)
    res: dict[str, Any] = {
        "resourceType": "DeviceUseStatement",
        "id": ctx.entry_id("DeviceUseStatement", el),
        "identifier": identifiers(el),
        "status": act_status(el, "device_use") or "completed",
        "subject": ctx.subject(),
        "recordedOn": recorded,
        "source": recorder,
        "device": ref(dev),
        "reasonCode": reasons(el, ctx),
        "note": notes(el, ctx),
    }
    if not set_choice(res, "timing", effective(child(el, "effectiveTime"), ctx)):
        res["_timingDateTime"] = absent("unknown")
    out = [ctx.add(res)]
    entries.rest(el, ctx, scope, frozenset({PREFIX + "64", PREFIX + "19"}))
    return out


def _device(role: Element | None, el: Element, ctx: Context) -> dict:
    playing = child(role, "playingDevice")
    kind = concept(child(playing, "code"), ctx)
    if kind is None:
        kind = concept(child(el, "code"), ctx)
    ids = identifiers(role)
    label = text(child(playing, "manufacturerModelName"))
    maker = text(path(role, "scopingEntity", "desc"))
    key = (ids[0].get("system"), ids[0].get("value")) if ids else (ctx.doc_key, repr(kind), label)
    udi = [{"deviceIdentifier": i["value"]} for i in ids
           if i.get("system") == "urn:oid:2.16.840.1.113883.3.3719"]
    return ctx.add({
        "resourceType": "Device",
        "id": resource_id("Device", *key) if ids else ctx.entry_id("Device", el),
        "identifier": ids,
        "udiCarrier": udi,
        "type": kind,
        "deviceName": [{"name": label, "type": "model-name"}] if label else [],
        "manufacturer": maker,
        "patient": ctx.subject(),
    })

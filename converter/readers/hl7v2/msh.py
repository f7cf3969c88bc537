"""MSH and EVN -> MessageHeader and Provenance (V2-to-FHIR MSH[MessageHeader], MSH[Provenance-*],
EVN[Provenance])."""
from __future__ import annotations

from ... import __version__
from ...fhir.datatypes import absent, coding
from ...fhir.ids import resource_id
from ...fhir.language import bcp47
from .context import Context
from .datatypes import V2_TABLE, c, compact, fixed_coding, hd_label, hd_system
from .message import Segment

PROVENANCE_ACTIVITY = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
EVENT_SYSTEM = V2_TABLE.format("0003")
PROCESSING_SYSTEM = V2_TABLE.format("0103")


def map_msh(seg: Segment, ctx: Context) -> dict:
    """MSH -> MessageHeader: event (MSH-9), source (MSH-3/4), destination (MSH-5/6, receiver
    MSH-23), responsible organization (MSH-22), language (MSH-19), the sender's country (MSH-17)."""
    seg.touch(1, 2, 7, 9, 10, 11, 12, 18)
    sender_app, sender_fac = seg.rep(3), seg.rep(4)
    source_name = hd_label(sender_app) or "unknown"
    sender_label = hd_label(sender_fac)
    destination = _destination(seg.rep(5), seg.rep(6))
    receiver = ctx.organization(seg.rep(23)) if destination is not None else None
    if receiver:
        assert destination is not None  # a receiver is looked for only with a destination
        destination["receiver"] = receiver
    processing = seg.value(11)
    sender = ctx.organization([[sender_label]]) if sender_label else None
    if sender is not None and seg.value(17):
        _sender_country(ctx, sender, seg.value(17))
    header = {
        "resourceType": "MessageHeader",
        "id": resource_id("MessageHeader", ctx.key),
        "eventCoding": coding(EVENT_SYSTEM, seg.value(9, 2) or seg.value(9, 1), None)
        or fixed_coding("http://terminology.hl7.org/CodeSystem/data-absent-reason", "unknown",
                        "Unknown"),
        "source": compact({"name": source_name,
                           "endpoint": hd_system(sender_app) or f"urn:medbundle:v2-application:"
                                                                f"{_safe(source_name)}"}),
        "destination": [destination] if destination else [],
        "sender": sender,
        "responsible": ctx.organization(seg.rep(22)),
        "language": _language(seg, ctx),
        "meta": {"tag": [coding(PROCESSING_SYSTEM, processing)]} if processing else None,
    }
    return ctx.add(header, seg)


def _language(seg: Segment, ctx: Context) -> str | None:
    """MSH-19 principal language (CWE) -> the MessageHeader's language, when a BCP-47 tag."""
    code = seg.value(19, 1)
    if not code:
        return None
    tag = bcp47(code)
    if tag is None:
        ctx.issue("warning", "unknown-code", f"MSH-19 {code!r} is no BCP-47 language tag: not "
                  "mapped", seg, 19)
    return tag


def _sender_country(ctx: Context, sender: dict, country: str) -> None:
    """MSH-17 country of the sending facility -> its Organization's address."""
    org = ctx.resource(sender["reference"][len("urn:uuid:"):])
    if org is not None and not org.get("address"):
        org["address"] = [{"country": country}]


def _safe(text: str) -> str:
    if text.isalnum():
        return text  # the usual application name: nothing to replace
    return "".join(ch if ch.isalnum() or ch in "-._" else "-" for ch in text) or "unknown"


def _destination(app: list, fac: list) -> dict | None:
    name = hd_label(app)
    if not name and not hd_label(fac):
        return None
    return compact({"name": name or hd_label(fac),
                    "endpoint": hd_system(app) or
                    f"urn:medbundle:v2-application:{_safe(name or 'unknown')}"})


def map_evn(seg: Segment, ctx: Context) -> None:
    """EVN -> remembered for the message's Provenance (recorded time, reason, operator)."""
    seg.touch(1)
    ctx.evn = seg


def provenance(ctx: Context, msh: Segment) -> dict:
    """One Provenance per message: every resource it produced, the message as its entity."""
    # ref() spelled out: one Reference per resource of the message
    targets = [{"reference": f"urn:uuid:{r['id']}"} for r in ctx.fragment.resources
               if r["resourceType"] != "Provenance"]
    evn = ctx.evn
    recorded = (ctx.dt(evn, 2) if evn is not None else None) or ctx.dt(msh, 7)
    operator = ctx.practitioner(evn.rep(5)) if evn is not None and evn.value(5, 1) else None
    reason = ctx.code(evn, 4) if evn is not None else None
    agents = [{"type": {"coding": [fixed_coding(PARTICIPANT_TYPE, "assembler", "Assembler")]},
               "who": {"display": f"medbundle {__version__}"}}]
    if operator:
        agents.append({"type": {"coding": [fixed_coding(PARTICIPANT_TYPE, "enterer", "Enterer")]},
                       "who": operator})
    sender = c(msh.rep(4), 1) or c(msh.rep(3), 1)
    if sender:
        agents.append({"type": {"coding": [fixed_coding(PARTICIPANT_TYPE, "author", "Author")]},
                       "who": {"display": sender}})
    return ctx.add({
        "resourceType": "Provenance",
        "id": resource_id("Provenance", ctx.key),
        "target": targets,
        "recorded": recorded if recorded and "T" in recorded else None,
        # recorded is an instant; a message time without offset is not one, and none is invented
        "_recorded": None if recorded and "T" in recorded else absent("unknown"),
        "activity": {"coding": [fixed_coding(PROVENANCE_ACTIVITY, "CREATE", "create")]},
        "reason": [reason] if reason else None,
        "occurredDateTime": ctx.dt(evn, 6) if evn is not None and evn.value(6) else None,
        "agent": agents,
        "entity": [{"role": "source", "what": compact({
            "identifier": {"value": msh.value(10) or f"message {ctx.message.index}"},
            "display": f"HL7 v{msh.value(12)} {msh.value(9, 1)}^{msh.value(9, 2)} message "
                       f"{ctx.message.index} of {ctx.source}"})}],
    })


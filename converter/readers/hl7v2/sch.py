"""SCH, TQ1 and AIS/AIG/AIL/AIP -> Appointment (V2-to-FHIR SCH[Appointment], AIS/AIG/AIL/AIP
[Appointment]). SCH comes before PID in SIU messages: the patient joins the participants when the
message is done (`finish`)."""
from __future__ import annotations

from datetime import datetime, timedelta

from ...fhir.datatypes import decimal_or_none
from ...fhir.ids import ref, resource_id
from ...vocabulary import lookup
from .context import Context
from .datatypes import business_key, c, cell, ei, fixed_coding
from .message import Segment
from .pv1 import location

PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"


def map_sch(seg: Segment, ctx: Context) -> dict:
    """SCH -> Appointment: ids (SCH-1/2), reason (SCH-6/7), type (SCH-8), duration (SCH-9/10),
    timing (SCH-11), contacts and enterer (SCH-12/16/20), status (SCH-25, else the trigger)."""
    ids = [x for x in (ei(seg.rep(1)), ei(seg.rep(2))) if x]
    key = business_key(ids, prefer_last=True) or \
        f"{ctx.key}|SCH"
    status_code = seg.value(25)
    status = cell(lookup("hl7v2/tables/0278-appointment-status.csv", status_code)) \
        if status_code else None
    if status_code and not status:
        ctx.issue("warning", "unknown-code", f"unknown filler status {status_code!r}", seg, 25)
    if not status:
        status = cell(lookup("hl7v2/siu-event-status.csv", ctx.event.split("^")[-1])) or "booked"
    timing = seg.rep(11)
    start = ctx.instant(seg, 11, 4, value=c(timing, 4))
    end = ctx.instant(seg, 11, 5, value=c(timing, 5))
    duration = decimal_or_none(seg.value(9))
    unit = seg.value(10).lower()
    participants = []
    for n, code, display in ((12, "PPRF", "primary performer"), (16, "SPRF",
                                                                  "secondary performer"),
                             (20, "ENT", "data entry person")):
        for r in seg.reps(n):
            who = ctx.practitioner(r)
            if who:
                participants.append({
                    "type": [{"coding": [fixed_coding(PARTICIPATION, code, display)]}],
                    "actor": who, "status": "accepted"})
    reason = ctx.code(seg, 7) or ctx.code(seg, 6)
    appointment = {
        "resourceType": "Appointment",
        "id": resource_id("Appointment", key),
        "identifier": ids,
        "status": status,
        "appointmentType": ctx.code(seg, 8),
        "reasonCode": [reason] if reason else None,
        "start": start,
        "end": end,
        "minutesDuration": int(duration) if duration is not None and duration > 0
        and duration == int(duration) and unit in ("min", "m", "minutes", "") else None,
        "participant": participants,
    }
    seg.touch(6, 9, 10, 25)
    return ctx.add(appointment, seg)


def map_tq1(seg: Segment, ctx: Context, appointment: dict | None) -> None:
    """TQ1 start and end (TQ1-7/8) -> Appointment.start/end when SCH-11 gave none."""
    if appointment is None:
        return
    start, end = ctx.instant(seg, 7), ctx.instant(seg, 8)
    if start and "start" not in appointment:
        appointment["start"] = start
    if end and "end" not in appointment:
        appointment["end"] = end
    seg.touch(1)


def map_resource(seg: Segment, ctx: Context, appointment: dict | None) -> None:
    """AIS (service), AIG (general resource), AIL (location), AIP (personnel) -> participants."""
    if appointment is None:
        ctx.issue("warning", "unexpected-segment", f"{seg.name} without an SCH before it", seg)
        return
    seg.touch(1, 2)
    parts = appointment.setdefault("participant", [])
    if seg.name == "AIS":
        service = ctx.code(seg, 3)
        if service:
            appointment.setdefault("serviceType", []).append(service)
        start = ctx.instant(seg, 4)
        if start:
            appointment.setdefault("start", start)
            _duration(seg, 7, 8, appointment)
        return
    if seg.name == "AIP":
        for r in seg.reps(3):
            who = ctx.practitioner(r)
            if who:
                role = ctx.code(seg, 4)
                parts.append({"type": [role] if role else None, "actor": who,
                              "status": "accepted"})
    elif seg.name == "AIL":
        loc = location(seg.rep(3), ctx)
        if loc:
            parts.append({"actor": ref(loc), "status": "accepted"})
    elif seg.name == "AIG":
        resource = ctx.code(seg, 3)
        if resource:
            device_type = ctx.code(seg, 4)
            parts.append({"type": [device_type] if device_type else None,
                          "actor": {"display": resource.get("text") or
                                    (resource.get("coding") or [{}])[0].get("display") or
                                    (resource.get("coding") or [{}])[0].get("code")},
                          "status": "accepted"})
    start = ctx.instant(seg, 6)
    if start:
        appointment.setdefault("start", start)
        _duration(seg, 9, 10, appointment)


def _duration(seg: Segment, n: int, unit_n: int, appointment: dict) -> None:
    """AIx duration and its units (minutes) -> minutesDuration, when SCH gave none."""
    duration = decimal_or_none(seg.value(n))
    unit = seg.value(unit_n).lower()
    if duration is not None and duration > 0 and duration == int(duration) and \
            unit in ("min", "m", "minutes", ""):
        appointment.setdefault("minutesDuration", int(duration))
    seg.touch(n, unit_n)


def finish(appointment: dict, ctx: Context) -> None:
    """The patient (known only after PID) as the first participant, and start/end made whole:
    FHIR wants both or neither (app-2), so a missing end comes from the duration when given."""
    start, end = appointment.get("start"), appointment.get("end")
    minutes = appointment.get("minutesDuration")
    if start and not end and minutes:
        appointment["end"] = (datetime.fromisoformat(start) + timedelta(minutes=minutes)
                              ).isoformat()
    elif bool(start) != bool(end):
        only = start or end
        appointment.pop("start", None)
        appointment.pop("end", None)
        appointment["comment"] = f"{'start' if start else 'end'} {only} (the other end of the " \
                                 "appointment was not given)"
    if ctx.patient is not None:
        appointment.setdefault("participant", []).insert(0, {"actor": ref(ctx.patient),
                                                             "status": "accepted"})
    participants = [p for p in appointment.get("participant", []) if p.get("actor")]
    for p in participants:
        if not p.get("type"):
            p.pop("type", None)
    appointment["participant"] = participants

"""One decoded message -> a Fragment: header checks, grouping, a walk that hands each segment to
its segment map with the right parent, NTE attached to its parent, then the unmapped report."""
from __future__ import annotations

import base64
from typing import Any

from ...fhir.ids import ref
from ...fragment import Fragment
from ...issues import Issue, Location
from . import checks
from .al1 import map_al1
from .context import Context
from .dg1 import map_dg1
from .imaging import map_study, study_uid
from .in1 import map_in1
from .message import Message, Segment
from .msh import map_evn, map_msh, provenance
from .nk1 import map_nk1
from .obx import is_text_line, map_obx
from .orders import diagnostic_report, order_identifiers, service_request
from .pid import map_mrg, map_pd1, map_pid
from .pr1 import map_pr1
from .pv1 import map_pv1, map_pv2
from .rxa import is_vaccination, map_rxa, map_rxa_administration, map_rxr
from .rxo import map_rx_order
from .sch import finish as finish_appointment, map_resource, map_sch, map_tq1
from .spm import map_spm
from .structure import KNOWN_VERSIONS, Group, definition, group_segments, structure_id
from .txa import add_content, map_txa

REPORT_MESSAGES = frozenset({"ORU", "OUL", "OPU", "ORA", "MDM_RESULT"})
NOTE_TARGETS = frozenset({"Observation", "ServiceRequest", "Immunization", "AllergyIntolerance",
                          "Condition", "Procedure", "MedicationRequest", "Specimen",
                          "MedicationAdministration"})
# Segments read as part of another segment's map, or carrying only transport control.
FOLDED = frozenset({"MSH", "EVN", "NTE", "ORC", "RXR", "PV2", "PD1", "MRG", "SFT", "DSC", "TQ1",
                    "TQ2", "MSA", "ERR", "RGS"})
APPOINTMENT_RESOURCES = frozenset({"AIS", "AIG", "AIL", "AIP"})
# Resources FHIR does not allow without their patient (subject or patient 1..1).
NEEDS_PATIENT = frozenset({"ServiceRequest", "Condition", "Procedure", "Immunization",
                           "MedicationRequest", "MedicationAdministration", "AllergyIntolerance",
                           "ImagingStudy", "RelatedPerson", "Coverage"})


def map_message(msg: Message, source: str) -> Fragment:
    """Map one message; never raises on bad content (issues instead)."""
    frag = Fragment(source=source, format="hl7v2", index=msg.index)
    frag.issues.extend(msg.issues)
    if not msg.segments:
        frag.unusable = True
        return frag
    msh = msg.msh
    loc = Location(source=source, line=msh.line, message=msg.index, segment="MSH")
    code, trigger, declared = msh.value(9, 1).upper(), msh.value(9, 2).upper(), \
        msh.value(9, 3).upper()
    version = msh.value(12)
    control_id = msh.value(10)
    frag.kind = f"{code}^{trigger}" if trigger else code
    if not code:
        frag.issues.append(Issue("error", "missing-field",
                                 "MSH-9 message type is empty: the message cannot be interpreted "
                                 "by its structure; segments mapped generically",
                                 _at(loc, "MSH-9")))
    if not control_id:
        frag.issues.append(Issue("warning", "missing-field", "MSH-10 message control id is empty",
                                 _at(loc, "MSH-10")))
    if not version:
        frag.issues.append(Issue("warning", "unknown-version",
                                 "MSH-12 version is empty; read with the v2.5 definitions",
                                 _at(loc, "MSH-12")))
        version = "2.5"
    elif version not in KNOWN_VERSIONS:
        frag.issues.append(Issue("warning", "unknown-version",
                                 f"unknown HL7 version {version!r}; read with the nearest known "
                                 "definitions", _at(loc, "MSH-12")))
    structure = structure_id(code, trigger, declared) if code else ""
    root = definition(version, structure) if structure else None
    if code and root is None:
        frag.issues.append(Issue("warning", "unknown-message-type",
                                 f"no structure known for {frag.kind} ({structure}) in v{version}: "
                                 "segments mapped generically", _at(loc, "MSH-9")))
    tree, misplaced = group_segments(msg.segments, root)
    for seg in misplaced:
        frag.issues.append(Issue("information", "unexpected-segment",
                                 f"{seg.name} is not where the {structure} structure has it; "
                                 "mapped in place", _seg_loc(source, msg, seg)))
    sender = msh.value(4) or msh.value(3)
    ctx = Context(source=source, message=msg, fragment=frag,
                  key=f"{sender}|{control_id or f'{source}#{msg.index}'}", event=frag.kind)
    ctx.current = msh
    map_msh(msh, ctx)
    scope: dict[str, Any] = {"report_msg": code in REPORT_MESSAGES or structure.startswith(
        ("ORU", "OUL"))}
    report_text: dict[str, list[str]] = {}
    documents: list[tuple[dict, list[Segment]]] = []
    _walk(tree, ctx, scope, report_text, documents)
    ctx.current = ctx.evn  # what the Provenance adds next is the EVN's (its operator)
    for report_id, lines in report_text.items():
        report = ctx.resource(report_id)
        assert report is not None  # a DiagnosticReport of ctx (_map_obx: from diagnostic_report)
        report.setdefault("presentedForm", []).append({
            "contentType": "text/plain; charset=utf-8",
            "data": base64.b64encode("\n".join(lines).encode("utf-8")).decode("ascii")})
    for doc, obx in documents:
        add_content(doc, obx)
    for r in frag.resources:
        if r["resourceType"] == "Appointment":
            finish_appointment(r, ctx)
    if ctx.patient is None:
        needy = sorted({r["resourceType"] for r in frag.resources} & NEEDS_PATIENT)
        if needy:
            frag.issues.append(Issue(
                "error", "missing-segment",
                f"no PID segment: {', '.join(needy)} cannot name their patient", loc))
    _truncation(msg, tree, None if misplaced else root, version, frag, source)
    provenance(ctx, msh)  # may add the EVN operator: before the repairs
    ctx.repair_codes()
    _report_unmapped(msg, frag, source)
    return frag


def _at(loc: Location, field: str) -> Location:
    return Location(source=loc.source, line=loc.line, message=loc.message, segment=loc.segment,
                    field=field)


def _seg_loc(source: str, msg: Message, seg: Segment, field: str | None = None) -> Location:
    return Location(source=source, line=seg.line, message=msg.index, segment=seg.name,
                    field=field)


def _walk(group: Group, ctx: Context, parent_scope: dict[str, Any],
          report_text: dict[str, list[str]], documents: list) -> None:
    scope = dict(parent_scope)
    handlers = _HANDLERS
    for item in group.items:
        if isinstance(item, Group):
            _walk(item, ctx, scope, report_text, documents)
            continue
        # each segment to its map (MSH, mapped first, and segments with no map have none: the
        # unmapped report names them); a table, not a chain of tests: a third of a message's
        # segments have no map and went through every test
        handler = handlers.get(item.name)
        if handler is None:
            continue
        ctx.current = item
        made = handler(item, ctx, scope, report_text, documents)
        if made is not None:
            scope["last"] = made


# Each handler maps one segment and returns the resource notes (NTE) after it attach to, if any.
# `scope` holds what earlier segments of the group (or of its parents) made: the ORC, request,
# report, specimen and medication the segments after them belong to.

def _evn(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list) -> None:
    map_evn(seg, ctx)


def _pid(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list) -> dict:
    ctx.patient = map_pid(seg, ctx)
    ctx.encounter = None
    return ctx.patient


def _pd1(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list) -> None:
    map_pd1(seg, ctx)


def _mrg(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list) -> None:
    map_mrg(seg, ctx)


def _nk1(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list
         ) -> dict | None:
    return map_nk1(seg, ctx)


def _pv1(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list) -> None:
    ctx.encounter = map_pv1(seg, ctx)


def _pv2(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list) -> None:
    map_pv2(seg, ctx)


def _orc(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list) -> None:
    scope["orc"] = seg
    seg.touch(1, 5)


def _obr(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list
         ) -> dict | None:
    orc = scope.get("orc")
    ids = order_identifiers(seg, orc)
    sr = service_request(seg, ctx, orc, ids)
    scope["request"] = sr
    scope["report"] = diagnostic_report(seg, ctx, ids, sr) if scope["report_msg"] else None
    return sr


def _study(seg: Segment, ctx: Context, scope: dict) -> None:
    """An imaging study named by an OBX, IPC or ZDS (its Study Instance UID)."""
    found = study_uid(seg)
    if found:
        map_study(seg, ctx, *found, scope.get("report"), scope.get("request"))


def _ipc(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list) -> None:
    _study(seg, ctx, scope)


def _obx(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list
         ) -> dict | None:
    _study(seg, ctx, scope)
    return _map_obx(seg, ctx, scope, report_text, documents)


def _nte(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list) -> None:
    _map_nte(seg, ctx, scope)


def _al1(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list
         ) -> dict | None:
    return map_al1(seg, ctx)


def _dg1(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list
         ) -> dict | None:
    cond = map_dg1(seg, ctx)
    request = scope.get("request")
    if cond is not None and request is not None:
        request.setdefault("reasonReference", []).append(ref(cond))
    return cond


def _pr1(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list
         ) -> dict | None:
    return map_pr1(seg, ctx)


def _rxa(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list
         ) -> dict | None:
    if is_vaccination(seg, ctx):
        made = map_rxa(seg, ctx, scope.get("orc"))
    else:
        made = map_rxa_administration(seg, ctx, scope.get("orc"))
    scope["rx_target"] = made
    return made


def _rxo(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list
         ) -> dict | None:
    req = map_rx_order(seg, ctx, scope.get("orc"), scope.get("rx_target"))
    scope["rx_target"] = req
    return req


def _rxr(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list) -> None:
    map_rxr(seg, ctx, scope.get("rx_target"))


def _spm(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list
         ) -> dict | None:
    specimen = map_spm(seg, ctx, scope.get("report"), scope.get("request"))
    scope["specimen"] = specimen
    return specimen


def _in1(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list
         ) -> dict | None:
    return map_in1(seg, ctx)


def _sch(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list
         ) -> dict | None:
    appointment = map_sch(seg, ctx)
    ctx.appointment = appointment
    return appointment


def _tq1(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list) -> None:
    map_tq1(seg, ctx, ctx.appointment)


def _appointment_resource(seg: Segment, ctx: Context, scope: dict, report_text: dict,
                          documents: list) -> None:
    map_resource(seg, ctx, ctx.appointment)


def _rgs(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list) -> None:
    seg.touch(1, 2)


def _txa(seg: Segment, ctx: Context, scope: dict, report_text: dict, documents: list) -> None:
    doc = map_txa(seg, ctx)
    documents.append((doc, []))
    if ctx.event.startswith("MDM"):  # in MDM the OBX that follow are the document's body
        scope["document"] = doc


_HANDLERS = {
    "EVN": _evn, "PID": _pid, "PD1": _pd1, "MRG": _mrg, "NK1": _nk1, "PV1": _pv1, "PV2": _pv2,
    "ORC": _orc, "OBR": _obr, "OBX": _obx, "IPC": _ipc, "ZDS": _ipc, "NTE": _nte,
    "AL1": _al1, "IAM": _al1, "DG1": _dg1, "PR1": _pr1, "RXA": _rxa, "RXO": _rxo, "RXE": _rxo,
    "RXR": _rxr, "SPM": _spm, "IN1": _in1, "SCH": _sch, "TQ1": _tq1, "RGS": _rgs, "TXA": _txa,
    **{name: _appointment_resource for name in APPOINTMENT_RESOURCES},
}


def _map_obx(seg: Segment, ctx: Context, scope: dict[str, Any],
             report_text: dict[str, list[str]], documents: list) -> dict | None:
    doc = scope.get("document")
    if doc is not None:
        for d, lines in documents:
            if d is doc:
                lines.append(seg)
        return None
    report = scope.get("report")
    if report is not None and is_text_line(seg):
        seg.touch(1, 2, 3, 4, 5, 11, 14)
        report_text.setdefault(report["id"], []).append(seg.text(5))
        return None
    owner = report or scope.get("request") or scope.get("rx_target")
    key = owner["id"] if owner else ctx.key
    category = "laboratory" if report is not None else None
    effective = None
    if report is not None:
        effective = report.get("effectiveDateTime") or report.get("effectivePeriod", {}).get(
            "start")
    obs = map_obx(seg, ctx, key, category, effective)
    if obs is None:
        return None
    specimen = scope.get("specimen")
    if specimen is not None:
        obs["specimen"] = ref(specimen)
    if report is not None:
        report.setdefault("result", []).append(ref(obs))
    elif owner is not None and owner["resourceType"] == "ServiceRequest":
        owner.setdefault("supportingInfo", []).append(ref(obs))
    elif owner is not None and owner["resourceType"] == "Immunization":
        obs["partOf"] = [ref(owner)]
    return obs


def _map_nte(seg: Segment, ctx: Context, scope: dict[str, Any]) -> None:
    """NTE -> Annotation on the resource made by the segment it follows in its group."""
    seg.touch(1, 2)
    text = seg.text(3)
    if not text:
        return
    parent = scope.get("last")
    if parent is None or parent["resourceType"] not in NOTE_TARGETS:
        what = parent["resourceType"] if parent else "no parent"
        ctx.issue("information", "unmapped-segment",
                  f"NTE note under {what} has no FHIR R4 place; its text: {text[:200]!r}",
                  seg, 3)
        return
    note: dict[str, Any] = {"text": text}
    time = ctx.dt(seg, 6) if seg.has(6) else None
    if time and "T" in time:
        note["time"] = time
    author = ctx.practitioner(seg.rep(5)) if seg.has(5) else None
    if author:
        note["authorReference"] = author
    parent.setdefault("note", []).append(note)


def _truncation(msg: Message, tree: Group, root, version: str, frag: Fragment,
                source: str) -> None:
    """Missing required fields in the last segment, or required segments, of an input that ended
    without a segment terminator: the input was cut. (`root` is None when segments did not fit the
    structure: then only fields are checked.)"""
    if msg.terminated:
        return
    last = msg.segments[-1]
    # Only required fields after the last valued one: a sender may leave a required field empty
    # mid-segment, but a cut removes everything from the cut point on.
    # A field the sender delimited (even empty) was not cut off, so only required fields beyond
    # the last delimiter count.
    missing = [n for n in checks.missing_fields(last, version) if n >= len(last.fields)]
    if missing:
        names = ", ".join(f"{last.name}-{n}" for n in missing)
        frag.issues.append(Issue("error", "truncated",
                                 f"the input ends inside {last.name}: required field(s) {names} "
                                 "missing; the message was cut", _seg_loc(source, msg, last,
                                                                          f"{last.name}-{missing[0]}")))
        return
    for group_name, seg_name in checks.missing_at_end(tree, root):
        frag.issues.append(Issue("error", "truncated",
                                 f"the input ends before required segment {seg_name} of "
                                 f"{group_name}: the message was cut",
                                 _seg_loc(source, msg, last)))
        return
    # No proof of a cut, but no proof of completeness either: the standard ends every segment
    # with a carriage return, and a cut inside an optional field looks exactly like this.
    frag.issues.append(Issue("warning", "truncated",
                             f"the input ends inside the last segment ({last.name}, no segment "
                             "terminator): it may have been cut", _seg_loc(source, msg, last)))


def _report_unmapped(msg: Message, frag: Fragment, source: str) -> None:
    """Segments no map read (a folded one only when it holds values: an empty TQ1 says nothing),
    then the valued fields of the others that no map read (about forty notes per message: each
    made with positional arguments, no helper call)."""
    issues, index = frag.issues, msg.index
    for seg in msg.segments:
        read = seg._read
        if not read:
            if seg.name not in FOLDED:
                kind = "Z-segment" if seg.name.startswith("Z") else f"{seg.name} segment"
                frag.issues.append(Issue("information", "unmapped-segment",
                                         f"{kind} has no mapping; kept in this report",
                                         _seg_loc(source, msg, seg)))
            elif seg.valued_fields():
                # SFT, TQ1, MSA...; or a PV2, PD1 or MRG with no PV1 or PID before it
                frag.issues.append(Issue("information", "unmapped-segment",
                                         f"{seg.name} segment not mapped",
                                         _seg_loc(source, msg, seg)))
            continue
        name, line, fields = seg.name, seg.line, seg.fields
        for n in seg.unread():
            where = f"{name}-{n}"
            issues.append(Issue("information", "unmapped-field",
                                f"{where} not mapped (value {fields[n][:60]!r})",
                                Location(source, line, index, name, where)))

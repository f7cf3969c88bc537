"""OBX -> Observation (V2-to-FHIR OBX[Observation]): every value type, UCUM units, reference range,
interpretation, status; repeated OBX-5 as components."""
from __future__ import annotations

import base64
import re
from decimal import Decimal
from typing import cast

from ...fhir.datatypes import UCUM, coding, decimal_or_none, prune, screen_quantity
from ...fhir.ids import resource_id
from .context import Context
from .datatypes import c, clone, compact, cwe, ei, fixed_coding, mapped, system_uri, table_coding, \
    time_of
from .message import Rep, Segment

TEXT_TYPES = frozenset({"TX", "FT"})  # text-report lines: carried as the report's text
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ANALYSIS_TIME = "http://hl7.org/fhir/StructureDefinition/observation-analysis-date-time"
VALUE_ATTACHMENT = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Observation.value"
_LOOSE_SN = re.compile(r"^\s*(<=|>=|<|>|=)?\s*(-?\d*\.?\d+)\s*$")
_RANGE = re.compile(r"^\s*([<>]=?)?\s*(-?\d*\.?\d+)\s*(?:(-|–|to)\s*(-?\d*\.?\d+))?\s*$")


def value_type(seg: Segment) -> str:
    """OBX-2, upper case ('' when absent)."""
    return seg.value(2).upper()


def is_text_line(seg: Segment) -> bool:
    return value_type(seg) in TEXT_TYPES


def quantity(value: Decimal, units: Rep, comparator: str | None = None) -> dict:
    """NM + OBX-6 -> Quantity: code and unit from CWE.1/.2, UCUM system when CWE.3 says so."""
    code, text, system_name = c(units, 1), c(units, 2), c(units, 3)
    system = system_uri(system_name) if system_name else None
    if system is None and code and not system_name:
        system = UCUM  # most senders leave CWE.3 empty for UCUM units
    if system != UCUM and c(units, 6).upper() == "UCUM" and c(units, 4):
        code, system = c(units, 4), UCUM
    # no system known: the code goes (qty-3 wants one with a code) and the unit text stays, as
    # the code repairs would have it
    found = compact({"value": value, "comparator": comparator, "unit": text or code or None,
                     "system": system if code else None,
                     "code": code if system is not None else None})
    screen_quantity(found)
    return found


def _sn(rep: Rep, units: Rep) -> tuple[str, object] | None:
    """SN (structured numeric) -> (FHIR value[x] name, value) per the IG's SN rules."""
    comp, n1, sep, n2 = c(rep, 1), c(rep, 2), c(rep, 3), c(rep, 4)
    m = _LOOSE_SN.match(comp) if not (n1 or sep or n2) else None
    if m:  # "<0.10" sent in one component instead of "<^0.10": read as the sender meant
        comp, n1 = m.group(1) or "", m.group(2)
    d1, d2 = decimal_or_none(n1), decimal_or_none(n2)
    if comp == "<>":
        return "valueString", "".join(x for x in (comp, n1, sep, n2) if x)
    if sep in (":", "/") and d1 is not None and d2 is not None:
        return "valueRatio", {"numerator": {"value": d1}, "denominator": {"value": d2}}
    if sep == "-" and d1 is not None and d2 is not None:
        return "valueRange", {"low": quantity(d1, units), "high": quantity(d2, units)}
    if sep == "+" and d1 is not None:
        return "valueString", f"{n1}+"
    if d1 is not None and not sep:
        return "valueQuantity", quantity(d1, units, comp if comp in ("<", ">", "<=", ">=") else None)
    text = "".join(x for x in (comp, n1, sep, n2) if x)
    return ("valueString", text) if text else None


def observation_value(vtype: str, rep: Rep, raw: str, units: Rep, seg: Segment, ctx: Context
                      ) -> tuple[str, object] | None:
    """One OBX-5 repetition -> (value[x] element name, value), reporting what cannot be read."""
    if vtype == "NM":
        d = decimal_or_none(c(rep, 1))
        if d is None:
            ctx.issue("warning", "invalid-value", f"OBX-2 is NM but OBX-5 is {raw!r}; kept as text",
                      seg, 5)
            return "valueString", raw
        return "valueQuantity", quantity(d, units)
    if vtype in ("ST", "TX", "FT", "VR", "ID"):
        return "valueString", raw
    if vtype in ("CE", "CWE", "CNE", "CF", "IS", "CV", "CK"):
        cc = cwe(rep)
        return ("valueCodeableConcept", cc) if cc else None
    if vtype == "SN":
        return _sn(rep, units)
    if vtype in ("DT", "DTM", "TS"):
        v = ctx.dt(seg, 5, value=c(rep, 1))
        return ("valueDateTime", v) if v else ("valueString", raw)
    if vtype == "TM":
        v = time_of(c(rep, 1))
        return ("valueTime", v) if v else ("valueString", raw)
    if vtype == "NR":
        lo, hi = decimal_or_none(c(rep, 1)), decimal_or_none(c(rep, 2))
        rng = {k: v for k, v in (("low", quantity(lo, units) if lo is not None else None),
                                 ("high", quantity(hi, units) if hi is not None else None)) if v}
        return ("valueRange", rng) if rng else None
    if vtype == "DR":
        start = ctx.dt(seg, 5, value=c(rep, 1))
        end = ctx.dt(seg, 5, value=c(rep, 2))
        period = {k: v for k, v in (("start", start), ("end", end)) if v}
        return ("valuePeriod", period) if period else None
    if vtype in ("ED", "RP"):
        return "extension", [{"url": VALUE_ATTACHMENT, "valueAttachment": attachment(vtype, rep)}]
    if vtype in ("CX",):
        return "valueString", c(rep, 1)
    if vtype in ("XCN", "XPN", "XAD", "XON", "XTN", "PN", "AD", "TN", "CP", "MO", "MA", "NA"):
        return "valueString", raw.replace("^", " ").strip()
    return None


def attachment(vtype: str, rep: Rep) -> dict:
    """ED (source^type^subtype^encoding^data) or RP (pointer) -> Attachment."""
    if vtype == "RP":
        return {k: v for k, v in (("url", c(rep, 1)), ("title", c(rep, 3) or None)) if v}
    mime = "/".join(x for x in (c(rep, 2).lower(), c(rep, 3).lower()) if x) or None
    if mime and "/" not in mime:
        mime = {"pdf": "application/pdf", "text": "text/plain", "image": None}.get(mime, None)
    data = c(rep, 5)
    payload = re.sub(r"\s+", "", data) if c(rep, 4).upper() == "BASE64" else ""
    if payload:
        try:
            base64.b64decode(payload, validate=True)
        except ValueError:
            payload = ""  # not Base64 after all: carried as the text it is
    if not payload and data:
        payload = base64.b64encode(data.encode("utf-8")).decode("ascii")
    return {k: v for k, v in (("contentType", mime), ("data", payload)) if v}


def reference_range(text: str, units: Rep) -> dict | None:
    """OBX-7 -> referenceRange: always the text; low/high too when it parses ("3.5-5.0", "<0.10")."""
    text = text.strip()
    if not text:
        return None
    rr: dict = {"text": text}
    m = _RANGE.match(text)
    if m:
        op, a, dash, b = m.groups()
        lo, hi = decimal_or_none(a), decimal_or_none(b) if b else None
        if dash and lo is not None and hi is not None:
            rr["low"], rr["high"] = quantity(lo, units), quantity(hi, units)
        elif op and op.startswith("<") and lo is not None:
            rr["high"] = quantity(lo, units)
        elif op and op.startswith(">") and lo is not None:
            rr["low"] = quantity(lo, units)
    return rr


def interpretation(seg: Segment) -> list[dict]:
    """OBX-8 (0078): codes carry over to v3 ObservationInterpretation."""
    out = []
    for r in seg.reps(8):
        code = c(r, 1)
        if not code:
            continue
        target = mapped("0078-interpretation", code) or code
        out.append({"coding": [coding(INTERPRETATION, target, c(r, 2) or None)]})
    return out


def status(seg: Segment, ctx: Context) -> tuple[str, dict | None]:
    """OBX-11 (0085) -> Observation.status; N -> dataAbsentReason not-asked."""
    code = seg.value(11).upper()
    if not code:
        ctx.issue("warning", "missing-field", "OBX-11 result status is empty; status 'unknown'",
                  seg, 11)
        return "unknown", None
    target = mapped("0085-observation-status", code)
    if code == "N":
        return "final", {"coding": [fixed_coding(
            "http://terminology.hl7.org/CodeSystem/data-absent-reason", "not-asked", "Not Asked")]}
    if not target:
        ctx.issue("warning", "unknown-code", f"unknown result status {code!r}; status 'unknown'",
                  seg, 11)
        return "unknown", None
    return target, None


def map_obx(seg: Segment, ctx: Context, key: str, category: str | None,
            effective: str | None) -> dict | None:
    """OBX -> Observation. `key` scopes the id (report or message); `effective` falls back to OBR-7."""
    seg.touch(1)
    vtype = value_type(seg)
    code = cwe(seg.rep(3))
    if code is None:
        ctx.issue("warning", "missing-field", "OBX-3 observation identifier is empty: the "
                  "Observation says so in its code text", seg, 3)
        code = {"text": "unknown observation (OBX-3 empty in the source)"}
    units = seg.rep(6)
    raw5 = seg.raw(5)
    raw_reps = raw5.split(seg.delims.repetition) if raw5 else []
    # text is read as written, components and all: OBX-5 is split into components only for
    # the other types (reps() splits at the same repetition separators as raw_reps)
    reps: list[str] | list[Rep] = raw_reps if vtype in ("ST", "TX", "FT") else seg.reps(5)
    values: list[tuple[str, object]] = []
    for rep, raw in zip(reps, raw_reps):
        v: tuple[str, object] | None
        if vtype in ("ST", "TX", "FT"):
            text = seg.unescape(raw).strip()
            v = ("valueString", text) if text else None
        else:
            # a Rep: reps is seg.reps(5) for these types (cast() checks for a list when compiled)
            v = observation_value(vtype, cast(Rep, rep), seg.unescape(raw).strip(), units, seg,
                                  ctx)
        if v is None and raw.strip():
            ctx.issue("warning", "invalid-value",
                      f"OBX-5 of type {vtype or '(none)'} could not be read: {raw!r}", seg, 5)
        if v:
            # values come from many shapes of input (an attachment may hold nothing): pruned
            # here, as the resource is not pruned as a whole (Context.add); a quantity (most
            # results) is built clean by quantity()
            values.append((v[0], v[1] if v[0] == "valueQuantity" else prune(v[1])))
    status_code, absent_reason = status(seg, ctx)
    kind = table_coding("0936", seg.value(29))  # OBX-29 observation type (RSLT, SCI, ...)
    categories = [{"coding": [fixed_coding(OBS_CATEGORY, category)]}] if category else []
    if kind:
        categories.append({"coding": [kind]})
    obs: dict = {
        "resourceType": "Observation",
        "id": resource_id("Observation", key, seg.value(1) or seg.position, seg.value(3, 1),
                          seg.value(4)),
        "identifier": [x for x in [ei(seg.rep(21))] if x],
        "status": status_code,
        "category": categories,
        "code": code,
        "subject": ctx.subject(),
        "encounter": ctx.context_encounter(),
        "effectiveDateTime": ctx.dt(seg, 14) or effective,
        "performer": [x for x in (ctx.organization(r) for r in seg.reps(23)) if x]
        + [x for x in (ctx.practitioner(r) for r in seg.reps(16)) if x],
        "interpretation": interpretation(seg),
        "method": ctx.code(seg, 17),
        "bodySite": ctx.code(seg, 20),
        "referenceRange": [x for x in [reference_range(seg.value(7), units)] if x],
        "dataAbsentReason": absent_reason,
    }
    if seg.has(15):
        producer = ctx.organization([[seg.value(15, 2) or seg.value(15, 1)], [], [],
                                     [], [], [], [], [], [], [seg.value(15, 1)]])
        if producer:
            obs["performer"].append(producer)
    if seg.has(19):
        t = ctx.dt(seg, 19)
        if t:
            obs["extension"] = [{"url": ANALYSIS_TIME, "valueDateTime": t}]
    if seg.has(18):
        device_ids = [x for x in (ei(r) for r in seg.reps(18)) if x]
        if device_ids:
            obs["device"] = {"identifier": device_ids[0]}
    _apply_values(obs, values, code)
    if values:
        obs.pop("dataAbsentReason", None)  # obs-6: a value and a reason for its absence exclude
    elif absent_reason is None:
        obs["dataAbsentReason"] = {"coding": [fixed_coding(
            "http://terminology.hl7.org/CodeSystem/data-absent-reason",
            "not-performed" if status_code == "cancelled" else "unknown")]}
    seg.touch(2, 4, 5, 6, 7, 11)
    return ctx.add(obs, seg)


def _apply_values(obs: dict, values: list[tuple[str, object]], code: dict) -> None:
    if len(values) == 1:
        name, v = values[0]
        if name == "extension":
            obs.setdefault("extension", []).extend(v)  # type: ignore[arg-type]
        else:
            obs[name] = v
    elif len(values) > 1:
        # OBX-5 repeats (and OBX-2 is not NA): one Observation with a component per repetition.
        # each component holds its own copy of the code (see Context.add)
        comps = []
        for name, v in values:
            if name == "extension":
                comps.append(compact({"code": clone(code), "extension": v}))
            else:
                comps.append(compact({"code": clone(code), name: v}))
        obs["component"] = comps


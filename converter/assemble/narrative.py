"""Generated XHTML narratives for IPS sections: one table row per item (date, what, details,
status).

Built as an lxml tree and serialised once, so every string from a source is escaped and the result
is well-formed XHTML by construction (no text templating). Characters XML cannot hold are dropped.
Clinical terms are shown as the source wrote them; dates as written, never moved to another zone.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Callable

from lxml import etree

from ..summary.fhirtext import (date_text, first, markup_text, one_line, period_text, quantity,
                                term)
from ..vocabulary import rows

XHTML = "http://www.w3.org/1999/xhtml"
LABELS = "ips/labels.csv"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

Resolve = Callable[[Any], "dict | None"]


@lru_cache(maxsize=1)
def labels() -> dict[str, str]:
    """Narrative labels (column heads, small words) from `mappings/ips/labels.csv`."""
    return {r["key"]: r["text"] for r in rows(LABELS)}


def _clean(text: Any) -> str:
    return _NOT_XML.sub("", one_line(text)) if text not in (None, "") else ""


def _el(parent: etree._Element | None, tag: str, text: str = "") -> etree._Element:
    name = f"{{{XHTML}}}{tag}"
    if parent is None:
        el = etree.Element(name, nsmap={None: XHTML})
    else:
        el = etree.SubElement(parent, name)
    if text:
        el.text = _clean(text)
    return el


def _div() -> etree._Element:
    return _el(None, "div")


def _serialise(div: etree._Element) -> dict[str, str]:
    return {"status": "generated", "div": etree.tostring(div, encoding="unicode")}


def paragraph(text: str) -> dict[str, str]:
    """A narrative holding one paragraph (an empty section's "No information available")."""
    div = _div()
    _el(div, "p", text)
    return _serialise(div)


def table(rows_: list[tuple[int, list[str]]]) -> dict[str, str]:
    """A narrative table; each row is (depth, [date, item, details, status])."""
    lab = labels()
    div = _div()
    tab = _el(div, "table")
    head = _el(_el(tab, "thead"), "tr")
    for key in ("date", "item", "details", "status"):
        _el(head, "th", lab[key])
    body = _el(tab, "tbody")
    for depth, cells in rows_:
        tr = _el(body, "tr")
        for i, cell in enumerate(cells):
            text = f"{lab['member']} {cell}" if i == 1 and depth and cell else cell
            _el(tr, "td", text)
    return _serialise(div)


def lines(items: list[str]) -> dict[str, str]:
    """A narrative of paragraphs (Composition.text)."""
    div = _div()
    for item in items:
        _el(div, "p", item)
    return _serialise(div)


# -- what each resource type shows ----------------------------------------------------------------

def _when(value: Any) -> str:
    if isinstance(value, dict):
        if "start" in value or "end" in value:
            return period_text(value)
        if "value" in value:  # an Age
            v, unit = quantity(value)
            return f"{v} {unit}".strip()
        return ""
    return date_text(value, with_time=True) if isinstance(value, str) else ""


DATES: dict[str, tuple[str, ...]] = {
    "Condition": ("onsetDateTime", "onsetPeriod", "onsetString", "onsetAge", "recordedDate"),
    "AllergyIntolerance": ("onsetDateTime", "onsetPeriod", "onsetString", "onsetAge",
                           "recordedDate"),
    "MedicationStatement": ("effectiveDateTime", "effectivePeriod", "dateAsserted"),
    "MedicationRequest": ("authoredOn",),
    "MedicationAdministration": ("effectiveDateTime", "effectivePeriod"),
    "MedicationDispense": ("whenHandedOver", "whenPrepared"),
    "Immunization": ("occurrenceDateTime", "occurrenceString", "recorded"),
    "Procedure": ("performedDateTime", "performedPeriod", "performedString", "performedAge"),
    "DeviceUseStatement": ("timingDateTime", "timingPeriod", "recordedOn"),
    "Observation": ("effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued"),
    "DiagnosticReport": ("effectiveDateTime", "effectivePeriod", "issued"),
    "ImagingStudy": ("started",),
    "Consent": ("dateTime",),
    "CarePlan": ("period", "created"),
    "ServiceRequest": ("occurrenceDateTime", "occurrencePeriod", "authoredOn"),
    "Goal": ("startDate", "target.dueDate", "statusDate"),
    "DocumentReference": ("date", "context.period"),
    "Flag": ("period",),
}


def date_of(resource: dict) -> str:
    """The date a narrative shows for a resource ("" when it has none)."""
    for path in DATES.get(resource.get("resourceType", ""), ()):
        shown = _when(first(resource, path))
        if shown:
            return shown
    return ""


_ISO = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?$")


def raw_date(resource: dict) -> str:
    """The clinical date of a resource as written (ISO 8601; a Period gives its start), or ""."""
    for path in DATES.get(resource.get("resourceType", ""), ()):
        value = first(resource, path)
        if isinstance(value, dict):
            value = value.get("start") or value.get("end")
        if isinstance(value, str) and _ISO.match(value):
            return value
    return ""


def instant_key(value: str) -> str:
    """A key that sorts ISO 8601 dates and dateTimes in time order across offsets.

    A time with an offset is moved to UTC for the comparison only; a date sorts as its first moment.
    """
    if "T" not in value:
        return value
    text = value.replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def value_text(item: dict) -> str:
    """The value of an Observation or component as text (with the reason when it is absent)."""
    if "valueQuantity" in item:
        v, unit = quantity(item["valueQuantity"])
        return f"{v} {unit}".strip()
    if "valueCodeableConcept" in item:
        return str(term(item["valueCodeableConcept"]))
    for key in ("valueString", "valueDateTime", "valueTime"):
        if key in item:
            return one_line(item[key])
    if "valueBoolean" in item:
        return "yes" if item["valueBoolean"] else "no"
    if "valueInteger" in item:
        return str(item["valueInteger"])
    if "valueRange" in item:
        low = " ".join(quantity(item["valueRange"].get("low"))).strip()
        high = " ".join(quantity(item["valueRange"].get("high"))).strip()
        return f"{low} – {high}" if low and high else f"≥ {low}" if low else f"≤ {high}"
    if "valueRatio" in item:
        n, nu = quantity(item["valueRatio"].get("numerator"))
        d, du = quantity(item["valueRatio"].get("denominator"))
        return f"{n} {nu} / {d} {du}".strip()
    if "valuePeriod" in item:
        return period_text(item["valuePeriod"])
    if "dataAbsentReason" in item:
        return f"{labels()['no_value']}: {term(item['dataAbsentReason'])}"
    return ""


def _observation(r: dict) -> str:
    parts = [value_text(r)] if value_text(r) else []
    for comp in r.get("component") or []:
        shown = value_text(comp)
        if shown:
            parts.append(f"{term(comp.get('code'))}: {shown}")
    for interp in r.get("interpretation") or []:
        shown = str(term(interp))
        if shown:
            parts.append(f"({shown})")
    return "; ".join(p for p in parts if p)


def _status(r: dict, *paths: str) -> str:
    shown = []
    for path in paths:
        v = first(r, path)
        text = str(term(v)) if isinstance(v, dict) else one_line(v) if v is not None else ""
        if text and text not in shown:
            shown.append(text)
    return " / ".join(shown)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _labelled(key: str, value: Any) -> str:
    text = one_line(value) if value not in (None, "") else ""
    return f"{labels()[key]} {text}" if text else ""


def _medication(r: dict, resolve: Resolve) -> str:
    if r.get("medicationCodeableConcept"):
        return str(term(r["medicationCodeableConcept"]))
    med = resolve(r.get("medicationReference"))
    if med is not None and med.get("code"):
        return str(term(med["code"]))
    ref = r.get("medicationReference")
    return one_line(ref.get("display")) if isinstance(ref, dict) and ref.get("display") else ""


def _dosage(items: Any) -> str:
    texts = [one_line(d.get("text")) or str(term(d.get("route"))) for d in items or []
             if isinstance(d, dict)]
    return "; ".join(t for t in texts if t)


def _device(r: dict, resolve: Resolve) -> str:
    dev = resolve(r.get("device")) or {}
    return (one_line(first(dev, "deviceName.name")) or str(term(dev.get("type")))
            or one_line((r.get("device") or {}).get("display")))


def _reactions(r: dict) -> str:
    out = []
    for reaction in r.get("reaction") or []:
        shown = ", ".join(str(term(m)) for m in reaction.get("manifestation") or [] if term(m))
        if reaction.get("severity"):
            shown = f"{shown} ({reaction['severity']})" if shown else reaction["severity"]
        if shown:
            out.append(f"{labels()['reaction']}: {shown}")
    return "; ".join(out)


def _imaging(r: dict) -> tuple[str, str]:
    found = {str((s.get("modality") or {}).get("code") or "") for s in r.get("series") or []
             if isinstance(s, dict)}
    modalities = ", ".join(sorted(found - {""}))
    what = (one_line(r.get("description")) or str(term(first(r, "procedureCode")))
            or modalities or "ImagingStudy")
    lab = labels()
    counts = []
    if r.get("numberOfSeries") is not None:
        counts.append(f"{r['numberOfSeries']} {lab['series']}")
    if r.get("numberOfInstances") is not None:
        counts.append(f"{r['numberOfInstances']} {lab['instances']}")
    return what, _join(modalities if what != modalities else "", ", ".join(counts))


def cells(r: dict, resolve: Resolve) -> list[str]:
    """[date, item, details, status] of one resource."""
    rtype = r.get("resourceType")
    when = date_of(r)
    what, details, status = str(term(r.get("code"))), "", one_line(r.get("status"))
    if rtype == "Condition":
        abated = _when(r.get("abatementDateTime") or r.get("abatementPeriod"))
        details = _join(_labelled("resolved", abated), str(term(r.get("severity"))),
                        ", ".join(str(term(b)) for b in r.get("bodySite") or []))
        status = _status(r, "clinicalStatus", "verificationStatus")
    elif rtype == "AllergyIntolerance":
        details = _join(", ".join(r.get("category") or []), one_line(r.get("criticality")),
                        _reactions(r))
        status = _status(r, "clinicalStatus", "verificationStatus")
    elif rtype in ("MedicationStatement", "MedicationAdministration", "MedicationDispense"):
        what = _medication(r, resolve)
        details = _dosage(r.get("dosage") if rtype == "MedicationStatement"
                          else r.get("dosageInstruction") if rtype == "MedicationDispense"
                          else [r.get("dosage")])
    elif rtype == "MedicationRequest":
        what = _medication(r, resolve)
        details = _dosage(r.get("dosageInstruction"))
        status = _status(r, "status", "intent")
    elif rtype == "Immunization":
        what = str(term(r.get("vaccineCode")))
        details = _join(_labelled("lot", r.get("lotNumber")),
                        _labelled("dose", first(r, "protocolApplied.doseNumberPositiveInt",
                                                "protocolApplied.doseNumberString")),
                        str(term(r.get("statusReason"))))
    elif rtype == "Procedure":
        details = ", ".join(str(term(b)) for b in r.get("bodySite") or [])
    elif rtype == "DeviceUseStatement":
        what = _device(r, resolve)
        details = str(term(r.get("bodySite")))
    elif rtype == "Observation":
        details = _observation(r)
    elif rtype == "DiagnosticReport":
        details = one_line(r.get("conclusion"))
    elif rtype == "ImagingStudy":
        what, details = _imaging(r)
    elif rtype == "Consent":
        what = _join(str(term(r.get("scope"))),
                     ", ".join(str(term(c)) for c in r.get("category") or [] if term(c)))
    elif rtype == "CarePlan":
        what = one_line(r.get("title")) or one_line(r.get("description")) or \
            ", ".join(str(term(c)) for c in r.get("category") or [])
        status = _status(r, "status", "intent")
    elif rtype == "ServiceRequest":
        details = _labelled("intent", r.get("intent"))
    elif rtype == "Goal":
        what = str(term(r.get("description")))
        status = one_line(r.get("lifecycleStatus"))
    elif rtype == "DocumentReference":
        what = one_line(r.get("description")) or str(term(r.get("type")))
        details = markup_text((r.get("text") or {}).get("div")) or \
            one_line(first(r, "content.attachment.title"))
    return [when, what or rtype or "", details, status]

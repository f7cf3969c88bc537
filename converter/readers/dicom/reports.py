"""Reports that travel with images: Structured Reports -> DiagnosticReport + Observations, and
Encapsulated PDF / CDA -> DocumentReference.

An SR content item that states a value (NUM, CODE, TEXT, DATE, TIME, DATETIME, PNAME) and that the
document CONTAINS becomes an Observation; its modifiers and properties become components. The whole
content tree is also rendered as plain text in DiagnosticReport.presentedForm, so image references,
spatial coordinates and context items that have no Observation form are still there to read.
"""
from __future__ import annotations

import base64
import hashlib

from pydicom.dataset import Dataset

from ...fhir.datatypes import codeable, decimal_or_none, prune
from ...fhir.ids import ref, resource_id
from ...issues import Issue, Location
from ...vocabulary import table
from .codes import code_sequence, local_schemes
from .grouping import Report
from .names import display, person_names
from .people import practitioner
from .values import ascii_value, fhir_datetime, fhir_dt, fhir_time, sequence, text_value

CONTENT_DATE, CONTENT_TIME, ACQUISITION_DATETIME = 0x00080023, 0x00080033, 0x0008002A
TIMEZONE = 0x00080201
RELATIONSHIP, VALUE_TYPE, CONCEPT_NAME = 0x0040A010, 0x0040A040, 0x0040A043
DATETIME, DATE, TIME, PERSON_NAME, UID = 0x0040A120, 0x0040A121, 0x0040A122, 0x0040A123, 0x0040A124
TEXT_VALUE, CONCEPT_CODE, MEASURED_VALUE = 0x0040A160, 0x0040A168, 0x0040A300
NUMERIC_VALUE, UNITS = 0x0040A30A, 0x004008EA
CONTENT, COMPLETION, VERIFICATION = 0x0040A730, 0x0040A491, 0x0040A493
VERIFYING_OBSERVERS, VERIFYING_OBSERVER_NAME = 0x0040A073, 0x0040A075
VERIFICATION_DATETIME = 0x0040A030
REFERENCED_SOP, REFERENCED_SOP_INSTANCE = 0x00081199, 0x00081155
DOCUMENT_TITLE, ENCAPSULATED, MIME_TYPE, DOCUMENT_LENGTH = 0x00420010, 0x00420011, 0x00420012, \
    0x00420015
MAPPED_TAGS = frozenset({CONTENT_DATE, CONTENT_TIME, ACQUISITION_DATETIME, VALUE_TYPE, CONCEPT_NAME,
                         CONTENT, COMPLETION, VERIFICATION, VERIFYING_OBSERVERS, DOCUMENT_TITLE,
                         ENCAPSULATED, MIME_TYPE, DOCUMENT_LENGTH, 0x0040A050,  # Continuity
                         0x00080110})  # Coding Scheme Identification Sequence
OBSERVED_TYPES = frozenset({"NUM", "CODE", "TEXT", "DATE", "TIME", "DATETIME", "PNAME"})
MODIFIERS = frozenset({"HAS CONCEPT MOD", "HAS PROPERTIES", "INFERRED FROM"})
RAD = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD",
                   "display": "Radiology"}]}
IMAGING = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                       "code": "imaging", "display": "Imaging"}]}
LOINC_IMAGING_REPORT = {"system": "http://loinc.org", "code": "18748-4",
                        "display": "Diagnostic imaging study"}


class _Context:
    """What every resource of one report shares while its content tree is walked."""

    def __init__(self, report: Report, patient: dict, study: dict, issues: list[Issue]) -> None:
        self.ds = report.header
        self.sop = report.instance.sop_uid
        self.loc = Location(source=report.instance.source)
        self.patient, self.study, self.issues = patient, study, issues
        self.tz = ascii_value(self.ds, TIMEZONE)
        self.local = local_schemes(self.ds)
        self.status = _status(self.ds)
        self.lines: list[str] = []
        self.skipped: dict[str, int] = {}
        self.consumed: set[int] = set()  # modifier items mapped as Observation components
        self.cut = False
        self.when = self.datetime(CONTENT_DATE, CONTENT_TIME, "Content Date/Time")

    def datetime(self, date_tag: int, time_tag: int, label: str) -> str | None:
        value, how = fhir_datetime(ascii_value(self.ds, date_tag), ascii_value(self.ds, time_tag),
                                   self.tz)
        self.cut = self.cut or how == "cut"
        if how == "invalid":
            self.issues.append(Issue("warning", "invalid-date", f"{label} is not a valid date",
                                     self.loc))
        return value


def structured_report(report: Report, patient: dict, study: dict,
                      issues: list[Issue]) -> list[dict]:
    """A DiagnosticReport with its Observations (and the verifying observers as Practitioners)."""
    ctx = _Context(report, patient, study, issues)
    ds = ctx.ds
    observations: list[dict] = []
    if CONTENT not in ds:
        issues.append(Issue("warning", "truncated",
                            "the Structured Report has no Content Sequence (0040,A730): it was "
                            "written empty or cut short", Location(source=ctx.loc.source,
                                                                    tag="(0040,A730)")))
    _walk(ctx, ds, "", 0, observations)
    title = report.instance.title
    code = codeable(*code_sequence(ds, CONCEPT_NAME, ctx.local), text=title or None) or \
        {"coding": [LOINC_IMAGING_REPORT], "text": "Structured report"}
    observers = []
    for item in sequence(ds, VERIFYING_OBSERVERS):
        for name in person_names(item, VERIFYING_OBSERVER_NAME):
            p = practitioner(name)
            if p is not None:
                observers.append(p)
    issued = None
    for item in sequence(ds, VERIFYING_OBSERVERS)[:1]:
        issued, _ = fhir_dt(ascii_value(item, VERIFICATION_DATETIME), ctx.tz)
    if issued is None or "T" not in issued:
        issued = ctx.when if ctx.when and "T" in ctx.when else None
    text = "\n".join(ctx.lines) + "\n"
    diagnostic = prune({
        "resourceType": "DiagnosticReport",
        "id": resource_id("DiagnosticReport", "dicom-sr", ctx.sop),
        "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{ctx.sop}"}],
        "status": ctx.status[0],
        "category": [RAD],
        "code": code,
        "subject": ref(patient),
        "effectiveDateTime": ctx.when,
        "issued": issued,
        "resultsInterpreter": [ref(p) for p in observers],
        "result": [ref(o) for o in observations],
        "imagingStudy": [ref(study)],
        "presentedForm": [{"contentType": "text/plain; charset=utf-8",
                           "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                           "title": title or "Structured report"}],
    })
    if ctx.cut:
        issues.append(Issue("information", "timezone-assumed",
                            "the report's times have no Timezone Offset From UTC (0008,0201): "
                            "kept as dates only", ctx.loc))
    if ctx.skipped:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(ctx.skipped.items()))
        issues.append(Issue("information", "unmapped-field",
                            f"SR content items with no Observation form ({kinds}) are kept in the "
                            "report's text (presentedForm) only", ctx.loc))
    return [diagnostic, *observations, *observers]


def _walk(ctx: _Context, node: Dataset, path: str, depth: int, out: list[dict]) -> None:
    for n, item in enumerate(sequence(node, CONTENT), 1):
        here = f"{path}.{n}" if path else str(n)
        vtype = ascii_value(item, VALUE_TYPE)
        relation = ascii_value(item, RELATIONSHIP)
        name = _name(item)
        value = _value_text(item, vtype, ctx)
        ctx.lines.append("  " * depth + " ".join(p for p in (relation, vtype, name and f"{name}:",
                                                             value) if p))
        obs = None
        if vtype in OBSERVED_TYPES and relation == "CONTAINS":
            obs = _observation(ctx, item, vtype, here)
            if obs is not None:
                out.append(obs)
        if obs is None and vtype != "CONTAINER" and id(item) not in ctx.consumed:
            ctx.skipped[vtype or "untyped"] = ctx.skipped.get(vtype or "untyped", 0) + 1
        _walk(ctx, item, here, depth + 1, out)


def _observation(ctx: _Context, item: Dataset, vtype: str, path: str) -> dict | None:
    code = codeable(*code_sequence(item, CONCEPT_NAME, ctx.local))
    if code is None:
        return None
    components = []
    for child in sequence(item, CONTENT):
        ctype = ascii_value(child, VALUE_TYPE)
        if ascii_value(child, RELATIONSHIP) in MODIFIERS and ctype in OBSERVED_TYPES:
            ccode = codeable(*code_sequence(child, CONCEPT_NAME, ctx.local))
            # obs-7: a component may not repeat the Observation's own code
            if ccode is not None and ccode.get("coding") != code.get("coding"):
                components.append({"code": ccode, **_value(ctx, child, ctype)})
                ctx.consumed.add(id(child))
    return prune({
        "resourceType": "Observation",
        "id": resource_id("Observation", "dicom-sr", ctx.sop, path),
        "status": ctx.status[1],
        "category": [IMAGING],
        "code": code,
        "subject": ref(ctx.patient),
        "effectiveDateTime": ctx.when,
        "derivedFrom": [ref(ctx.study)],
        **_value(ctx, item, vtype),
        "component": components,
    })


def _value(ctx: _Context, item: Dataset, vtype: str) -> dict:
    """The value[x] of a content item."""
    if vtype == "TEXT":
        return {"valueString": text_value(item, TEXT_VALUE)}
    if vtype == "PNAME":
        names = person_names(item, PERSON_NAME)
        return {"valueString": display(names[0]) if names else None}
    if vtype == "CODE":
        return {"valueCodeableConcept": codeable(*code_sequence(item, CONCEPT_CODE, ctx.local))}
    if vtype == "NUM":
        return {"valueQuantity": _quantity(item, ctx)}
    if vtype == "DATETIME":
        value, how = fhir_dt(ascii_value(item, DATETIME), ctx.tz)
        ctx.cut = ctx.cut or how == "cut"
        return {"valueDateTime": value}
    if vtype == "DATE":
        value, _ = fhir_datetime(ascii_value(item, DATE), "", "")
        return {"valueDateTime": value}
    if vtype == "TIME":
        return {"valueTime": fhir_time(ascii_value(item, TIME))}
    return {}


def _quantity(item: Dataset, ctx: _Context) -> dict | None:
    for mv in sequence(item, MEASURED_VALUE)[:1]:
        value = decimal_or_none(ascii_value(mv, NUMERIC_VALUE))
        if value is None:
            return None
        unit = code_sequence(mv, UNITS, ctx.local)
        u = unit[0] if unit else {}
        system = u.get("system")
        # qty-3: a unit code only with its system; an unknown scheme keeps the unit as text
        return prune({"value": value, "unit": u.get("display") or u.get("code"),
                      "system": system, "code": u.get("code") if system else None})
    return None


def _name(item: Dataset) -> str:
    for c in sequence(item, CONCEPT_NAME)[:1]:
        return text_value(c, 0x00080104) or ascii_value(c, 0x00080100)
    return ""


def _value_text(item: Dataset, vtype: str, ctx: _Context) -> str:
    """A content item's value as one line of text, for presentedForm."""
    if vtype == "TEXT":
        return " / ".join(text_value(item, TEXT_VALUE).replace("\r\n", "\n")
                          .replace("\r", "\n").split("\n"))
    if vtype == "CODE":
        return "; ".join(c.get("display") or c.get("code", "") for c in
                         code_sequence(item, CONCEPT_CODE, ctx.local))
    if vtype == "NUM":
        for mv in sequence(item, MEASURED_VALUE)[:1]:
            units = code_sequence(mv, UNITS, ctx.local)
            unit = units[0].get("code", "") if units else ""
            return f"{ascii_value(mv, NUMERIC_VALUE)} {unit}".strip()
        return ""
    if vtype == "PNAME":
        names = person_names(item, PERSON_NAME)
        return display(names[0]) if names else ""
    if vtype in ("DATETIME", "DATE", "TIME", "UIDREF"):
        tag = {"DATETIME": DATETIME, "DATE": DATE, "TIME": TIME, "UIDREF": UID}[vtype]
        return ascii_value(item, tag)
    if vtype in ("IMAGE", "COMPOSITE", "WAVEFORM"):
        refs = [ascii_value(r, REFERENCED_SOP_INSTANCE) for r in sequence(item, REFERENCED_SOP)]
        return ", ".join(r for r in refs if r)
    return ""


def _status(ds: Dataset) -> tuple[str, str]:
    """(DiagnosticReport.status, Observation.status) from Completion and Verification Flags."""
    key = f"{ascii_value(ds, COMPLETION).upper()}|{ascii_value(ds, VERIFICATION).upper()}"
    row = table("dicom/report-status.csv").get(key)
    if row is None:
        return "final", "final"
    return row["report_status"], row["observation_status"]


def encapsulated_document(report: Report, patient: dict, study: dict,
                          issues: list[Issue]) -> list[dict]:
    """A DocumentReference carrying an Encapsulated PDF or CDA document, data included."""
    ds, inst = report.header, report.instance
    loc = Location(source=inst.source, tag="(0042,0011)")
    try:
        data = ds[ENCAPSULATED].value if ENCAPSULATED in ds else None
    except Exception as exc:  # a deferred value whose file has gone since
        issues.append(Issue("error", "unreadable", f"Encapsulated Document cannot be read: {exc}",
                            loc))
        data = None
    if not isinstance(data, bytes) or not data:
        issues.append(Issue("error", "missing-field",
                            "no Encapsulated Document (0042,0011) in an encapsulated document "
                            "instance; no DocumentReference", loc))
        return []
    length = ds.get_item(DOCUMENT_LENGTH)
    try:
        declared = int(ds[DOCUMENT_LENGTH].value) if length is not None else None
    except (TypeError, ValueError):
        declared = None
    if declared is not None and 0 < declared <= len(data):
        data = data[:declared]
    elif len(data) % 2 == 0 and data.endswith(b"\x00"):
        data = data[:-1]  # the pad byte that makes a DICOM value's length even
    tz = ascii_value(ds, TIMEZONE)
    created, how = fhir_datetime(ascii_value(ds, CONTENT_DATE), ascii_value(ds, CONTENT_TIME), tz)
    if created is None:
        created, how = fhir_dt(ascii_value(ds, ACQUISITION_DATETIME), tz)
    if how == "cut":
        issues.append(Issue("information", "timezone-assumed",
                            "the document's Content Date/Time has no Timezone Offset From UTC "
                            "(0008,0201): kept as a date only (no DocumentReference.date)",
                            Location(source=inst.source)))
    title = inst.title
    mime = text_value(ds, MIME_TYPE) or "application/octet-stream"
    return [prune({
        "resourceType": "DocumentReference",
        "id": resource_id("DocumentReference", "dicom-encapsulated", inst.sop_uid),
        "masterIdentifier": {"system": "urn:dicom:uid", "value": f"urn:oid:{inst.sop_uid}"},
        "status": "current",
        "type": codeable(*code_sequence(ds, CONCEPT_NAME, local_schemes(ds)),
                         text=title or None),
        "subject": ref(patient),
        "date": created if created and "T" in created else None,
        "description": title,
        "content": [{"attachment": {
            "contentType": mime,
            "data": base64.b64encode(data).decode("ascii"),
            "size": len(data),
            "hash": base64.b64encode(hashlib.sha1(data).digest()).decode("ascii"),
            "title": title or None,
            "creation": created,
        }}],
        "context": {"related": [ref(study)]},
    })]

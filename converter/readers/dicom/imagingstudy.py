"""One study's files -> ImagingStudy (R4), following STANDARDS.md 3.1.

Counts, modalities and series come from the files actually read (the header fields that hold them,
(0008,0061) and (0020,1206..1209), exist only in query responses). Times keep the Timezone Offset
From UTC (0008,0201); without it they are cut to the date and the cut is reported.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pydicom.dataset import Dataset

from ...fhir.datatypes import codeable, coding, prune
from ...fhir.ids import ref, resource_id
from ...issues import Issue, Location
from ...vocabulary import table
from .codes import DCM, SNOMED, code_item, code_sequence, unknown_schemes
from .grouping import Instance, Series, Study
from .names import person_names
from .patient import issuer_of
from .people import practitioner
from .values import ascii_value, fhir_datetime, int_value, sequence, text_value

STUDY_DATE, SERIES_DATE, STUDY_TIME, SERIES_TIME = 0x00080020, 0x00080021, 0x00080030, 0x00080031
ACCESSION, ACCESSION_ISSUER = 0x00080050, 0x00080051
MODALITY, INSTITUTION, INSTITUTION_ADDRESS = 0x00080060, 0x00080080, 0x00080081
REFERRING, TIMEZONE = 0x00080090, 0x00080201
STUDY_DESCRIPTION, PROCEDURE_CODES, SERIES_DESCRIPTION = 0x00081030, 0x00081032, 0x0008103E
DEPARTMENT, PERFORMING, READING, OPERATORS = 0x00081040, 0x00081050, 0x00081060, 0x00081070
ANATOMIC_REGION, BODY_PART = 0x00082218, 0x00180015
STUDY_ID, SERIES_NUMBER, LATERALITY = 0x00200010, 0x00200011, 0x00200060
REASON, REASON_CODES = 0x00401002, 0x0040100A
MAPPED_TAGS = frozenset({
    STUDY_DATE, SERIES_DATE, STUDY_TIME, SERIES_TIME, ACCESSION, ACCESSION_ISSUER, MODALITY,
    INSTITUTION, INSTITUTION_ADDRESS, REFERRING, TIMEZONE, STUDY_DESCRIPTION, PROCEDURE_CODES,
    SERIES_DESCRIPTION, DEPARTMENT, PERFORMING, READING, OPERATORS, ANATOMIC_REGION, BODY_PART,
    STUDY_ID, SERIES_NUMBER, LATERALITY, REASON, REASON_CODES})

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
SOP_CLASS_SYSTEM = "urn:ietf:rfc:3986"


@dataclass
class Built:
    """What building one study produced: resources in order (each once), and issues."""

    resources: list[dict] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    cut_times: list[str] = field(default_factory=list)  # which times lost their clock time
    _seen: set[tuple[str, str]] = field(default_factory=set)

    def add(self, resource: dict | None) -> dict | None:
        """Add a resource unless one of that type and id is there already; returns it."""
        if resource is not None:
            key = (resource["resourceType"], resource["id"])
            if key not in self._seen:
                self._seen.add(key)
                self.resources.append(resource)
        return resource


def study_id(study: Study) -> str:
    """The ImagingStudy id: the Study Instance UID, plus the patient when two patients share it."""
    if study.shared_uid and study.identity is not None:
        return resource_id("ImagingStudy", study.uid, study.identity.patient_id)
    return resource_id("ImagingStudy", study.uid)


def imaging_study(study: Study, patient: dict, out: Built) -> dict:
    """The ImagingStudy of one study, with the Practitioners and Location it references."""
    ds, loc = study.header, Location(source=study.source)
    tz = ascii_value(ds, TIMEZONE)
    started = _when(ds, STUDY_DATE, STUDY_TIME, tz, "Study Date/Time", out, loc)
    series = [_series(s, tz, out) for s in _ordered(study.series.values())]
    referrer = _people(ds, REFERRING, out)[:1]
    modalities = _study_modalities(series)
    resource = {
        "resourceType": "ImagingStudy",
        "id": study_id(study),
        "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{study.uid}"},
                       _accession(ds), {"use": "secondary", "value": ascii_value(ds, STUDY_ID)}],
        "status": "available",
        "modality": modalities,
        "subject": ref(patient),
        "started": started,
        "referrer": ref(referrer[0]) if referrer else None,
        "interpreter": [ref(p) for p in _people(ds, READING, out)],
        "numberOfSeries": len(series),
        "numberOfInstances": sum(s["numberOfInstances"] for s in series),
        "procedureCode": [codeable(c) for c in code_sequence(ds, PROCEDURE_CODES)],
        "location": _location(ds, out),
        "reasonCode": _reasons(ds),
        "description": text_value(ds, STUDY_DESCRIPTION),
        "series": series,
    }
    for tag, name in ((PROCEDURE_CODES, "Procedure Code Sequence"),
                      (REASON_CODES, "Reason for Requested Procedure Code Sequence")):
        for scheme in unknown_schemes(sequence(ds, tag)):
            out.issues.append(Issue("information", "unknown-code",
                                    f"{name}: coding scheme {scheme!r} has no known URI; the code "
                                    "is kept without a system", loc))
    return out.add(prune(resource))


def _ordered(series: Iterable[Series]) -> list[Series]:
    """Series by Series Number (unnumbered last), then UID: the same order for the same files."""
    return sorted(series, key=lambda s: (int_value(s.header, SERIES_NUMBER) is None,
                                         int_value(s.header, SERIES_NUMBER) or 0, s.uid))


def _series(s: Series, tz: str, out: Built) -> dict:
    ds = s.header
    loc = Location(source=s.instances[0].source)
    number = int_value(ds, SERIES_NUMBER)
    instances = sorted(s.instances, key=lambda i: (i.number is None, i.number or 0, i.sop_uid))
    performers = ([_performer(p, "PRF", "performer") for p in _people(ds, PERFORMING, out)]
                  + [_performer(p, "SPRF", "secondary performer")
                     for p in _people(ds, OPERATORS, out)])
    return prune({
        "uid": s.uid,
        "number": number if number is not None and number >= 0 else None,
        "modality": _modality(ascii_value(ds, MODALITY), out, loc),
        "description": text_value(ds, SERIES_DESCRIPTION),
        "numberOfInstances": len(instances),
        "bodySite": _body_site(ds, out, loc),
        "laterality": _laterality(ascii_value(ds, LATERALITY), instances, out, loc),
        "started": _when(ds, SERIES_DATE, SERIES_TIME, tz, "Series Date/Time", out, loc),
        "performer": performers,
        "instance": [_instance(i) for i in instances],
    })


def _instance(i: Instance) -> dict:
    return {k: v for k, v in (
        ("uid", i.sop_uid),
        ("sopClass", {"system": SOP_CLASS_SYSTEM, "code": f"urn:oid:{i.sop_class}"}),
        ("number", i.number if i.number is not None and i.number >= 0 else None),
        ("title", i.title or None),
    ) if v is not None}


def _modality(code: str, out: Built, loc: Location) -> dict:
    row = table("dicom/modalities.csv").get(code)
    if not code:
        out.issues.append(Issue("warning", "missing-field",
                                "no Modality (0008,0060) in the series; recorded as OT (other)",
                                Location(source=loc.source, tag="(0008,0060)")))
        code, row = "OT", table("dicom/modalities.csv").get("OT")
    elif row is None:
        out.issues.append(Issue("information", "unknown-code",
                                f"Modality {code!r} is not a DICOM defined term",
                                Location(source=loc.source, tag="(0008,0060)")))
    return coding(DCM, code, row["display"] if row else None)


def _study_modalities(series: list[dict]) -> list[dict]:
    """The union of the series' acquisition modalities (CID 29), in series order."""
    acquisition = {code for code, row in table("dicom/modalities.csv").items()
                   if row["acquisition"] == "yes"}
    out, seen = [], set()
    for s in series:
        m = s["modality"]
        if m["code"] in acquisition and m["code"] not in seen:
            seen.add(m["code"])
            out.append(m)
    return out


def _body_site(ds: Dataset, out: Built, loc: Location) -> dict | None:
    for item in sequence(ds, ANATOMIC_REGION)[:1]:
        c = code_item(item)
        if c and c.get("code"):
            return c
    term = ascii_value(ds, BODY_PART).upper()
    if not term:
        return None
    row = table("dicom/body-parts.csv").get(term)
    if row is None:
        out.issues.append(Issue("information", "unknown-code",
                                f"Body Part Examined {term!r} is not in the PS3.16 Annex L table; "
                                "no bodySite", Location(source=loc.source, tag="(0018,0015)")))
        return None
    return coding(SNOMED, row["snomed"], row["display"])


def _laterality(code: str, instances: list[Instance], out: Built, loc: Location) -> dict | None:
    if not code:
        sides = {i.laterality for i in instances if i.laterality}
        if len(sides) > 1:
            out.issues.append(Issue("information", "unmapped-field",
                                    f"the series' images lie on different sides "
                                    f"({', '.join(sorted(sides))}); no series laterality",
                                    Location(source=loc.source, tag="(0020,0062)")))
            return None
        code = sides.pop() if sides else ""
    row = table("dicom/laterality.csv").get(code.upper())
    return coding(SNOMED, row["snomed"], row["display"]) if row else None


def _when(ds: Dataset, date_tag: int, time_tag: int, tz: str, label: str, out: Built,
          loc: Location) -> str | None:
    da, tm = ascii_value(ds, date_tag), ascii_value(ds, time_tag)
    value, how = fhir_datetime(da, tm, tz)
    if how == "cut":
        out.cut_times.append(f"{label} {da} {tm}")
    elif how == "invalid":
        out.issues.append(Issue("warning", "invalid-date",
                                f"{label} {da!r} {tm!r} is not a valid DICOM date and time",
                                Location(source=loc.source, tag=f"({date_tag >> 16:04X},"
                                                                f"{date_tag & 0xFFFF:04X})")))
    return value


def _accession(ds: Dataset) -> dict | None:
    value = text_value(ds, ACCESSION)
    if not value:
        return None
    system, assigner = None, ""
    for item in sequence(ds, ACCESSION_ISSUER)[:1]:
        system, assigner = issuer_of(item)
    return prune({"type": {"coding": [coding(V2_0203, "ACSN", "Accession ID")]},
                  "system": system, "value": value,
                  "assigner": {"display": assigner} if assigner and not system else None})


def _reasons(ds: Dataset) -> list[dict]:
    out = [codeable(c) for c in code_sequence(ds, REASON_CODES)]
    text = text_value(ds, REASON)
    if text:
        out.append({"text": text})
    return out


def _people(ds: Dataset, tag: int, out: Built) -> list[dict]:
    people = []
    for name in person_names(ds, tag):
        p = out.add(practitioner(name))
        if p is not None:
            people.append(p)
    return people


def _performer(person: dict, code: str, display: str) -> dict:
    return {"function": {"coding": [coding(PARTICIPATION, code, display)]}, "actor": ref(person)}


def _location(ds: Dataset, out: Built) -> dict | None:
    institution, department = text_value(ds, INSTITUTION), text_value(ds, DEPARTMENT)
    if not institution and not department:
        return None
    org = None
    if institution:
        address = text_value(ds, INSTITUTION_ADDRESS)
        org = out.add(prune({"resourceType": "Organization",
                             "id": resource_id("Organization", "dicom-institution", institution,
                                               address),
                             "name": institution, "address": [{"text": address}]}))
    location = out.add(prune({
        "resourceType": "Location",
        "id": resource_id("Location", "dicom-institution", institution, department),
        "name": department or institution,
        "managingOrganization": ref(org) if org else None,
    }))
    return ref(location)

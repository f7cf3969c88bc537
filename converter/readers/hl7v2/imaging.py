"""Study Instance UIDs named by orders and reports -> ImagingStudy, so that the study a radiology
report or order speaks of meets the ImagingStudy the DICOM files make (assembly merges them by UID).

Where the UID travels: IPC-3 (v2.6+ Imaging Procedure Control), ZDS-1 (IHE Scheduled Workflow's
Z-segment), or an OBX whose code is DICOM 113014 "Study Instance UID".
"""
from __future__ import annotations

import re

from ...fhir.ids import ref, resource_id
from .context import Context
from .message import Segment

DCM = "http://dicom.nema.org/resources/ontology/DCM"
STUDY_UID_CODES = frozenset({"113014"})
_UID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")


def study_uid(seg: Segment) -> tuple[str, int] | None:
    """(UID, field) when `seg` carries a Study Instance UID, else None."""
    if seg.name == "IPC":
        value, n = seg.value(3), 3
    elif seg.name == "ZDS":
        value, n = seg.value(1), 1
    elif seg.name == "OBX" and seg.value(3, 1) in STUDY_UID_CODES:
        value, n = seg.value(5), 5
    else:
        return None
    value = value.strip()
    return (value, n) if _UID.match(value) else None


def map_study(seg: Segment, ctx: Context, uid: str, field: int, report: dict | None,
              request: dict | None) -> dict:
    """An ImagingStudy for `uid` (one per message), linked from the report and to the order."""
    seg.touch(field)
    sid = resource_id("ImagingStudy", uid, "hl7v2", ctx.patient["id"] if ctx.patient else "")
    study = ctx.resource(sid)
    if study is None:
        study = ctx.add({
            "resourceType": "ImagingStudy",
            "id": sid,
            "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{uid}"}],
            # a report speaks of images that exist; an order of a study still to come
            "status": "available" if report is not None else "registered",
            "subject": ctx.subject() or {"display": "unknown patient"},
            "basedOn": [ref(request)] if request else None,
        }, seg)
    if report is not None and {"reference": f"urn:uuid:{study['id']}"} not in report.get(
            "imagingStudy", []):
        report.setdefault("imagingStudy", []).append(ref(study))
    return study

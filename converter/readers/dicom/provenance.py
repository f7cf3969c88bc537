"""The Provenance of a study: which files (and DICOMDIR) the resources came from.

Provenance.recorded must be an instant. No wall clock may leak into the output, so it is the
SOURCE_DATE_EPOCH when that pins time, else the newest modification time of the study's files (a
fact of the input, in UTC). Input given as bytes has neither: then no Provenance, and an issue
says so.
"""
from __future__ import annotations

from datetime import datetime, timezone

from ...assemble.bundle import timestamp
from ...fhir.ids import ref, resource_id
from .grouping import Instance

ASSEMBLER = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                         "code": "assembler", "display": "Assembler"}]}
SOURCE_ROLE = "source"


def converter_device() -> dict:
    """The converter as a Device, the agent that assembled the resources."""
    from ... import __version__

    return {"resourceType": "Device", "id": resource_id("Device", "medbundle"),
            "deviceName": [{"name": "medbundle", "type": "user-friendly-name"}],
            "version": [{"value": __version__}]}


def recorded(instances: list[Instance]) -> str | None:
    """The instant the Provenance records (see the module docstring), or None when none is known."""
    pinned = timestamp()
    if pinned:
        return pinned
    times = [i.mtime for i in instances if i.mtime is not None]
    if not times:
        return None
    return datetime.fromtimestamp(int(max(times)), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def provenance(targets: list[dict], instances: list[Instance], dicomdirs: list[str],
               device: dict, study_uid: str) -> dict | None:
    """A Provenance naming every file of the study (by SOP Instance UID and file name)."""
    when = recorded(instances)
    if when is None:
        return None
    entities = [{"role": SOURCE_ROLE,
                 "what": {"identifier": {"system": "urn:dicom:uid",
                                         "value": f"urn:oid:{i.sop_uid}"},
                          "display": i.source}}
                for i in sorted(instances, key=lambda i: i.source)]
    entities += [{"role": SOURCE_ROLE, "what": {"display": d}} for d in dicomdirs]
    return {
        "resourceType": "Provenance",
        "id": resource_id("Provenance", "dicom-study", study_uid, targets[0]["id"]),
        "target": [ref(t) for t in targets],
        "recorded": when,
        "agent": [{"type": ASSEMBLER, "who": ref(device)}],
        "entity": entities,
    }

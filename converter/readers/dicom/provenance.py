"""The Provenance of a study: which files (and DICOMDIR) the resources came from.

Provenance.recorded must be an instant. Neither the wall clock nor file modification times (which
change with every copy or checkout) may leak into the output, so it is SOURCE_DATE_EPOCH when that
pins time, else a data-absent-reason, as for the other readers.
"""
from __future__ import annotations

from ...assemble.bundle import timestamp
from ...fhir.datatypes import absent
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


def recorded() -> str | None:
    """The instant the Provenance records (see the module docstring), or None when none is pinned."""
    return timestamp()


def provenance(targets: list[dict], instances: list[Instance], dicomdirs: list[str],
               device: dict, study_uid: str) -> dict:
    """A Provenance naming every file of the study (by SOP Instance UID and file name)."""
    when = recorded()
    entities = [{"role": SOURCE_ROLE,
                 "what": {"identifier": {"system": "urn:dicom:uid",
                                         "value": f"urn:oid:{i.sop_uid}"},
                          "display": i.source}}
                for i in sorted(instances, key=lambda i: i.source)]
    entities += [{"role": SOURCE_ROLE, "what": {"display": d}} for d in dicomdirs]
    out = {
        "resourceType": "Provenance",
        "id": resource_id("Provenance", "dicom-study", study_uid, targets[0]["id"]),
        "target": [ref(t) for t in targets],
        "agent": [{"type": ASSEMBLER, "who": ref(device)}],
        "entity": entities,
    }
    if when:
        out["recorded"] = when
    else:
        out["_recorded"] = absent("unknown")
    return out

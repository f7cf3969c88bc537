"""Practitioners named in a header (referring, reading, performing physicians, operators)."""
from __future__ import annotations

from ...fhir.datatypes import prune
from ...fhir.ids import resource_id
from .names import DecodedName, human_names


def practitioner(name: DecodedName) -> dict | None:
    """A Practitioner for one PN value; the name as written is its only key, so the same person
    named in many files is one resource."""
    names = human_names(name)
    if not names:
        return None
    return prune({"resourceType": "Practitioner",
                  "id": resource_id("Practitioner", "dicom-pn", name.text),
                  "name": names})

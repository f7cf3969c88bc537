"""OID -> the canonical URI FHIR wants for a code or identifier system.

First `mappings/identifier-systems.csv` (ours, overridable), then the HL7 Terminology
NamingSystems the validator's definitions carry (so the readers use the URI the validator expects),
else `urn:oid:`. R4: a listed URI "SHALL be used in preference to any other identifying mechanism".
"""
from __future__ import annotations

from functools import lru_cache

from ..vocabulary import table


@lru_cache(maxsize=4096)
def oid_uri(oid: str) -> str:
    """The URI for an OID (without the urn:oid: prefix)."""
    row = table("identifier-systems.csv", key="oid").get(oid)
    if row and row.get("uri"):
        return row["uri"]
    from ..validate.definitions import definitions

    return definitions().oids.get(oid) or f"urn:oid:{oid}"

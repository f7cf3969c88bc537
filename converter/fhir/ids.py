"""Deterministic resource ids: UUIDv5 over normalised business identifiers (same input, same id)."""
from __future__ import annotations

import uuid

# Fixed namespace for medbundle ids; changing it changes every id ever produced.
NAMESPACE = uuid.UUID("3c1f2a0e-6a57-5d3b-9f0e-6d6564627564")


def resource_id(resource_type: str, *key: object) -> str:
    """A UUIDv5 id for `resource_type` from the parts of its business key."""
    text = resource_type + "|" + "|".join("" if k is None else str(k).strip() for k in key)
    return str(uuid.uuid5(NAMESPACE, text))


def ref(resource: dict) -> dict:
    """A Reference to a resource of the same Bundle (by its urn:uuid fullUrl)."""
    return {"reference": f"urn:uuid:{resource['id']}"}


def ref_id(resource_id_: str) -> dict:
    """A Reference to a resource id of the same Bundle."""
    return {"reference": f"urn:uuid:{resource_id_}"}

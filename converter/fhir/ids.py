"""Deterministic resource ids: UUIDv5 over normalised business identifiers (same input, same id)."""
from __future__ import annotations

import hashlib
import uuid

# Fixed namespace for medbundle ids; changing it changes every id ever produced.
NAMESPACE = uuid.UUID("3c1f2a0e-6a57-5d3b-9f0e-6d6564627564")
_NAMESPACE_BYTES = NAMESPACE.bytes


def resource_id(resource_type: str, *key: object) -> str:
    """A UUIDv5 id for `resource_type` from the parts of its business key."""
    text = resource_type + "|" + "|".join("" if k is None else str(k).strip() for k in key)
    # uuid.uuid5(NAMESPACE, text) spelled out: the same SHA-1 and the same version and variant
    # bits, without building a UUID object (ids are made for every resource of every message)
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + text.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def ref(resource: dict) -> dict:
    """A Reference to a resource of the same Bundle (by its urn:uuid fullUrl)."""
    return {"reference": f"urn:uuid:{resource['id']}"}


def ref_id(resource_id_: str) -> dict:
    """A Reference to a resource id of the same Bundle."""
    return {"reference": f"urn:uuid:{resource_id_}"}

"""Deterministic resource ids: UUIDv5 over normalised business identifiers (same input, same id)."""
from __future__ import annotations

import hashlib
import uuid

# Fixed namespace for medbundle ids; changing it changes every id ever produced.
NAMESPACE = uuid.UUID("3c1f2a0e-6a57-5d3b-9f0e-6d6564627564")
_NAMESPACE_BYTES = NAMESPACE.bytes
# hex digit -> the same digit with its top two bits set to 10 (the RFC 4122 variant)
_VARIANT = {f"{n:x}": f"{(n & 0x3) | 0x8:x}" for n in range(16)}


def resource_id(resource_type: str, *key: object) -> str:
    """A UUIDv5 id for `resource_type` from the parts of its business key."""
    text = resource_type + "|" + "|".join(["" if k is None else str(k).strip() for k in key])
    # uuid.uuid5(NAMESPACE, text) spelled out: the same SHA-1 with the version (5) and RFC 4122
    # variant bits set in the hex digits, without building a UUID object (an id is made for
    # every resource of every message)
    h = hashlib.sha1(_NAMESPACE_BYTES + text.encode("utf-8")).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def ref(resource: dict) -> dict:
    """A Reference to a resource of the same Bundle (by its urn:uuid fullUrl)."""
    return {"reference": f"urn:uuid:{resource['id']}"}

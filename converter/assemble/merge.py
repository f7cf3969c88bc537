"""Merging two versions of the same resource (same deterministic id) without losing anything."""
from __future__ import annotations

from typing import Any

import msgspec

_key = msgspec.json.Encoder(decimal_format="number", order="deterministic").encode

# Resources that describe a person or place: several sources add to one record.
MERGED_TYPES = frozenset({"Patient", "Practitioner", "Organization", "Location", "RelatedPerson",
                          "Device", "Medication"})


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`old` completed by `new`: list elements are united (no duplicates), missing elements added.

    Where both hold a different single value, the first one seen is kept: sources are read in input
    order and the result must not depend on anything else.
    """
    out = dict(old)
    for k, v in new.items():
        if k not in out:
            out[k] = v
        elif isinstance(v, list) and isinstance(out[k], list):
            seen = {_key(x) for x in out[k]}
            merged = list(out[k])
            for x in v:
                kx = _key(x)
                if kx not in seen:
                    seen.add(kx)
                    merged.append(x)
            out[k] = merged
    return out

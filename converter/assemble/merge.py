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
            out[k] = _unite(out[k], v)
    return out


def _identity(item: Any) -> tuple | None:
    """Identifiers are the same when system and value agree, whatever else one source adds."""
    if isinstance(item, dict) and isinstance(item.get("value"), str) and (
            "system" in item or "assigner" in item or "type" in item):
        return (item.get("system"), item["value"])
    return None


def _unite(first: list, second: list) -> list:
    merged = list(first)
    seen = {_key(x) for x in merged}
    by_identity = {i: n for n, x in enumerate(merged) if (i := _identity(x)) is not None}
    for x in second:
        if _key(x) in seen:
            continue
        ident = _identity(x)
        if ident is not None and ident in by_identity:
            n = by_identity[ident]
            merged[n] = merge(merged[n], x)  # one identifier, completed (e.g. its type)
            continue
        seen.add(_key(x))
        if ident is not None:
            by_identity[ident] = len(merged)
        merged.append(x)
    return merged

"""Merging two versions of the same resource (same deterministic id) without losing anything."""
from __future__ import annotations

from typing import Any

import msgspec

_ENCODER = msgspec.json.Encoder(decimal_format="number", order="deterministic")
_key = _ENCODER.encode


def _keys(items: list) -> list[bytes]:
    """`_key` of each item, in one call: JSON lines hold no raw newline, so each line is one item."""
    return _ENCODER.encode_lines(items).split(b"\n")[:-1]

# Resources that describe a person or place: several sources add to one record.
MERGED_TYPES = frozenset({"Patient", "Practitioner", "Organization", "Location", "RelatedPerson",
                          "Device", "Medication"})


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`old` completed by `new`: list elements are united (no duplicates), missing elements added.

    Where both hold a different single value, the first one seen is kept: sources are read in input
    order and the result must not depend on anything else. The result is a new dict (callers
    update `old` from it).
    """
    if old == new and _key(old) == _key(new):
        # `new` is `old` sent again (most merges: every message repeats its sender's Practitioner,
        # Organization and Location), so the result is a copy of `old`: no need to unite lists
        # item by item. `==` is quick and mostly decides; the encoded forms confirm it, as merging
        # tells apart what `==` does not (1 and 1.0, two Decimal spellings of one number).
        return dict(old)
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
    seen = set(_keys(merged))
    by_identity: dict[tuple, int] | None = None
    for x, key in zip(second, _keys(second)):
        if key in seen:
            continue
        if by_identity is None:  # only now, as most often `second` adds nothing new
            by_identity = {i: n for n, item in enumerate(merged)
                           if (i := _identity(item)) is not None}
        ident = _identity(x)
        if ident is not None and ident in by_identity:
            n = by_identity[ident]
            merged[n] = merge(merged[n], x)  # one identifier, completed (e.g. its type)
            continue
        seen.add(key)
        if ident is not None:
            by_identity[ident] = len(merged)
        merged.append(x)
    return merged

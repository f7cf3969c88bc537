"""Merging two versions of the same resource (same deterministic id) without losing anything."""
from __future__ import annotations

import re
from typing import Any

import msgspec

# Two list items are one when their encoded forms are equal (not `==`, which takes 1 and 1.0, or
# two Decimal spellings of one number, for the same); keys sorted, so their order does not count.
_key = msgspec.json.Encoder(decimal_format="number", order="deterministic").encode
# The encoded form as it stands, keys in their order (quicker: nothing to sort). A record whose
# form equals that of the one kept is that record sent again: merging it would add nothing.
exact_form = msgspec.json.Encoder(decimal_format="number").encode

# Resources that describe a person or place: several sources add to one record.
MERGED_TYPES = frozenset({"Patient", "Practitioner", "Organization", "Location", "RelatedPerson",
                          "Device", "Medication"})


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`old` completed by `new`: list elements are united (no duplicates), missing elements added.

    Where both hold a different single value, the first one seen is kept: sources are read in input
    order and the result must not depend on anything else. The result is a new dict (callers
    update `old` from it).
    """
    if old == new and exact_form(old) == exact_form(new):
        # `new` is `old` sent again, so the result is a copy of `old`: no need to unite lists
        # item by item. `==` is quick and mostly decides; the forms confirm it.
        return dict(old)
    out = dict(old)
    for k, v in new.items():
        if k not in out:
            if not _other_type_of_choice(out, k):  # deceased[x] holds one type: first one kept
                out[k] = v
        elif isinstance(v, list) and isinstance(out[k], list):
            out[k] = _unite(out[k], v)
    return out


# A choice element's JSON name is its name and a type (deceasedBoolean, deceasedDateTime); the
# merged types (Patient, Medication...) have a few at the top level, which is all merge() unites.
_CHOICE = re.compile(r"_?([a-z][A-Za-z]*?)(Boolean|DateTime|Date|Instant|Time|Integer|"
                     r"PositiveInt|UnsignedInt|Decimal|String|Code|Uri|Url|Markdown|"
                     r"CodeableConcept|Coding|Quantity|Range|Ratio|Period|Age|Duration|"
                     r"Reference|Attachment|Identifier|Timing|Address|HumanName|Annotation)")


def _other_type_of_choice(record: dict[str, Any], key: str) -> bool:
    """Whether `record` already holds the choice element `key` names, with another type."""
    m = _CHOICE.fullmatch(key)
    if m is None:
        return False
    for other in record:
        o = _CHOICE.fullmatch(other)
        if o is not None and o.group(1) == m.group(1) and other.lstrip("_") != key.lstrip("_"):
            return True
    return False


def _identity(item: Any) -> tuple | None:
    """Identifiers are the same when system and value agree, whatever else one source adds."""
    if isinstance(item, dict) and isinstance(item.get("value"), str) and (
            "system" in item or "assigner" in item or "type" in item):
        return (item.get("system"), item["value"])
    return None


def _unite(first: list, second: list) -> list:
    if first == second and exact_form(first) == exact_form(second):
        return list(first)  # the same items: nothing to add (told as in `merge`)
    merged = list(first)
    seen = {_key(x) for x in merged}
    by_identity: dict[tuple, int] | None = None
    for x in second:
        key = _key(x)
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

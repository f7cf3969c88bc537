"""Completeness checks against the standard's definitions (hl7apy's tables): required fields and
required segments, used to tell a truncated message from a complete one."""
from __future__ import annotations

from functools import lru_cache

from .message import Segment
from .structure import Group, Node, library_version


@lru_cache(maxsize=None)
def required_fields(version: str, segment: str) -> tuple[int, ...]:
    """Field numbers the standard marks as required (min cardinality 1) in `segment`."""
    from hl7apy import load_library

    lib_version = library_version(version) or "2.5"
    try:
        spec = load_library(lib_version).SEGMENTS.get(segment)
    except Exception:  # noqa: BLE001 - hl7apy raises its own types for unsupported versions
        return ()
    if not spec:
        return ()
    out = []
    for fld in spec[1]:
        name, card = fld[0], fld[2]
        try:
            n = int(name.rsplit("_", 1)[1])
        except (ValueError, IndexError):
            continue
        if card[0] >= 1 and not (segment == "MSH" and n in (1, 2)):
            out.append(n)
    return tuple(out)


def missing_fields(seg: Segment, version: str) -> list[int]:
    """Required fields of `seg` that hold no value."""
    return [n for n in required_fields(version, seg.name) if not seg.has(n)]


def missing_at_end(tree: Group, root: Node | None) -> list[tuple[str, str]]:
    """(group, child) for required children that would follow the last item of each group still
    open at the end of the message: what a cut at the end of the input removed.

    Required children before the last item are a sender's omission, not a cut, and are not
    reported here. Choice groups (hl7apy lists every alternative as required) are skipped.
    """
    out: list[tuple[str, str]] = []
    group, node = tree, root
    while node is not None and node.children is not None and group.items:
        last = group.items[-1]
        names = [c.name for c in node.children]
        try:
            pos = names.index(last.name)
        except ValueError:
            break
        if not group.name.endswith("_CHOICE"):
            out.extend((group.name, c.name) for c in node.children[pos + 1:] if c.min >= 1)
        if not isinstance(last, Group):
            break
        group, node = last, node.children[pos]
    return out

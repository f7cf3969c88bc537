"""Message structure: MSH-9 -> structure id (with trigger aliases), and segments -> groups.

The group definitions come from hl7apy's per-version tables (its knowledge, not its parser), so NTE,
OBX and SPM attach to the parent the standard gives them (ORDER_OBSERVATION, OBSERVATION, SPECIMEN).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from ...vocabulary import table
from .message import Segment

# hl7apy ships these versions; others fall back to the nearest one below.
HL7APY_VERSIONS = ("2.1", "2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.8",
                   "2.8.1", "2.8.2")
KNOWN_VERSIONS = HL7APY_VERSIONS + ("2.7.1", "2.9")


@dataclass
class Node:
    """A structure definition node: a segment or a group, with its cardinality."""

    name: str
    min: int
    max: int  # -1 = unbounded
    children: list["Node"] | None = None  # None for a segment
    # children is not None: an attribute, not a property, as placing each segment asks it often
    is_group: bool = field(init=False, repr=False, compare=False)
    # a group's placement indexes, made on first use (see _takers and _openers)
    takers: dict[str, tuple[int, ...]] | None = field(default=None, init=False, repr=False,
                                                      compare=False)
    openers: dict[str, int] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.is_group = self.children is not None
        # (set here too: compiled by mypyc, a field with init=False gets no default)
        self.takers = None
        self.openers = None


@dataclass(slots=True)  # a few per message: slots make them cheaper to make and free
class Group:
    """A group instance in a parsed message: its name and items (segments and groups) in order."""

    name: str
    items: list["Segment | Group"] = field(default_factory=list)

    @property
    def anchor(self) -> Segment | None:
        """The first segment of the group: the parent its other segments belong to."""
        for item in self.items:
            if isinstance(item, Segment):
                return item
        return None


@lru_cache(maxsize=None)
def _trigger_table() -> dict[str, str]:
    out: dict[str, str] = {}
    for code, row in table("hl7v2/tables/0354-message-structure.csv").items():
        for trig in row.get("v2_text", "").replace(";", ",").split(","):
            trig = trig.strip()
            if trig and len(trig) <= 4 and trig.isalnum():
                out.setdefault(f"{code.split('_')[0]}^{trig}", code)
    return out


def structure_id(code: str, trigger: str, declared: str) -> str:
    """The message structure for MSH-9: MSH-9.3 when given, else table 0354, else CODE_TRIGGER."""
    if declared:
        return declared.upper()
    return _trigger_table().get(f"{code}^{trigger}", f"{code}_{trigger}" if trigger else code)


def library_version(version: str) -> str:
    """The hl7apy version whose structures to use for MSH-12 `version`."""
    v = version.strip()
    if v in HL7APY_VERSIONS:
        return v
    parts = v.split(".")
    while parts:
        parts = parts[:-1]
        cand = ".".join(parts)
        older = [x for x in HL7APY_VERSIONS if x.startswith(cand)] if cand else []
        if older:
            return older[-1]
    return HL7APY_VERSIONS[-1]  # unknown (newer or malformed): the newest definitions


@lru_cache(maxsize=None)
def definition(version: str, structure: str) -> Node | None:
    """The structure tree of `structure` in hl7apy's tables for `version`, or None."""
    from hl7apy import load_library

    lib_version = library_version(version)
    if lib_version is None:
        return None
    try:
        lib = load_library(lib_version)
    except Exception:  # noqa: BLE001 - hl7apy raises its own types for unsupported versions
        return None
    spec = lib.MESSAGES.get(structure)
    if spec is None:
        return None
    return Node(structure, 1, 1, _children(spec))


def _children(spec: tuple) -> list[Node]:
    out = []
    for child in spec[1]:
        name, sub, card, kind = child[0], child[1], child[2], child[3]
        if kind == "GRP":
            out.append(Node(name, card[0], card[1], _children(sub)))
        else:
            out.append(Node(name, card[0], card[1]))
    return out


_FIRST_SETS: dict[int, frozenset[str]] = {}


def first_set(node: Node) -> frozenset[str]:
    """Segment names that can start `node` (a group); cached per definition node."""
    found = _FIRST_SETS.get(id(node))
    if found is None:
        names: set[str] = set()
        for child in node.children or []:
            names |= first_set(child) if child.is_group else {child.name}
            if child.min >= 1:
                break
        found = _FIRST_SETS[id(node)] = frozenset(names)
    return found


def _takers(node: Node) -> dict[str, tuple[int, ...]]:
    """Segment name -> the children of `node` (a group) that can take a segment of that name, by
    index in order: a segment child of that name, or a group child it can start. Cached per
    definition node: placing a segment then looks at those children only, not at every child."""
    found = node.takers
    if found is None:
        by_name: dict[str, list[int]] = {}
        for i, child in enumerate(node.children or []):
            for name in first_set(child) if child.is_group else (child.name,):
                by_name.setdefault(name, []).append(i)
        found = node.takers = {name: tuple(ids) for name, ids in by_name.items()}
    return found


def _openers(node: Node) -> dict[str, int]:
    """Segment name -> the child of a new, empty instance of `node` that a segment of that name
    goes to: the first child that can take it, unless a required child comes before it (cached
    per definition node)."""
    found = node.openers
    if found is None:
        found = {}
        for i, child in enumerate(node.children or []):
            for name in first_set(child) if child.is_group else (child.name,):
                found.setdefault(name, i)
            if child.min >= 1:
                break
        node.openers = found
    return found


class _Frame:
    __slots__ = ("node", "group", "pos", "counts", "takers")

    def __init__(self, node: Node, group: Group) -> None:
        self.node = node
        self.group = group
        self.pos = 0
        self.counts = [0] * len(node.children or [])
        self.takers = _takers(node)


def group_segments(segments: list[Segment], root: Node | None
                   ) -> tuple[Group, list[Segment]]:
    """Segments placed in the structure's groups, and those that fit nowhere (kept in place).

    Greedy placement: from the innermost open group outwards, a segment goes to the first child at
    or after the current position that accepts it (a repeat of the current child only if it
    repeats); a group child opens a new instance. Segments that fit nowhere stay in the innermost
    open group, so nothing is lost, and are returned for reporting.
    """
    top = Group(root.name if root else "MESSAGE")
    if root is None:
        top.items.extend(segments)
        return top, []
    stack = [_Frame(root, top)]
    misplaced: list[Segment] = []
    for seg in segments:
        if not _place(stack, seg):
            misplaced.append(seg)
            stack[-1].group.items.append(seg)
    return top, misplaced


def _place(stack: list[_Frame], seg: Segment) -> bool:
    name = seg.name
    for level in range(len(stack) - 1, -1, -1):
        frame = stack[level]
        children = frame.node.children
        assert children is not None  # a frame is a group: its node has children
        # only the children that can take this name (_takers), at or after the current one
        for i in frame.takers.get(name, ()):
            if i < frame.pos:
                continue
            child = children[i]
            if child.max != -1 and frame.counts[i] >= child.max:
                continue
            del stack[level + 1:]
            if _take(stack, frame, i, seg):
                return True
            # unreachable while first_set() is right; undo to stay consistent
            del stack[level + 1:]
            frame.group.items.pop()
            frame.counts[i] -= 1
        # nothing at this level: the group is complete, try its parent
    return False


def _place_into(stack: list[_Frame], seg: Segment) -> bool:
    """Place `seg` inside the group just opened at the top of `stack` (it starts that group)."""
    frame = stack[-1]
    i = _openers(frame.node).get(seg.name)
    return i is not None and _take(stack, frame, i, seg)


def _take(stack: list[_Frame], frame: _Frame, i: int, seg: Segment) -> bool:
    """Child i of `frame` (the top of `stack`) takes `seg`: the segment itself, or a new instance
    of the group it opens, `seg` placed inside."""
    children = frame.node.children
    assert children is not None  # a frame is a group: its node has children
    child = children[i]
    frame.pos, frame.counts[i] = i, frame.counts[i] + 1
    if not child.is_group:
        frame.group.items.append(seg)
        return True
    new = Group(child.name)
    frame.group.items.append(new)
    stack.append(_Frame(child, new))
    return _place_into(stack, seg)

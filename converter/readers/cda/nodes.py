"""Small helpers over lxml elements of the CDA namespace: children, templates, xsi:type, XPaths."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

from lxml import etree

V3 = "{urn:hl7-org:v3}"
SDTC = "{urn:hl7-org:sdtc}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
CLINICAL_STATEMENTS = frozenset(V3 + n for n in (
    "act", "observation", "substanceAdministration", "supply", "procedure", "encounter",
    "organizer", "regionOfInterest", "observationMedia"))

ENTRY_RELATIONSHIP = V3 + "entryRelationship"
COMPONENT = V3 + "component"
HOLDERS = (ENTRY_RELATIONSHIP, COMPONENT)

Element = etree._Element


# While a document is read (see `indexed`), each element's children are grouped by tag the first
# time one of them is asked for: mappers ask a statement for a dozen of its children, and a dict
# look-up is several times cheaper than an lxml search. The tree is never changed while read.
_INDEX: ContextVar[dict[Element, dict[Any, list[Element]]] | None] = ContextVar(
    "cda_children_by_tag", default=None)


@contextmanager
def indexed() -> Iterator[None]:
    """Serve child(), children() and templates() from a per-document index within this block."""
    token = _INDEX.set({})
    try:
        yield
    finally:
        _INDEX.reset(token)


def _by_tag(el: Element) -> dict[Any, list[Element]] | None:
    """`el`'s children grouped by tag (None outside `indexed`)."""
    index = _INDEX.get()
    if index is None:
        return None
    groups = index.get(el)  # lxml gives the same element object while one is referenced (here)
    if groups is None:
        groups = {}
        for c in el:
            groups.setdefault(c.tag, []).append(c)
        index[el] = groups
    return groups


def child(el: Element | None, name: str) -> Element | None:
    """The first CDA child named `name` (None when `el` is None or has none)."""
    if el is None:
        return None
    groups = _by_tag(el)
    if groups is not None:
        found = groups.get(V3 + name)
        return found[0] if found else None
    for c in el.iterchildren(V3 + name):  # about twice as fast as find() for one child
        return c
    return None


def children(el: Element | None, name: str) -> list[Element]:
    """All CDA children named `name`."""
    if el is None:
        return []
    groups = _by_tag(el)
    if groups is not None:
        return list(groups.get(V3 + name, ()))
    return list(el.iterchildren(V3 + name))


def path(el: Element | None, *names: str) -> Element | None:
    """The element reached by following first children named `names`."""
    for name in names:
        if el is None:
            return None
        el = child(el, name)
    return el


def templates(el: Element) -> list[str]:
    """The templateId roots of an element, in document order (match on @root only)."""
    return [t.get("root", "") for t in children(el, "templateId")]


def local(el: Element) -> str:
    """The local name of an element."""
    tag = el.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def xsi_type(el: Element) -> str:
    """The xsi:type of an element without its prefix ("" when absent)."""
    t = el.get(XSI_TYPE)
    return t.rpartition(":")[2] if t else ""


def null_flavor(el: Element | None) -> str | None:
    """The nullFlavor of an element, or None."""
    return None if el is None else el.get("nullFlavor")


def text(el: Element | None) -> str | None:
    """The element's text content with whitespace collapsed, or None when blank."""
    if el is None:
        return None
    if len(el):
        t = " ".join("".join(el.itertext()).split())
    else:  # a leaf (most are): its text, without the cost of an itertext() walk
        t = " ".join((el.text or "").split())
    return t or None


def statement(holder: Element) -> Element | None:
    """The clinical statement inside an entry, entryRelationship or component."""
    groups = _by_tag(holder)
    if groups is not None:
        # tags in the order they first occur: the first statement tag is the first statement's
        for tag, found in groups.items():
            if tag in CLINICAL_STATEMENTS:
                return found[0]
        return None
    for c in holder:
        if c.tag in CLINICAL_STATEMENTS:
            return c
    return None


def _holders(el: Element) -> list[Element]:
    """The entryRelationship and component children of `el`, in document order."""
    groups = _by_tag(el)
    if groups is not None:
        relationships, components = groups.get(ENTRY_RELATIONSHIP), groups.get(COMPONENT)
        if not (relationships and components):  # one kind (as always but for odd documents)
            return relationships or components or []
    return [c for c in el if c.tag in HOLDERS]


def related(el: Element, *type_codes: str) -> Iterator[tuple[Element, Element]]:
    """(holder, statement) for each entryRelationship/component of `el`, filtered by typeCode."""
    for holder in _holders(el):
        if type_codes and holder.get("typeCode", "COMP") not in type_codes:
            continue  # an organizer's component defaults to COMP
        st = statement(holder)
        if st is not None:
            yield holder, st


def step(el: Element) -> str:
    """One step of `xpath`: the local name, with its position when it has same-named siblings."""
    name = local(el)
    if el.getparent() is None:
        return name
    before = sum(1 for _ in el.itersiblings(el.tag, preceding=True))
    if before or next(el.itersiblings(el.tag), None) is not None:
        name += f"[{before + 1}]"
    return name


def xpath(el: Element) -> str:
    """A readable absolute XPath (local names, 1-based positions among same-named siblings)."""
    parts = []
    node: Element | None = el
    while node is not None:
        parts.append(step(node))
        node = node.getparent()
    return "/" + "/".join(reversed(parts))

"""Small helpers over lxml elements of the CDA namespace: children, templates, xsi:type, XPaths."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any, Callable, Iterator, TypeVar

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


# While a document is read (see `indexed`), the look-ups below that only depend on an element's
# subtree are made once per element: mappers ask a statement for a dozen of its children, its
# templates and its entryRelationships over and over, and a dict look-up is several times
# cheaper than the lxml search. The tree is never changed while it is read. The header and each
# entry have a block of their own, so that what was remembered for them is dropped with them (the
# garbage collector then has fewer live objects to walk).
_REMEMBERED: list[ContextVar[dict[Element, Any] | None]] = []  # one per @per_document look-up
_MISSING = object()
T = TypeVar("T")


@contextmanager
def indexed() -> Iterator[None]:
    """Within this block, the look-ups marked @per_document are made once per element (a block
    inside another starts afresh, and the outer one's are back after it)."""
    tokens = [known.set({}) for known in _REMEMBERED]
    try:
        yield
    finally:
        for known, token in zip(_REMEMBERED, tokens):
            known.reset(token)


def per_document(look_up: Callable[[Element], T]) -> Callable[[Element], T]:
    """Remember `look_up(el)` for each element while a document is read (computed every time
    outside `indexed`). Results are shared: a look-up returns nothing its callers could change."""
    results: ContextVar[dict[Element, Any] | None] = ContextVar(look_up.__name__, default=None)
    _REMEMBERED.append(results)

    @wraps(look_up)
    def remembered(el: Element) -> T:
        known = results.get()
        if known is None:
            return look_up(el)
        # lxml gives the same element object for as long as one is referenced, as it is here
        found = known.get(el, _MISSING)
        if found is _MISSING:
            found = known[el] = look_up(el)
        return found
    return remembered


@per_document
def _by_tag(el: Element) -> dict[Any, list[Element]]:
    """`el`'s children grouped by tag, tags in the order they first occur."""
    groups: dict[Any, list[Element]] = {}
    for c in el:
        groups.setdefault(c.tag, []).append(c)
    return groups


def child(el: Element | None, name: str) -> Element | None:
    """The first CDA child named `name` (None when `el` is None or has none)."""
    if el is None:
        return None
    found = _by_tag(el).get(V3 + name)
    return found[0] if found else None


def children(el: Element | None, name: str) -> list[Element]:
    """All CDA children named `name`."""
    return [] if el is None else list(_by_tag(el).get(V3 + name, ()))


def path(el: Element | None, *names: str) -> Element | None:
    """The element reached by following first children named `names`."""
    for name in names:
        if el is None:
            return None
        el = child(el, name)
    return el


@per_document
def templates(el: Element) -> tuple[str, ...]:
    """The templateId roots of an element, in document order (match on @root only)."""
    return tuple(t.get("root", "") for t in children(el, "templateId"))


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
    # tags in the order they first occur: the first statement tag is the first statement's
    for tag, found in _by_tag(holder).items():
        if tag in CLINICAL_STATEMENTS:
            return found[0]
    return None


@per_document
def _related(el: Element) -> tuple[tuple[Element, Element, str], ...]:
    """(holder, statement, typeCode) for each entryRelationship/component of `el` that holds a
    statement, in document order."""
    groups = _by_tag(el)
    relationships, components = groups.get(ENTRY_RELATIONSHIP), groups.get(COMPONENT)
    if relationships and components:  # both (odd): in document order
        holders = [c for c in el if c.tag in HOLDERS]
    else:
        holders = relationships or components or []
    out = []
    for holder in holders:
        st = statement(holder)
        if st is not None:  # an organizer's component defaults to COMP
            out.append((holder, st, holder.get("typeCode", "COMP")))
    return tuple(out)


def related(el: Element, *type_codes: str) -> Iterator[tuple[Element, Element]]:
    """(holder, statement) for each entryRelationship/component of `el`, filtered by typeCode."""
    for holder, st, type_code in _related(el):
        if not type_codes or type_code in type_codes:
            yield holder, st


def step(el: Element) -> str:
    """One step of an element's readable XPath (Context.xpath): its local name, with its 1-based
    position when it has same-named siblings."""
    name = local(el)
    parent = el.getparent()
    if parent is None:
        return name
    same = _by_tag(parent)[el.tag]  # el and its same-named siblings, in document order
    return f"{name}[{same.index(el) + 1}]" if len(same) > 1 else name

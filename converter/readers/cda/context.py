"""The state of converting one document: its resources, issues, narrative index and id registry."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from lxml import etree

from ...assemble.merge import MERGED_TYPES, merge
from ...fhir.datatypes import prune
from ...fhir.ids import ref
from ...fhir.ids import resource_id as _resource_id
from ...fragment import Fragment
from ...issues import Issue, Location, Severity
from .nodes import Element, children, step, templates


# ids repeat (every entry names its author): UUIDv5 is slow enough in Python to be worth caching
resource_id = lru_cache(maxsize=8192)(_resource_id)

# Every element with an ID attribute (a narrative target), in document order. Precompiled, and
# found through the attributes, which libxml2 walks several times faster than `.//*[@ID]`.
_WITH_ID = etree.XPath("//@ID/..")


class Context:
    """One document being converted; handlers add resources and issues through it."""

    def __init__(self, source: str, root: Element, fragment: Fragment) -> None:
        self.source = source
        self.root = root
        self.fragment = fragment
        self.doc_key = ""  # the document id (root|extension), for ids of entries without their own
        self.patient: dict | None = None
        self.by_id: dict[str, dict[str, Any]] = {}
        self.untimed: list[str] = []
        self._narrative: dict[str, Element] | None = None
        self._used_keys: set[str] = set()
        self._tree = root.getroottree()
        # element -> its XPath: issues and sections share ancestors (an lxml element is the same
        # Python object for as long as it is referenced, as it is here)
        self._xpaths: dict[Element, str] = {}
        # participants.actor() results by the XML they were read from (see there)
        self.actors: dict[tuple, dict | None] = {}

    # -- issues ---------------------------------------------------------------------------------
    def issue(self, severity: Severity, code: str, message: str, el: Element | None = None
              ) -> None:
        """Record an issue located at `el` (its XPath) in this document."""
        loc = Location(source=self.source, xpath=self.xpath(el) if el is not None else None,
                       line=el.sourceline if el is not None else None)
        self.fragment.issues.append(Issue(severity, code, message, loc))

    def xpath(self, el: Element) -> str:
        """A readable absolute XPath of `el` (local names, 1-based positions among same-named
        siblings); each ancestor's is computed once per document."""
        known = self._xpaths.get(el)
        if known is None:
            parent = el.getparent()
            known = (self.xpath(parent) if parent is not None else "") + "/" + step(el)
            self._xpaths[el] = known
        return known

    def unmapped(self, el: Element, what: str = "entry") -> None:
        """Report a clinical statement or section this reader has no map for."""
        roots = ", ".join(dict.fromkeys(t for t in templates(el) if t)) or "none"
        self.issue("information", f"unmapped-{what}",
                   f"{el.tag.rpartition('}')[2]} with templateId {roots} has no FHIR mapping; "
                   "its narrative is kept", el)

    # -- resources ------------------------------------------------------------------------------
    def add(self, resource: dict[str, Any]) -> dict[str, Any]:
        """Prune and add a resource; a second one with the same id is merged into the first."""
        resource = prune(resource)
        rid = resource["id"]
        old = self.by_id.get(rid)
        if old is None:
            self.by_id[rid] = resource
            self.fragment.resources.append(resource)
            return resource
        if resource["resourceType"] in MERGED_TYPES:
            merged = merge(old, resource)
            old.clear()
            old.update(merged)
        return old

    def entry_id(self, resource_type: str, el: Element, suffix: str = "") -> str:
        """A deterministic id from the statement's first <id>, else from the document and XPath.

        Two statements of one document that share an id (copied entries are common) get distinct
        resources: only the first uses the business id.
        """
        for i in children(el, "id"):
            root = i.get("root")
            if root and not i.get("nullFlavor"):
                key = f"{resource_type}|{root}|{i.get('extension') or ''}|{suffix}"
                if key not in self._used_keys:
                    self._used_keys.add(key)
                    return resource_id(resource_type, root, i.get("extension"), suffix)
                break
        where = self._tree.getpath(el)  # libxml2's positional path: fast and deterministic
        self._used_keys.add(f"{resource_type}|{self.doc_key}|{where}|{suffix}")
        return resource_id(resource_type, self.doc_key, where, suffix)

    def subject(self) -> dict | None:
        """The Reference to this document's Patient."""
        return ref(self.patient) if self.patient else None

    # -- narrative ------------------------------------------------------------------------------
    def narrative(self, ref_value: str | None) -> Element | None:
        """The narrative element a `reference/@value="#id"` points to."""
        if not ref_value or not ref_value.startswith("#"):
            return None
        if self._narrative is None:
            self._narrative = {e.get("ID"): e for e in _WITH_ID(self.root) if e is not self.root}
        return self._narrative.get(ref_value[1:])


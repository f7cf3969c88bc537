"""htmlChecks() of invariants txt-1 and txt-2: the narrative is safe, well-formed XHTML with content.

FHIR R4 (Narrative): the div is XHTML in the XHTML namespace, holds only the basic formatting
elements (no head, body, scripts, forms, frames, objects, styles or links), no event attributes
(onclick...), and some non-whitespace text or an image.
"""
from __future__ import annotations

from functools import lru_cache

from lxml import etree

XHTML = "http://www.w3.org/1999/xhtml"
ALLOWED = frozenset("""a abbr acronym address area b bdo big blockquote br caption cite code col
colgroup dd dfn div dl dt em h1 h2 h3 h4 h5 h6 hr i img kbd li map ol p pre q samp small span strong
sub sup table tbody td tfoot th thead tr tt ul var""".split())
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
_ALLOWED_TAGS = frozenset(f"{{{XHTML}}}{name}" for name in ALLOWED)  # as lxml names them
_IMG = f"{{{XHTML}}}img"


@lru_cache(maxsize=4096)
def html_checks(div: str) -> bool:
    """True when `div` is a narrative div FHIR accepts (txt-1 and txt-2)."""
    try:
        root = etree.fromstring(div.encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError:
        return False
    if root.tag != f"{{{XHTML}}}div":
        return False
    content = False
    for el in root.iter(etree.Element):  # (not comments and processing instructions)
        tag = el.tag
        if tag not in _ALLOWED_TAGS:
            return False
        names = el.keys()  # (most elements have no attribute)
        if names and any(str(a).lower().startswith("on") for a in names):
            return False
        if not content and (tag == _IMG or (el.text and el.text.strip())
                            or (el.tail and el.tail.strip() and el is not root)):
            content = True
    return content

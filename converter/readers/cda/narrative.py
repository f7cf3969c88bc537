"""CDA NarrativeBlock -> XHTML that obeys the FHIR narrative rules.

The XHTML is rebuilt from a whitelist, never copied: only the basic formatting elements FHIR allows,
no script or style elements, no event attributes, no external links or images (an href is kept only
when it points inside the narrative, `#id`). Anything else is unwrapped to its text.

The XHTML is written as text (a list of pieces) rather than built as an lxml tree and serialised:
a section's narrative often has hundreds of nodes and this was the reader's largest single cost.
The text is the one `etree.tostring` gives for the same tree (`<br/>` for an empty element; `&`,
`<`, `>` and CR escaped in text; attribute values are whitelisted characters that need no escape).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .nodes import V3, Element, local

if TYPE_CHECKING:
    from .context import Context

XHTML = "http://www.w3.org/1999/xhtml"
DIV = f'<div xmlns="{XHTML}">'  # how every div xhtml() returns starts

# CDA element -> XHTML element (None: unwrap, keep the text)
ELEMENTS = {
    "content": "span", "paragraph": "p", "br": "br", "list": "ul", "item": "li",
    "table": "table", "caption": "caption", "thead": "thead", "tbody": "tbody", "tfoot": "tfoot",
    "tr": "tr", "th": "th", "td": "td", "col": "col", "colgroup": "colgroup", "sub": "sub",
    "sup": "sup", "linkHtml": "a", "footnote": "span", "footnoteRef": "sup", "text": "div",
}
ATTRIBUTES = {
    "table": ("border", "cellpadding", "cellspacing", "width", "summary", "frame", "rules"),
    "td": ("colspan", "rowspan", "align", "valign", "abbr", "axis", "headers", "scope"),
    "th": ("colspan", "rowspan", "align", "valign", "abbr", "axis", "headers", "scope"),
    "col": ("span", "width", "align", "valign"),
    "colgroup": ("span", "width", "align", "valign"),
    "tr": ("align", "valign"), "thead": ("align", "valign"), "tbody": ("align", "valign"),
    "tfoot": ("align", "valign"),
}
STYLES = {"Bold": "font-weight: bold", "Italics": "font-style: italic",
          "Underline": "text-decoration: underline", "Emphasis": "font-style: italic"}
# Dropped with their content: media we cannot carry safely, and active content from any namespace.
DROPPED = frozenset({"renderMultiMedia", "script", "style", "object", "embed", "iframe", "applet"})
SAFE_VALUE = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ%-_. ")


# The same, by qualified tag: (local name, XHTML element) for the CDA elements
BY_TAG = {V3 + name: (name, tag) for name, tag in ELEMENTS.items()}
NO_ATTRIBUTES: dict[str, str] = {}


def escape(value: str) -> str:
    """XML text escaped as libxml2 writes it (so the output is what etree.tostring gives)."""
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;"))


class _Writer:
    """XHTML being written: its pieces, the text it holds, and the CDA elements left out."""

    __slots__ = ("parts", "texts", "dropped")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.texts: list[str] = []
        self.dropped: list[str] = []

    def text(self, value: str) -> None:
        self.texts.append(value)
        self.parts.append(value.replace("&", "&amp;").replace("<", "&lt;")
                          .replace(">", "&gt;").replace("\r", "&#13;"))  # escape(), inlined

    def end(self, tag: str, mark: int) -> None:
        """Close the element opened at `mark`: `<tag/>` when nothing was written since."""
        parts = self.parts
        if len(parts) == mark:
            parts[-1] += "/>"
        else:
            parts[mark - 1] += ">"
            parts.append(f"</{tag}>")


def xhtml(el: Element | None, ctx: Context | None = None) -> str | None:
    """The XHTML div for a CDA narrative element (section <text> or a part of it), or None."""
    if el is None:
        return None
    out = _Writer()
    if local(el) == "text":
        _children(el, out, "div")
    else:
        _convert(el, el.tag, out, "div")
    if not "".join(out.texts).strip():
        return None
    if out.dropped and ctx is not None:
        ctx.issue("information", "narrative-sanitized",
                  "narrative elements without a safe XHTML equivalent were reduced to their text: "
                  + ", ".join(sorted(set(out.dropped))), el)
    return DIV + "".join(out.parts) + "</div>"


def _children(src: Element, out: _Writer, parent: str) -> None:
    """The text and the children of `src`, written inside the XHTML element `parent`."""
    value = src.text
    if value:
        out.text(value)
    for c in src:
        tag = c.tag
        if isinstance(tag, str):
            _convert(c, tag, out, parent)
        value = c.tail
        if value:
            out.text(value)


def _convert(src: Element, qualified: str, out: _Writer, parent: str) -> None:
    """One CDA element (its tag `qualified`), written inside the XHTML element `parent`."""
    known = BY_TAG.get(qualified)
    name, tag = known if known else (local(src), None)
    items = src.items()
    attrs = dict(items) if items else NO_ATTRIBUTES
    if name == "list" and attrs.get("listType") == "ordered":
        tag = "ol"
    if name == "caption" and parent != "table":
        return  # a list caption: written before its list (XHTML captions belong to tables only)
    if name == "list":
        caption = src.find(V3 + "caption")
        if caption is not None:
            out.parts.append("<p")
            p = len(out.parts)
            out.parts.append("<b")
            b = len(out.parts)
            _children(caption, out, "b")
            out.end("b", b)
            out.end("p", p)
    if name in DROPPED:
        out.dropped.append(name)
        return
    if tag is None:
        out.dropped.append(name)
        _children(src, out, parent)
        return
    opening = "<" + tag
    if attrs:
        for attr in ATTRIBUTES.get(tag, ()):
            v = attrs.get(attr)
            if v and set(v) <= SAFE_VALUE:
                opening += f' {attr}="{v}"'
        ident = attrs.get("ID")
        if ident and set(ident) <= SAFE_VALUE and " " not in ident:
            opening += f' id="{ident}"'
        styles = [STYLES[s] for s in (attrs.get("styleCode") or "").split() if s in STYLES]
        if styles:
            opening += f' style="{"; ".join(styles)}"'
        if name == "linkHtml":
            href = attrs.get("href") or ""
            if href.startswith("#") and set(href[1:]) <= SAFE_VALUE:
                opening += f' href="{href}"'
    out.parts.append(opening)
    mark = len(out.parts)
    if name == "footnoteRef":
        out.text(attrs.get("IDREF") or "*")
    else:
        _children(src, out, tag)
    out.end(tag, mark)

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


def escape(value: str) -> str:
    """XML text escaped as libxml2 writes it (so the output is what etree.tostring gives)."""
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;"))


class _Writer:
    """XHTML being written: pieces of text, and whether any of its text is more than blanks."""

    __slots__ = ("parts", "has_text")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.has_text = False

    def text(self, value: str | None) -> None:
        if value:
            self.parts.append(escape(value))
            if not self.has_text and not value.isspace():
                self.has_text = True

    def start(self, tag: str, attributes: str = "") -> int:
        """Open an element; returns the mark `end` needs."""
        self.parts.append(f"<{tag}{attributes}")
        return len(self.parts)

    def end(self, tag: str, mark: int) -> None:
        """Close an element: `<tag/>` when nothing was written since it was opened."""
        if len(self.parts) == mark:
            self.parts[-1] += "/>"
        else:
            self.parts[mark - 1] += ">"
            self.parts.append(f"</{tag}>")


def xhtml(el: Element | None, ctx: Context | None = None) -> str | None:
    """The XHTML div for a CDA narrative element (section <text> or a part of it), or None."""
    if el is None:
        return None
    out = _Writer()
    dropped: list[str] = []
    if local(el) == "text":
        _children(el, out, "div", dropped)
    else:
        _convert(el, out, "div", dropped)
    if not out.has_text:
        return None
    if dropped and ctx is not None:
        ctx.issue("information", "narrative-sanitized",
                  "narrative elements without a safe XHTML equivalent were reduced to their text: "
                  + ", ".join(sorted(set(dropped))), el)
    return DIV + "".join(out.parts) + "</div>"


def _children(src: Element, out: _Writer, parent: str, dropped: list[str]) -> None:
    """The text and the children of `src`, written inside the XHTML element `parent`."""
    out.text(src.text)
    for c in src:
        if isinstance(c.tag, str):
            _convert(c, out, parent, dropped)
        out.text(c.tail)


def _convert(src: Element, out: _Writer, parent: str, dropped: list[str]) -> None:
    name = local(src)
    tag = ELEMENTS.get(name) if src.tag.startswith(V3) else None
    attrs = dict(src.items())  # one call, then dict look-ups (elements have few attributes)
    if name == "list" and attrs.get("listType") == "ordered":
        tag = "ol"
    if name == "caption" and parent != "table":
        return  # a list caption: written before its list (XHTML captions belong to tables only)
    if name == "list":
        caption = src.find(V3 + "caption")
        if caption is not None:
            p = out.start("p")
            b = out.start("b")
            _children(caption, out, "b", dropped)
            out.end("b", b)
            out.end("p", p)
    if name in DROPPED:
        dropped.append(name)
        return
    if tag is None:
        dropped.append(name)
        _children(src, out, parent, dropped)
        return
    written = ""
    for attr in ATTRIBUTES.get(tag, ()):
        v = attrs.get(attr)
        if v and set(v) <= SAFE_VALUE:
            written += f' {attr}="{v}"'
    ident = attrs.get("ID")
    if ident and set(ident) <= SAFE_VALUE and " " not in ident:
        written += f' id="{ident}"'
    styles = [STYLES[s] for s in (attrs.get("styleCode") or "").split() if s in STYLES]
    if styles:
        written += f' style="{"; ".join(styles)}"'
    if name == "linkHtml":
        href = attrs.get("href") or ""
        if href.startswith("#") and set(href[1:]) <= SAFE_VALUE:
            written += f' href="{href}"'
    mark = out.start(tag, written)
    if name == "footnoteRef":
        out.text(attrs.get("IDREF") or "*")
    else:
        _children(src, out, tag, dropped)
    out.end(tag, mark)

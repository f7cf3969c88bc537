"""CDA NarrativeBlock -> XHTML that obeys the FHIR narrative rules.

The XHTML is rebuilt from a whitelist, never copied: only the basic formatting elements FHIR allows,
no script or style elements, no event attributes, no external links or images (an href is kept only
when it points inside the narrative, `#id`). Anything else is unwrapped to its text.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from .nodes import V3, Element, local

if TYPE_CHECKING:
    from .context import Context

XHTML = "http://www.w3.org/1999/xhtml"
_X = "{" + XHTML + "}"

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


def xhtml(el: Element | None, ctx: Context | None = None) -> str | None:
    """The XHTML div for a CDA narrative element (section <text> or a part of it), or None."""
    if el is None:
        return None
    div = etree.Element(_X + "div", nsmap={None: XHTML})
    dropped: list[str] = []
    if local(el) == "text":
        _children(el, div, dropped)
    else:
        _convert(el, div, dropped)
    if not "".join(div.itertext()).strip():
        return None
    if dropped and ctx is not None:
        ctx.issue("information", "narrative-sanitized",
                  "narrative elements without a safe XHTML equivalent were reduced to their text: "
                  + ", ".join(sorted(set(dropped))), el)
    return etree.tostring(div, encoding="unicode")


def _append_text(target: Element, value: str | None) -> None:
    if not value:
        return
    if len(target):
        last = target[-1]
        last.tail = (last.tail or "") + value
    else:
        target.text = (target.text or "") + value


def _children(src: Element, target: Element, dropped: list[str]) -> None:
    _append_text(target, src.text)
    for c in src:
        if isinstance(c.tag, str):
            _convert(c, target, dropped)
        _append_text(target, c.tail)


def _convert(src: Element, target: Element, dropped: list[str]) -> None:
    name = local(src)
    tag = ELEMENTS.get(name) if src.tag.startswith(V3) else None
    if name == "list" and src.get("listType") == "ordered":
        tag = "ol"
    if name == "caption" and target.tag != _X + "table":
        return  # a list caption: written before its list (XHTML captions belong to tables only)
    if name == "list":
        caption = src.find(V3 + "caption")
        if caption is not None:
            label = etree.SubElement(etree.SubElement(target, _X + "p"), _X + "b")
            _children(caption, label, dropped)
    if name in DROPPED:
        dropped.append(name)
        return
    if tag is None:
        dropped.append(name)
        _children(src, target, dropped)
        return
    out = etree.SubElement(target, _X + tag)
    for attr in ATTRIBUTES.get(tag, ()):
        v = src.get(attr)
        if v and set(v) <= SAFE_VALUE:
            out.set(attr, v)
    ident = src.get("ID")
    if ident and set(ident) <= SAFE_VALUE and " " not in ident:
        out.set("id", ident)
    styles = [STYLES[s] for s in (src.get("styleCode") or "").split() if s in STYLES]
    if styles:
        out.set("style", "; ".join(styles))
    if name == "linkHtml":
        href = src.get("href") or ""
        if href.startswith("#") and set(href[1:]) <= SAFE_VALUE:
            out.set("href", href)
    if name == "footnoteRef":
        out.text = src.get("IDREF") or "*"
        return
    _children(src, out, dropped)

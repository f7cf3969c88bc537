"""The summary as Markdown: aligned pipe tables that read well in a terminal or an e-mail body.

Source text is escaped so that, when a Markdown viewer renders it, nothing in it becomes markup:
no raw HTML (`<script>` stays text), no links, no emphasis, no broken table.
"""
from __future__ import annotations

import re
import unicodedata

from .layout import Card, Page, Para, Subheading, Table

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_LINE_START = re.compile(r"^([#>+=-]|\d+[.)])")


def escape(text: str) -> str:
    """Source text made inert for Markdown renderers, still readable as plain text."""
    text = " ".join(text.split())
    text = _SPECIAL.sub(r"\\\1", text)
    return _TAG_START.sub(r"\\<", text)


def escape_block(text: str) -> str:
    """Like escape(), for text that starts a line: no heading, quote, list or rule either."""
    return _LINE_START.sub(r"\\\1", escape(text))


def width(text: str) -> int:
    """How many terminal columns `text` takes (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _pad(text: str, cols: int) -> str:
    return text + " " * max(0, cols - width(text))


def table(t: Table) -> list[str]:
    """A GitHub-flavoured pipe table with columns padded to line up in a terminal."""
    header = [escape(c) for c in t.columns]
    body = []
    for n, row in enumerate(t.rows):
        cells = [escape(c.plain) for c in row]
        if t.levels and t.levels[n]:
            cells[t.indent] = "↳ " * t.levels[n] + cells[t.indent]
        body.append(cells)
    cols = [max([width(header[i])] + [width(r[i]) for r in body] + [3]) for i in range(len(header))]
    lines = ["| " + " | ".join(_pad(h, cols[i]) for i, h in enumerate(header)) + " |",
             "|" + "|".join("-" * (c + 2) for c in cols) + "|"]
    lines += ["| " + " | ".join(_pad(v, cols[i]) for i, v in enumerate(r)) + " |" for r in body]
    return lines


def card(c: Card) -> list[str]:
    title = escape(c.title) + (f" ({escape(c.code)})" if c.code else "")
    out = [f"### {title}", ""]
    meta = ([c.date + (f" ({c.mark})" if c.mark else "")] if c.date else []) + c.meta
    if meta:
        out += [escape_block(" · ".join(meta)), ""]
    for w in c.warnings:
        out += [f"> ⚠ {escape(w)}", ""]
    if c.table is not None:
        out += table(c.table) + [""]
    for note in c.notes:
        out.append(f"- {escape(note)}")
    if c.notes:
        out.append("")
    return out


def render(page: Page) -> str:
    """The Markdown text of a laid-out summary."""
    out = [f"# {escape(page.title)}", "", f"**{escape(page.name)}** · {escape(page.born)}", ""]
    for label, values in page.facts:
        out.append(f"- **{escape(label)}:** " + "; ".join(escape(v) for v in values))
    out += ["", f"*{escape(page.intro)}*", "", f"*{escape(page.legend)}*", ""]
    for sec in page.sections:
        out += [f"## {escape(sec.title)}", ""]
        for b in sec.blocks:
            if isinstance(b, Subheading):
                out += [f"### {escape(b.text)}", ""]
            elif isinstance(b, Para):
                text = escape(b.text)
                out += [{"empty": f"*{text}*", "statement": f"**{text}**",
                         "warning": f"> ⚠ {text}"}.get(b.style, escape_block(b.text)), ""]
            elif isinstance(b, Table):
                out += table(b) + [""]
            elif isinstance(b, Card):
                out += card(b)
    out += ["---", "", escape_block(page.footer), ""]
    return "\n".join(out)

"""The summary as one self-contained HTML file: inline CSS, no script, no external fetch.

Every piece of text is escaped by jinja2's autoescape, and a Content-Security-Policy forbids
scripts as a second wall, so a `<script>` in a CDA narrative or a v2 NTE is shown, never run.
"""
from __future__ import annotations

from functools import lru_cache

import jinja2
from markupsafe import Markup

from .layout import Page


def css_string(text: str) -> Markup:
    """`text` as a quoted CSS string in which every character but ASCII letters and digits is a
    six-digit hex escape: nothing in it can close the string or the <style> element. (Spaces are
    escaped too: CSS swallows one white space after an escape.)"""
    out = "".join(c if c.isascii() and c.isalnum() else f"\\{ord(c):06x}" for c in text)
    return Markup(f'"{out}"')


def css_page_counter(label: str) -> Markup:
    """A CSS `content` value for "Page {page} of {pages}" with the page counters in place."""
    parts = []
    rest = label
    while rest:
        head, brace, tail = rest.partition("{")
        if head:
            parts.append(css_string(head))
        if not brace:
            break
        name, _, rest = tail.partition("}")
        parts.append(Markup(f"counter({'pages' if name == 'pages' else 'page'})"))
    return Markup(" ").join(parts)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The jinja2 environment: templates from this package, every value escaped."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("converter.summary", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=True)
    env.filters["css_string"] = css_string
    return env


def render(page: Page) -> str:
    """The HTML document of a laid-out summary."""
    template = environment().get_template("summary.html.j2")
    return template.render(page=page, page_counter=css_page_counter(page.page_label))

"""CDA / C-CDA reader: one Fragment per document (see converter/readers/__init__.py).

`read` is what the pipeline calls; `read_document` also returns the document's metadata and its
sections (code, title, safe XHTML narrative, resources) for building a Composition.
"""
from __future__ import annotations

from typing import Iterator

from ...fragment import Fragment
from ...issues import Issue, Location
from ...sources import Source
from .document import DocumentInfo, read_document

__all__ = ["read", "read_document", "DocumentInfo"]


def read(sources: list[Source], keep_source: bool = False) -> Iterator[Fragment]:
    """One Fragment per CDA document; bad input becomes issues, never an exception."""
    for n, source in enumerate(sources, 1):
        try:
            frag, _info = read_document(source, keep_source)
        except Exception as exc:  # a defect here must not stop the other documents
            frag = Fragment(source=source.name, format="cda", unusable=True)
            frag.issues.append(Issue("fatal", "internal",
                                     f"CDA reader defect ({type(exc).__name__}: {exc}); "
                                     "please report it", Location(source=source.name)))
        frag.index = n
        yield frag

"""Hardened XML parsing: no DTD, no entities, no network, no XInclude, bounded sizes."""
from __future__ import annotations

import re

from lxml import etree

from ...issues import Issue, Location
from .nodes import V3

# Larger documents are refused before parsing (an embedded PDF or image is rarely above a few MB).
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True,
                           remove_pis=True, collect_ids=False)


def parse(data: bytes, source: str) -> tuple[etree._Element | None, list[Issue]]:
    """The ClinicalDocument root of `data`, or None with a fatal issue saying why."""
    loc = Location(source=source)
    if len(data) > MAX_DOCUMENT_BYTES:
        return None, [Issue("fatal", "too-large",
                            f"document of {len(data)} bytes is larger than the "
                            f"{MAX_DOCUMENT_BYTES} bytes this reader accepts", loc)]
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        return None, [_syntax_issue(exc, source)]
    except ValueError as exc:  # e.g. a str with an encoding declaration
        return None, [Issue("fatal", "malformed-xml", f"not readable as XML: {exc}", loc)]
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        return None, [Issue("fatal", "unsafe-xml",
                            "the document has a DOCTYPE (DTD or entity declarations); CDA never "
                            "needs one and it is refused so that no entity or external file "
                            "is ever expanded or read", loc)]
    if root.tag != V3 + "ClinicalDocument":
        found = etree.QName(root)
        return None, [Issue("fatal", "unknown-format",
                            f"XML, but not a CDA document: the root is {found.localname!r} in "
                            f"namespace {found.namespace or '(none)'!r}, not ClinicalDocument in "
                            "urn:hl7-org:v3", Location(source=source, xpath="/" + found.localname))]
    return root, []


def _syntax_issue(exc: etree.XMLSyntaxError, source: str) -> Issue:
    line, column = exc.position if exc.position else (exc.lineno, None)
    msg = re.sub(r",? line \d+, column \d+$", "", exc.msg or str(exc))
    low = msg.lower()
    if "huge" in low or "too large" in low or "excessive" in low:
        return Issue("fatal", "too-large",
                     f"a part of the XML is larger than the parser's safety limits ({msg})",
                     Location(source=source, line=line))
    if "internal subset" in low or "doctype" in low or (
            "entity" in low and ("loop" in low or "amplification" in low or "undefined" in low)):
        return Issue("fatal", "unsafe-xml",
                     f"DOCTYPE or entity declarations refused, and not even readable ({msg})",
                     Location(source=source, line=line))
    where = f"line {line}" + (f", column {column}" if column is not None else "")
    return Issue("fatal", "malformed-xml", f"malformed XML at {where}: {msg}",
                 Location(source=source, line=line))

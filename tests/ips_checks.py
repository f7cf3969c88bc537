"""IPS structural rules (STANDARDS.md 1.1-1.4) written out independently of the builder, for tests.

The tests hold every document the builder makes to these checks, so the rules here are spelled
out from the standard, not read from mappings/ips/.
"""
from __future__ import annotations

from typing import Any, Iterable

from lxml import etree

XHTML = "http://www.w3.org/1999/xhtml"
DAR = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
REQUIRED_SECTIONS = {"11450-4", "48765-2", "10160-0"}
EVENT_ATTRIBUTES = {"onclick", "onload", "onerror", "onmouseover", "onfocus"}


def section_codes(section: dict) -> set[str]:
    return {c["code"] for c in section["code"]["coding"]}


def section(doc: dict, code: str) -> dict | None:
    comp = doc["entry"][0]["resource"]
    return next((s for s in comp["section"] if code in section_codes(s)), None)


def resolve(doc: dict, reference: str) -> dict:
    return next(e["resource"] for e in doc["entry"] if e["fullUrl"] == reference)


def _references(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            yield value["reference"]
        for v in value.values():
            yield from _references(v)
    elif isinstance(value, list):
        for v in value:
            yield from _references(v)


def _absent(extension_holder: Any) -> bool:
    return isinstance(extension_holder, dict) and any(
        e.get("url") == DAR for e in extension_holder.get("extension") or [])


def _has_choice(r: dict, stem: str) -> bool:
    """value[x]-style element present, or present only as data-absent-reason."""
    for k, v in r.items():
        if k.startswith(stem) and k[len(stem):len(stem) + 1].isupper():
            return True
        if k.startswith("_" + stem) and _absent(v):
            return True
    return False


# IPS elements of min cardinality 1 (STANDARDS.md 1.3): choice elements by stem, others by name.
REQUIRED_CHOICES = {"Immunization": ("occurrence",), "Procedure": ("performed",),
                    "MedicationStatement": ("effective",), "DiagnosticReport": ("effective",),
                    "lab": ("effective",)}
REQUIRED_ELEMENTS = {"Patient": ("name",), "Procedure": ("code",), "Condition": ("code",),
                     "AllergyIntolerance": ("code",), "lab": ("performer",)}


def required_elements_missing(r: dict) -> list[str]:
    """IPS elements of min cardinality 1 that the resource has neither as value nor as DAR."""
    kind = r["resourceType"]
    cats = {c.get("code") for cc in r.get("category") or [] if isinstance(cc, dict)
            for c in cc.get("coding") or []}
    if kind == "Observation" and "laboratory" in cats:
        kind = "lab"
    missing = [f"{stem}[x]" for stem in REQUIRED_CHOICES.get(kind, ()) if not _has_choice(r, stem)]
    missing += [name for name in REQUIRED_ELEMENTS.get(kind, ()) if not r.get(name)]
    if kind == "Patient" and not (r.get("birthDate") or _absent(r.get("_birthDate"))):
        missing.append("birthDate")
    if kind == "lab" and not (_has_choice(r, "value") or r.get("dataAbsentReason")
                              or r.get("hasMember") or r.get("component")):
        missing.append("value[x] (ips-2)")
    return missing


def check_narrative(div_text: str) -> etree._Element:
    """Parse a narrative div strictly; it must be XHTML, non-empty, with no script or handlers."""
    root = etree.fromstring(div_text.encode("utf-8"))
    assert root.tag == f"{{{XHTML}}}div", root.tag
    assert "".join(root.itertext()).strip(), "empty narrative"
    for el in root.iter():
        assert etree.QName(el).localname not in ("script", "style", "iframe", "object", "form")
        assert not set(el.attrib) & EVENT_ATTRIBUTES
    return root


def assert_ips_document(doc: dict) -> None:
    """The IPS structural rules: Bundle, Composition, sections, references, required elements."""
    assert doc["resourceType"] == "Bundle" and doc["type"] == "document"
    assert doc["identifier"]["system"] == "urn:ietf:rfc:3986"
    assert doc["identifier"]["value"].startswith("urn:uuid:")
    assert doc["timestamp"]
    entries = doc["entry"]
    urls = [e["fullUrl"] for e in entries]
    assert len(urls) == len(set(urls)), "duplicate fullUrl"
    for e in entries:
        assert e["fullUrl"] == f"urn:uuid:{e['resource']['id']}"
        assert not {"request", "response", "search"} & set(e)
    types = [e["resource"]["resourceType"] for e in entries]
    assert types[0] == "Composition" and types.count("Composition") == 1
    assert types.count("Patient") == 1
    assert "MessageHeader" not in types
    comp = entries[0]["resource"]
    assert comp["status"] == "final"
    doc_type = comp["type"]["coding"][0]
    assert (doc_type["system"], doc_type["code"]) == ("http://loinc.org", "60591-5")
    patient = next(e["resource"] for e in entries if e["resource"]["resourceType"] == "Patient")
    assert comp["subject"]["reference"] == f"urn:uuid:{patient['id']}"
    assert comp["date"] and comp["title"]
    author = resolve(doc, comp["author"][0]["reference"])
    assert author["resourceType"] == "Device"
    assert comp["event"][0]["code"][0]["coding"][0]["code"] == "PCPR"
    codes = [next(iter(section_codes(s))) for s in comp["section"]]
    assert REQUIRED_SECTIONS <= set(codes)
    assert len(codes) == len(set(codes)), "a section appears twice"
    for s in comp["section"]:
        assert s["title"] and s["text"]["status"] == "generated"
        check_narrative(s["text"]["div"])
        assert "section" not in s
        if s.get("entry"):
            assert "emptyReason" not in s
            for ref in s["entry"]:
                resolve(doc, ref["reference"])
        elif section_codes(s) & REQUIRED_SECTIONS:
            assert s["emptyReason"]["coding"][0]["code"] == "unavailable"
    for e in entries:
        for ref in _references(e["resource"]):
            if not ref.startswith("#"):
                assert ref in urls, f"{ref} in {e['resource']['resourceType']} does not resolve"
        missing = required_elements_missing(e["resource"])
        assert not missing, f"{e['resource']['resourceType']}/{e['resource']['id']} lacks {missing}"

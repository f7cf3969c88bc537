"""End to end over every HL7 v2 message file of the shared corpus: no exception, every Bundle
valid, and per message the resource counts agree with the source segments."""
from __future__ import annotations

import pytest

from converter import convert
from converter.readers.hl7v2.framing import split_messages
from converter.readers.hl7v2.message import decode_message
from converter.readers.hl7v2.obx import TEXT_TYPES

from conftest import HL7_CORPUS, resources

FILES = sorted(p for p in HL7_CORPUS.rglob("*") if p.suffix in (".hl7", ".txt")
               and p.name != "README.md")


def test_corpus_is_there():
    assert len(FILES) == 147


def _segments(path):
    raws, _ = split_messages(path.read_bytes(), str(path))
    for raw in raws:
        yield from decode_message(raw, str(path)).segments


def _expected(path) -> dict[str, int]:
    """What the source says the Bundle must hold, counted from its segments."""
    counts = {"Observation": 0, "AllergyIntolerance": 0, "Immunization": 0, "Condition": 0,
              "Procedure": 0}
    segs = list(_segments(path))
    msh9 = segs[0].value(9, 1)
    in_doc = False
    in_report = False
    for s in segs:
        if s.name == "TXA" and msh9 == "MDM":
            in_doc = True
        if s.name == "OBR" and msh9 in ("ORU", "OUL"):
            in_report = True
        if s.name == "OBX" and not in_doc:
            # one Observation per OBX, but text-report lines (TX, FT) under a report are the
            # report's text, and OBX under a TXA are the document's content
            text = s.value(2).upper() in TEXT_TYPES
            if not (text and in_report):
                counts["Observation"] += 1
        elif s.name in ("AL1", "IAM") and s.value(3, 1) + s.value(3, 2):
            counts["AllergyIntolerance"] += 1
        elif s.name == "RXA" and s.value(5, 1) + s.value(5, 2):
            counts["Immunization"] += 1
        elif s.name == "DG1":
            counts["Condition"] += 1
        elif s.name == "PR1":
            counts["Procedure"] += 1
    return counts


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_message_converts_valid_with_source_counts(path):
    result = convert(path)
    structural = [i for i in result.issues if i.code in ("structure", "empty-value",
                                                         "unresolved-reference",
                                                         "duplicate-fullurl")]
    assert not structural, structural[:3]
    assert result.bundles, result.issues[:3]
    assert result.exit_code == 0, [str(i) for i in result.issues if i.is_error]
    got: dict[str, int] = {}
    for b in result.bundles:
        for r in resources(b):
            got[r["resourceType"]] = got.get(r["resourceType"], 0) + 1
    for rtype, n in _expected(path).items():
        assert got.get(rtype, 0) == n, (rtype, got.get(rtype, 0), n)
    assert sum(1 for b in result.bundles for _ in resources(b, "Provenance")) >= 1


def test_observation_count_is_exact_for_valued_obx():
    """In the IG's ORU sample every OBX is valued and non-text: one Observation each."""
    result = convert(HL7_CORPUS / "test_conversions_ORU_R01.hl7")
    assert len(resources(result.bundle, "Observation")) == 3

"""medbundle's own output over the shared HL7 v2 corpus, through the validator convert() runs.

The validator found real defects in the first HL7 v2 output (units without a system, local codes
under v2 table systems, non-BCP-47 languages, bad OIDs, a wrong LOINC check digit, booked
appointments without times); the reader now repairs or reports them, so no error may remain.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from converter import convert
from converter.validate import validate_bundle

from conftest import HL7_CORPUS

def _corpus() -> list[Path]:
    return sorted(p for p in HL7_CORPUS.rglob("*") if p.suffix in (".hl7", ".txt"))


@pytest.mark.skipif(not HL7_CORPUS.exists(), reason="shared corpus not found")
def test_hl7v2_corpus_output_has_no_errors():
    paths = _corpus()
    assert len(paths) >= 140
    unexpected, bundles, resources = [], 0, 0
    for path in paths:
        result = convert(str(path), validate=False)
        for bundle in result.bundles:
            bundles += 1
            resources += len(bundle.get("entry", []))
            for issue in validate_bundle(bundle):
                assert issue.location.expression, issue
                if issue.is_error:
                    unexpected.append(f"{path.name}: {issue}")
    assert unexpected == []
    assert bundles >= 140 and resources > 2000


def test_convert_runs_the_validator(monkeypatch):
    import importlib

    pipeline = importlib.import_module("converter.convert")

    seen = []
    real = pipeline.validate_bundle
    monkeypatch.setattr(pipeline, "validate_bundle",
                        lambda bundle, source="": seen.append(bundle) or real(bundle, source))
    path = next(p for p in _corpus() if p.name == "REF-I14-01.hl7")
    result = convert(str(path))
    assert seen == result.bundles
    # the source's LOINC 22311-7 has a wrong check digit: the reader reports it and keeps the code
    assert any(i.code == "unknown-code" and "22311-7" in i.message for i in result.issues)

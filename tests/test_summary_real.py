"""The summary of real converter output: the HL7 V2-to-FHIR sample messages, converted by medbundle's
own readers, summarised in every format; and a lab message in conventional units, whose SI value
must come out."""
from __future__ import annotations

import re

import pytest
from conftest import HL7_CORPUS, ROOT
from test_summary_content import flat
from test_summary_data import TODAY, pdf_text

import converter
from converter.summary import summarize
from converter.summary.fonts import MissingFontError
from converter.writers.outcome import operation_outcome

ORU = HL7_CORPUS / "test_conversions_ORU_R01.hl7"


def _convert(path) -> converter.Result:
    result = converter.convert(str(path), validate=False)
    if not result.bundles:
        pytest.skip(f"no Bundle from {path.name}: {[str(i) for i in result.issues[:3]]}")
    return result


def _render(bundle: dict, fmt: str, lang: str, outcome: dict | None = None) -> str:
    try:
        out = summarize(bundle, fmt, lang, TODAY, outcome)
    except MissingFontError as exc:
        pytest.skip(str(exc))
    return flat(pdf_text(out) if fmt == "pdf" else out)


@pytest.fixture(scope="module")
def oru() -> converter.Result:
    return _convert(ORU)


@pytest.mark.parametrize("fmt", ["html", "md", "pdf"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_oru_r01_summary(oru, fmt, lang):
    text = _render(oru.bundle, fmt, lang, operation_outcome(oru.issues))
    assert "EVERYWOMAN, Eve L" in text and "1970-06-01" in text
    assert "Grass Pollen Mix" in text and "51523-9" in text
    assert "IgE Blue Grass Kentucky" in text and "6153-1" in text
    assert re.search(r"IgE Blue Grass Kentucky\W.*?3\.9\W+kU/L\W+<0\.10", text)
    assert "Allergy test interpretations are subjective." in text    # OBR NTE
    assert "Not feeling well" in text                                 # PV2 admit reason
    assert "ORU^R01" in text                                          # the source, from Provenance
    assert (">24 mo" in text) == (lang == "en") and (">24个月" in text) == (lang == "zh")
    assert ("异常" in text) == (lang == "zh")                          # OBX-8 A in words
    # Data quality from the conversion's own issues: unmapped fields are counted, not lost
    count = sum(1 for i in oru.issues if i.code == "unmapped-field")
    assert count > 10 and "unmapped-field" in text and re.search(rf"\b{count}\b", text)
    assert ("Filled-in fields that no mapping uses" in text) == (lang == "en")


def test_conventional_units_from_a_real_message(tmp_path):
    """OBX 1 of the sample rewritten as a glucose in mg/dL: the SI value comes out, with its code."""
    text = ORU.read_bytes().decode("utf-8")
    text = text.replace("OBX|1|NM|6153-1^IgE Blue Grass Kentucky^LN|1|3.9|kU/L|<0.10|A^Abnormal^HL70078",
                        "OBX|1|NM|2345-7^Glucose [Mass/volume] in Serum or Plasma^LN|1|126|mg/dL^mg/dL^UCUM"
                        "|70-99|H^High^HL70078")
    assert "2345-7" in text
    path = tmp_path / "glucose_ORU_R01.hl7"
    path.write_bytes(text.encode("utf-8"))
    bundle = _convert(path).bundle
    for fmt in ("html", "md", "pdf"):
        shown = _render(bundle, fmt, "zh")
        assert "Glucose [Mass/volume] in Serum or Plasma" in shown
        assert "126" in shown and "7.0 mmol/L" in shown and "14749-6" in shown, fmt
        assert re.search(r"3\.9\s*–\s*5\.5", shown), fmt
        assert "偏高" in shown


def test_sample_messages_allergy_and_immunizations():
    result = _convert(ROOT / "samples" / "hl7v2")
    with_allergy = [b for b in result.bundles
                    if any(e["resource"]["resourceType"] == "AllergyIntolerance" for e in b["entry"])]
    assert with_allergy, "ADT_A01's AL1 should give an AllergyIntolerance"
    for fmt in ("html", "md", "pdf"):
        text = _render(with_allergy[0], fmt, "en")
        assert "Timothy Grass" in text and "Sneeze" in text
        assert "influenza, unspecified formulation" in text
        assert "2014-10-12" in text and ">24 mo" in text


def test_dicom_studies_from_pydicom_test_files():
    """The DICOMDIR file-sets that ship with pydicom (offline): each study with its counts."""
    pydicom = pytest.importorskip("pydicom")
    from pathlib import Path

    folder = Path(pydicom.__file__).parent / "data" / "test_files" / "dicomdirtests"
    if not folder.is_dir():
        pytest.skip("pydicom ships no dicomdirtests folder")
    result = _convert(folder)
    studies = [(b, e["resource"]) for b in result.bundles for e in b["entry"]
               if e["resource"]["resourceType"] == "ImagingStudy"]
    assert studies
    for bundle, study in studies:
        text = _render(bundle, "md", "en")
        images = sum(len(s.get("instance", [])) for s in study["series"])
        assert f"{len(study['series'])} series, {images} images" in text
        if study.get("description"):
            assert study["description"] in text
        assert (study.get("started", "")[:10] or "date") in text

"""The cross-source sample (samples/cross-source): an ADT, an ORU, a CCD and a DICOM study of one
person become one history, with facts stated twice kept once and every source traceable."""
from __future__ import annotations

from converter import convert
from converter.assemble.chronology import clinical_date, sort_key
from converter.writers.json import dumps

from conftest import ROOT, one, resources

SAMPLE = ROOT / "samples" / "cross-source"


def _result():
    return convert(SAMPLE)


def test_one_person_from_four_sources():
    result = _result()
    assert result.ok, [str(i) for i in result.issues if i.is_error]
    assert len(result.bundles) == 1
    patient = one(result.bundle, "Patient")
    values = {i["value"] for i in patient["identifier"]}
    assert {"1032702", "WC-5531"} <= values  # v2 MRN, the clinic's number from the CCD
    matched = {i.location.source.rsplit("/", 1)[-1] for i in result.issues
               if i.code == "matched-by-demographics"}
    assert matched == {"oru.hl7", "ccd.xml"}  # the DICOM study matched the ADT by identifier


def test_facts_stated_twice_are_kept_once():
    bundle = _result().bundle
    counts = {t: len(resources(bundle, t)) for t in (
        "AllergyIntolerance", "Condition", "DiagnosticReport", "Observation", "Immunization",
        "ImagingStudy", "Procedure")}
    # allergy and asthma (ADT + CCD), IgE report and its first result (ORU + CCD): once each
    assert counts == {"AllergyIntolerance": 1, "Condition": 1, "DiagnosticReport": 1,
                      "Observation": 3, "Immunization": 1, "ImagingStudy": 1, "Procedure": 1}
    allergy = one(bundle, "AllergyIntolerance")
    assert allergy["code"]["coding"][0]["code"] == "70618"


def test_provenance_links_every_source_to_the_merged_facts():
    bundle = _result().bundle
    allergy = one(bundle, "AllergyIntolerance")
    ref = {"reference": f"urn:uuid:{allergy['id']}"}
    citing = [p for p in resources(bundle, "Provenance") if ref in p.get("target", [])]
    texts = " ".join(e["what"].get("display", "") for p in citing for e in p.get("entity", []))
    assert "adt.hl7" in texts and "ccd.xml" in texts
    merge = [p for p in resources(bundle, "Provenance")
             if "merged" in p.get("activity", {}).get("text", "")]
    assert len(merge) == 1 and ref in merge[0]["target"]
    study = one(bundle, "ImagingStudy")
    assert any({"reference": f"urn:uuid:{study['id']}"} in p["target"]
               for p in resources(bundle, "Provenance"))


def test_history_is_in_chronological_order():
    entries = [e["resource"] for e in _result().bundle["entry"]]
    assert entries[0]["resourceType"] == "Patient"
    dated = [(sort_key(clinical_date(r)), r["resourceType"]) for r in entries
             if clinical_date(r) and r["resourceType"] not in ("Provenance", "Coverage")]
    assert [d for d, _ in dated] == sorted(d for d, _ in dated)
    kinds = [t for _, t in dated]
    assert kinds.index("Immunization") < kinds.index("Condition") < kinds.index("ImagingStudy")


def test_reruns_are_byte_identical():
    assert dumps(_result().bundle) == dumps(_result().bundle)


def test_sample_summaries_are_current_and_readable(monkeypatch):
    """The summaries in samples/ are what the summary of this Bundle gives today."""
    import shutil
    import subprocess
    from datetime import date

    from converter import summarize
    from converter.writers.outcome import operation_outcome

    html = (ROOT / "samples" / "cross-source-summary.html").read_text(encoding="utf-8")
    for text in ("EVERYWOMAN, Eve L", "1970-06-01", "Penicillin", "CT chest", "&gt;12 mo"):
        assert text in html
    zh = (ROOT / "samples" / "cross-source-summary-zh.html").read_text(encoding="utf-8")
    assert "出生" in zh
    monkeypatch.chdir(ROOT)  # the sample names its sources by relative path
    result = convert(SAMPLE.relative_to(ROOT), timestamp="2016-03-01T09:00:00Z")
    fresh = summarize(result.bundle, format="html", today=date(2016, 3, 1),
                      outcome=operation_outcome(result.issues))
    assert fresh == html
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(ROOT / "samples" / "cross-source-summary.pdf"),
                               "-"], capture_output=True, check=True).stdout.decode()
        assert "EVERYWOMAN" in text and "1970-06-01" in text


def test_ips_document_of_the_sample_passes_the_ips_rules():
    from converter.validate import validate_bundle

    from ips_checks import assert_ips_document

    result = convert(SAMPLE, bundle_type="document", timestamp="2016-03-01T09:00:00Z")
    assert result.ok, [str(i) for i in result.issues if i.is_error]
    doc = result.bundle
    assert_ips_document(doc)
    composition = doc["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    codes = [s["code"]["coding"][0]["code"] for s in composition["section"]]
    assert codes[:3] == ["11450-4", "48765-2", "10160-0"]
    meds = composition["section"][2]
    assert "entry" not in meds and meds["emptyReason"]["coding"][0]["code"] == "unavailable"
    assert not [i for i in validate_bundle(doc, profile="ips") if i.is_error]


def test_a_report_naming_the_study_meets_the_dicom_study():
    """An ORU radiology report carrying the Study Instance UID (IHE ZDS-1, and an OBX coded DICOM
    113014) and the DICOM files of that study give one ImagingStudy, linked from the report."""
    uid = "1.2.826.0.1.3680043.10.1959.1.1"  # the sample's CT study
    oru = ("MSH|^~\\&|RIS|EastHosp|EHR|EastHosp|201506031200+0100||ORU^R01^ORU_R01|RAD-1|P|2.5.1\r"
           "PID|1||1032702^^^V2FHIR&1.2.3.4.5&ISO^MR||Everywoman^Eve^L||19700601|F\r"
           "OBR|1||ACC-2015-0602|24627-2^CT Chest^LN|||201506020930+0100|||||||||||||||"
           "201506031100+0100||CT|F\r"
           f"ZDS|{uid}^RIS^Application^DICOM\r"
           f"OBX|1|ST|113014^Study Instance UID^DCM||{uid}||||||F\r"
           "OBX|2|TX|18782-3^Radiology Study observation^LN||No acute findings.||||||F\r").encode()
    result = convert([oru, SAMPLE / "dicom"])
    assert result.ok, [str(i) for i in result.issues if i.is_error]
    bundle = result.bundle
    study = one(bundle, "ImagingStudy")
    assert study["numberOfInstances"] == 2  # the DICOM study's own details survive the merge
    report = one(bundle, "DiagnosticReport")
    assert report["imagingStudy"] == [{"reference": f"urn:uuid:{study['id']}"}]
    assert not [i for i in result.issues if i.code == "unmapped-segment"
                and i.location.segment == "ZDS"]

"""Reports that travel with the images: Encapsulated PDF -> DocumentReference, SR ->
DiagnosticReport and Observations, all in the study's Bundle and Provenance."""
from __future__ import annotations

import base64
import hashlib
from decimal import Decimal

from converter import convert
from converter.writers.json import dumps
from test_dicom_make import instance, issues, pdf_report, structure_errors, text_sr, uid, write
from conftest import by_ref, one, resources

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def test_encapsulated_pdf_to_document_reference(tmp_path):
    write(instance(number=1, tz="+0200"), tmp_path / "img.dcm")
    write(pdf_report(title="CT chest report", data=PDF, tz="+0200"), tmp_path / "report.dcm")
    result = convert(str(tmp_path))
    assert result.ok and not structure_errors(result)
    bundle = result.bundle
    doc = one(bundle, "DocumentReference")
    attachment = doc["content"][0]["attachment"]
    assert base64.b64decode(attachment["data"]) == PDF  # the pad byte is gone
    assert attachment["size"] == len(PDF) and attachment["contentType"] == "application/pdf"
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(PDF).digest()).decode()
    assert attachment["title"] == doc["description"] == "CT chest report"
    assert doc["date"] == "2024-01-02T11:30:00+02:00"
    assert doc["masterIdentifier"]["value"] == f"urn:oid:{uid(1, 90, 1)}"
    study = by_ref(bundle, doc["context"]["related"][0])
    assert study["resourceType"] == "ImagingStudy" and study["numberOfSeries"] == 2
    doc_series = next(s for s in study["series"] if s["modality"]["code"] == "DOC")
    assert doc_series["instance"][0]["title"] == "CT chest report"
    assert by_ref(bundle, doc["subject"]) is one(bundle, "Patient")
    provenance = one(bundle, "Provenance")
    assert {t["reference"] for t in provenance["target"]} == {
        f"urn:uuid:{study['id']}", f"urn:uuid:{doc['id']}"}
    assert len(provenance["entity"]) == 2


def test_pdf_without_offset_has_no_instant(tmp_path):
    write(pdf_report(data=PDF), tmp_path / "report.dcm")
    result = convert(str(tmp_path))
    assert result.ok and not structure_errors(result)
    doc = one(result.bundle, "DocumentReference")
    assert "date" not in doc and doc["content"][0]["attachment"]["creation"] == "2024-01-02"
    assert any("Content Date/Time" in i.message for i in issues(result, "timezone-assumed"))


def test_basic_text_sr_to_diagnostic_report(tmp_path):
    write(instance(number=1, tz="+0000"), tmp_path / "img.dcm")
    write(text_sr(findings="Small nodule, right upper lobe.", diameter="3.50", tz="+0000"),
          tmp_path / "sr.dcm")
    result = convert(str(tmp_path))
    assert result.ok and not structure_errors(result)
    bundle = result.bundle
    report = one(bundle, "DiagnosticReport")
    assert report["status"] == "final"
    assert report["code"]["coding"][0] == {"system": "http://loinc.org", "code": "18748-4",
                                           "display": "Diagnostic imaging study"}
    assert report["effectiveDateTime"] == "2024-01-02T12:00:00+00:00"
    assert report["issued"] == "2024-01-02T13:00:00+00:00"  # the verification time
    [reader] = [by_ref(bundle, r) for r in report["resultsInterpreter"]]
    assert reader["name"] == [{"family": "Reader", "given": ["Rita"]}]
    finding, size = [by_ref(bundle, r) for r in report["result"]]
    assert finding["valueString"] == "Small nodule, right upper lobe."
    assert finding["code"]["coding"][0]["code"] == "121071"
    assert size["valueQuantity"] == {"value": Decimal("3.50"), "unit": "millimeter",
                                     "system": "http://unitsofmeasure.org", "code": "mm"}
    assert b'"value":3.50' in dumps(bundle, indent=0).replace(b" ", b"")  # precision kept
    text = base64.b64decode(report["presentedForm"][0]["data"]).decode()
    assert "CONTAINS NUM Diameter: 3.50 mm" in text
    study = by_ref(bundle, report["imagingStudy"][0])
    assert study["numberOfInstances"] == 2
    assert {m["code"] for m in study["modality"]} == {"CT"}  # SR is not an acquisition modality
    assert all(o["derivedFrom"] == [{"reference": f"urn:uuid:{study['id']}"}]
               for o in (finding, size))


def test_sr_without_content_is_reported(tmp_path):
    ds = text_sr()
    del ds.ContentSequence
    write(ds, tmp_path / "sr.dcm")
    result = convert(str(tmp_path))
    assert not structure_errors(result)
    [empty] = issues(result, "truncated")
    assert empty.location.tag == "(0040,A730)"
    assert one(result.bundle, "DiagnosticReport")["status"] == "final"
    assert not resources(result.bundle, "Observation")


def test_encapsulated_cda_is_read_as_the_cda_document_it_is(tmp_path):
    """An Encapsulated CDA gives its DocumentReference and, read by the CDA reader, the entries
    of the document itself, in the same patient's history."""
    from conftest import ROOT

    ccd = (ROOT / "samples" / "cross-source" / "ccd.xml").read_bytes()
    ds = pdf_report(title="Clinic summary", data=ccd, tz="+0100", name="EVERYWOMAN^EVE",
                    birth="19700601", sex="F")
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.104.2"  # Encapsulated CDA Storage
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.MIMETypeOfEncapsulatedDocument = "text/XML"
    write(ds, tmp_path / "cda.dcm")
    result = convert(str(tmp_path))
    assert result.ok, [str(i) for i in result.issues if i.is_error]
    bundle = result.bundle
    assert one(bundle, "Condition")["code"]["coding"][0]["code"] == "195967001"  # asthma
    assert one(bundle, "AllergyIntolerance")["code"]["coding"][0]["code"] == "70618"
    assert any(d.get("content", [{}])[0].get("attachment", {}).get("contentType") == "text/XML"
               for d in resources(bundle, "DocumentReference"))

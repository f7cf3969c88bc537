"""IPS documents from what the real readers make of the shared corpus (HL7 v2 and C-CDA)."""
from __future__ import annotations

import copy
from functools import lru_cache

import pytest

from conftest import CORPUS, HL7_CORPUS
from converter import convert
from converter.assemble.ips import document
from converter.validate import validate_bundle
from converter.writers.json import dumps
from ips_checks import XHTML, assert_ips_document, check_narrative, resolve, section

TS = "2024-05-01T10:00:00+02:00"
IPS = "http://hl7.org/fhir/uv/ips/StructureDefinition/"
CCDA = CORPUS / "ccda-samples" / "ms-fhir-converter"
INPUTS = {
    "oru": HL7_CORPUS / "test_conversions_ORU_R01.hl7",
    "adt": HL7_CORPUS / "ms-fhir-converter" / "ADT-A01-01.hl7",
    "vxu": HL7_CORPUS / "test_conversions_VXU_V04.hl7",
    "ccd": CCDA / "C-CDA_R2-1_CCD.xml.ccda",
    "ccd-nka": CCDA / "CCD.ccda",
    "ccd-none": CCDA / "CCD-Parent-Document-Replace-C-CDAR2.1.ccda",
    "discharge": CCDA / "Discharge_Summary.ccda",
}


@lru_cache(maxsize=None)
def _read(name: str) -> tuple[dict, ...]:
    path = INPUTS[name]
    if not path.exists():
        pytest.skip(f"corpus file missing: {path}")
    bundle = convert(str(path), validate=False).bundles[0]
    return tuple(e["resource"] for e in bundle["entry"])


def history(name: str) -> tuple[list[dict], dict]:
    """A fresh copy of the resources one corpus input gives, and its Patient."""
    res = copy.deepcopy(list(_read(name)))
    return res, next(r for r in res if r["resourceType"] == "Patient")


def ips(name: str) -> tuple[dict, list]:
    res, pat = history(name)
    return document(res, pat, TS, "0.1.0")


def rows(section_: dict) -> list[list[str]]:
    root = check_narrative(section_["text"]["div"])
    return [["".join(td.itertext()) for td in tr] for tr in root.iter(f"{{{XHTML}}}tr")][1:]


def entry_resources(doc: dict, code: str) -> list[dict]:
    return [resolve(doc, e["reference"]) for e in section(doc, code).get("entry", [])]


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_every_corpus_history_makes_a_valid_ips_document(name):
    res, pat = history(name)
    before = dumps(res)
    doc, issues = document(res, pat, TS, "0.1.0")
    assert dumps(res) == before, "the reader's resources were changed"
    assert_ips_document(doc)
    errors = [str(i) for i in validate_bundle(doc) if i.is_error]
    assert not errors, "\n".join(errors)
    assert not [i for i in issues if i.severity in ("error", "fatal")]
    again, _ = document(copy.deepcopy(list(_read(name))), pat, TS, "0.1.0")
    assert dumps(again) == dumps(doc)


def test_oru_lab_results_with_empty_required_sections():
    doc, issues = ips("oru")
    for code in ("11450-4", "48765-2", "10160-0"):
        assert section(doc, code)["emptyReason"]["coding"][0]["code"] == "unavailable"
    (report,) = entry_resources(doc, "30954-2")
    assert report["resourceType"] == "DiagnosticReport"
    assert report["code"]["coding"][0]["code"] == "51523-9"
    listed = [r[1] for r in rows(section(doc, "30954-2"))]
    assert listed == ["Grass Pollen Mix", "↳ IgE Blue Grass Kentucky", "↳ IgE Bermuda Grass",
                      "↳ IgE Timothy Grass"]
    # the MessageHeader is gone, and so is every link to it
    header_ids = {r["id"] for r in _read("oru") if r["resourceType"] == "MessageHeader"}
    assert header_ids
    text = dumps(doc).decode()
    assert not any(h in text for h in header_ids)
    assert [i.location.source for i in issues if i.code == "ips-excluded"] == \
        [f"MessageHeader/{h}" for h in header_ids]
    # the report had no category in v2: IPS wants one, so it says unknown and it is reported
    assert report["category"][0]["coding"][0]["code"] == "unknown"
    filled = [i.location.expression for i in issues if i.code == "data-absent"]
    assert filled == ["DiagnosticReport.category"]


def test_adt_problem_allergy_procedure_and_vital_sign():
    doc, _ = ips("adt")
    (problem,) = entry_resources(doc, "11450-4")
    assert problem["code"]["coding"][0]["code"] == "422504002"
    (allergy,) = entry_resources(doc, "48765-2")
    assert allergy["code"]["coding"][0]["display"] == "PENICILLIN"
    assert rows(section(doc, "48765-2"))[0][2] == "environment; reaction: CODE16 (mild)"
    (proc,) = entry_resources(doc, "47519-4")
    assert proc["code"]["coding"][0]["code"] == "76164006"
    (heart,) = entry_resources(doc, "8716-3")
    assert heart["code"]["coding"][0]["code"] == "8867-4"
    assert "emptyReason" in section(doc, "10160-0")


def test_vxu_immunizations():
    doc, _ = ips("vxu")
    vaccines = entry_resources(doc, "11369-6")
    assert len(vaccines) == 3
    assert all(v["meta"]["profile"] == [IPS + "Immunization-uv-ips"] for v in vaccines)


def test_ccd_fills_the_recommended_and_optional_sections():
    doc, _ = ips("ccd")
    counts = {c: len(section(doc, c).get("entry", [])) for c in
              ("11450-4", "48765-2", "10160-0", "11369-6", "30954-2", "47519-4", "46264-8",
               "8716-3", "11348-0", "29762-2", "42348-3")}
    # medications: two statements and the dispense (.18) recorded under one of them
    assert counts == {"11450-4": 2, "48765-2": 2, "10160-0": 3, "11369-6": 5, "30954-2": 2,
                      "47519-4": 4, "46264-8": 4, "8716-3": 2, "11348-0": 2, "29762-2": 3,
                      "42348-3": 1}
    past = entry_resources(doc, "11348-0")
    assert {r["code"]["coding"][0]["code"] for r in past} == {"233604007"}
    # the planned colonoscopy is told in the plan of care, which takes CarePlan entries only
    plan = section(doc, "18776-5")
    assert "entry" not in plan
    assert rows(plan) == [["2013-06-13", "Colonoscopy", "intent order", "active"]]
    devices = [r[1] for r in rows(section(doc, "46264-8"))]
    assert devices.count("Cardiac Pacemaker") == 3 and "cane, device (physical object)" in devices
    comp = doc["entry"][0]["resource"]
    assert comp["event"][0]["period"] == {"start": "1998-03-10", "end": "2013-08-01T12:35:00-08:00"}
    profiles = {r["id"]: r.get("meta", {}).get("profile", []) for r in
                (e["resource"] for e in doc["entry"])}
    tobacco = next(r for r in entry_resources(doc, "29762-2")
                   if r["code"]["coding"][0]["code"] == "72166-2")
    assert profiles[tobacco["id"]] == [IPS + "Observation-tobaccouse-uv-ips"]


def test_only_devices_of_the_patient_take_the_ips_device_profile():
    doc, issues = ips("ccd")
    used = {resolve(doc, r["device"]["reference"])["id"] for r in entry_resources(doc, "46264-8")}
    assert len(used) == 2
    for e in doc["entry"]:
        r = e["resource"]
        if r["resourceType"] == "Device" and r["id"] in used:
            assert r["meta"]["profile"] == [IPS + "Device-uv-ips"]
    doc, issues = ips("ccd-nka")  # its only Device is the software that wrote the CCD
    (software,) = [e["resource"] for e in doc["entry"][1:-1]
                   if e["resource"]["resourceType"] == "Device"]
    assert "meta" not in software and not [i for i in issues if i.code == "ips-profile-skipped"]


def test_ccd_no_known_allergies_is_an_entry():
    doc, _ = ips("ccd-nka")
    allergies = section(doc, "48765-2")
    (nka,) = entry_resources(doc, "48765-2")
    assert nka["code"]["coding"][0]["code"] == "716186003"
    assert "emptyReason" not in allergies
    assert rows(allergies)[0][1] == "No known allergy"


def test_ccd_stating_no_problems_allergies_or_medications():
    doc, issues = ips("ccd-none")
    stated = {code: {c["code"] for r in entry_resources(doc, code)
                     for c in (r.get("code") or r.get("medicationCodeableConcept"))["coding"]}
              for code in ("11450-4", "48765-2", "10160-0")}
    assert stated == {"11450-4": {"160245001"}, "48765-2": {"409137002"}, "10160-0": {"787481004"}}
    assert not any("emptyReason" in section(doc, c) for c in stated)
    assert not [i for i in issues if i.code == "absence-conflict"]


def test_a_merge_message_makes_a_one_patient_document():
    """ADT^A40 names the replaced record (MRG): the IPS document keeps one Patient, whose link
    names the old record by identifier instead of carrying it."""
    path = HL7_CORPUS / "ms-fhir-converter" / "ADT-A40-01.hl7"
    result = convert(str(path), bundle_type="document", timestamp=TS)
    assert result.ok, [str(i) for i in result.issues if i.is_error]
    doc = result.bundle
    patients = [e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert len(patients) == 1
    assert patients[0]["link"][0]["type"] == "replaces"
    assert patients[0]["link"][0]["other"]["identifier"]["value"] == "56789"

"""The IPS document builder on hand-built patient histories: every rule of STANDARDS.md 1.1-1.4."""
from __future__ import annotations

import copy

import pytest
from lxml import etree

from converter.assemble.ips import document
from converter.fhir.ids import resource_id
from converter.validate import validate_bundle
from converter.writers.json import dumps
from ips_checks import (DAR, XHTML, assert_ips_document, check_narrative, resolve, section,
                        section_codes)

TS = "2024-05-01T10:00:00+02:00"
SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
OBS_CAT = "http://terminology.hl7.org/CodeSystem/observation-category"
IPS = "http://hl7.org/fhir/uv/ips/StructureDefinition/"


def rid(rtype: str, key: str) -> str:
    return resource_id(rtype, "test", key)


def ref(rtype: str, key: str) -> dict:
    return {"reference": f"urn:uuid:{rid(rtype, key)}"}


def concept(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def patient(birth: bool = True) -> dict:
    p = {"resourceType": "Patient", "id": rid("Patient", "p1"),
         "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": "MRN-7"}],
         "name": [{"family": "Muster", "given": ["Erika"]}], "gender": "female"}
    if birth:
        p["birthDate"] = "1964-08-12"
    return p


SUBJECT = {"reference": f"urn:uuid:{rid('Patient', 'p1')}"}


def condition(key: str, code: str, text: str, status: str = "active",
              onset: str = "2019-03-02") -> dict:
    return {"resourceType": "Condition", "id": rid("Condition", key),
            "clinicalStatus": concept("http://terminology.hl7.org/CodeSystem/condition-clinical",
                                      status, status),
            "code": concept(SCT, code, text), "subject": SUBJECT, "onsetDateTime": onset}


def allergy(key: str, code: str, text: str) -> dict:
    return {"resourceType": "AllergyIntolerance", "id": rid("AllergyIntolerance", key),
            "clinicalStatus": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                "code": "active"}]},  # ait-1
            "code": concept(SCT, code, text), "patient": SUBJECT, "recordedDate": "2020-01-10"}


def lab(key: str, code: str, text: str, value: str | None = "5.4",
        when: str | None = "2023-11-02T08:15:00+01:00", performer: bool = True) -> dict:
    from decimal import Decimal
    obs = {"resourceType": "Observation", "id": rid("Observation", key), "status": "final",
           "category": [{"coding": [{"system": OBS_CAT, "code": "laboratory"}]}],
           "code": concept(LOINC, code, text), "subject": SUBJECT}
    if when:
        obs["effectiveDateTime"] = when
    if performer:
        obs["performer"] = [ref("Organization", "lab")]
    if value is not None:
        obs["valueQuantity"] = {"value": Decimal(value), "unit": "mmol/L",
                                "system": "http://unitsofmeasure.org", "code": "mmol/L"}
    return obs


def lab_org() -> dict:
    return {"resourceType": "Organization", "id": rid("Organization", "lab"), "name": "Central Lab"}


def med_statement(key: str, code: str, text: str, effective: bool = True) -> dict:
    ms = {"resourceType": "MedicationStatement", "id": rid("MedicationStatement", key),
          "status": "active", "medicationCodeableConcept": concept(SCT, code, text),
          "subject": SUBJECT}
    if effective:
        ms["effectivePeriod"] = {"start": "2021-06-01"}
    return ms


def build(resources: list[dict], subject: dict | None = None, ts: str = TS) -> tuple[dict, list]:
    p = subject or patient()
    return document([p, *resources], p, ts, "0.1.0")


def issues_of(issues: list, code: str) -> list:
    return [i for i in issues if i.code == code]


# -- Bundle and Composition ------------------------------------------------------------------------

def test_full_history_is_a_valid_ips_document():
    res = [lab_org(), condition("c1", "38341003", "Hypertension"),
           allergy("a1", "91936005", "Allergy to penicillin"),
           med_statement("m1", "386872004", "Ramipril"), lab("o1", "2345-7", "Glucose")]
    doc, issues = build(res)
    assert_ips_document(doc)
    errors = [str(i) for i in validate_bundle(doc) if i.is_error]
    assert not errors, "\n".join(errors)
    comp = doc["entry"][0]["resource"]
    assert [next(iter(section_codes(s))) for s in comp["section"]] == \
        ["11450-4", "48765-2", "10160-0", "30954-2"]
    assert comp["date"] == TS and doc["timestamp"] == TS
    assert comp["title"] == "International Patient Summary"
    assert comp["event"][0]["period"] == {"start": "2019-03-02", "end": "2023-11-02T08:15:00+01:00"}
    author = resolve(doc, comp["author"][0]["reference"])
    assert author["deviceName"][0]["name"] == "medbundle"
    assert author["version"][0]["value"] == "0.1.0"
    assert comp["author"][0]["display"] == "medbundle 0.1.0"
    assert [e["resource"]["resourceType"] for e in doc["entry"]][:2] == ["Composition", "Patient"]
    assert doc["entry"][-1]["resource"] is author or doc["entry"][-1]["resource"] == author
    assert doc["meta"]["profile"] == [IPS + "Bundle-uv-ips"]
    assert comp["meta"]["profile"] == [IPS + "Composition-uv-ips"]
    assert not [i for i in issues if i.severity in ("error", "fatal")]


def test_patient_given_again_in_resources_appears_once():
    p = patient()
    res = [p, copy.deepcopy(p), condition("c1", "38341003", "Hypertension")]
    doc, _ = document(res, p, TS, "1")
    assert [e["resource"]["resourceType"] for e in doc["entry"]].count("Patient") == 1


def test_timestamp_must_be_an_instant_with_offset():
    with pytest.raises(ValueError):
        build([], ts="2024-05-01")
    with pytest.raises(ValueError):
        build([], ts="2024-05-01T10:00:00")


# -- required sections, empty and "no known" -------------------------------------------------------

def test_required_sections_are_present_and_say_why_they_are_empty():
    doc, _ = build([lab_org(), lab("o1", "2345-7", "Glucose")])
    assert_ips_document(doc)
    for code in ("11450-4", "48765-2", "10160-0"):
        s = section(doc, code)
        assert "entry" not in s
        assert s["emptyReason"]["coding"][0] == {
            "system": "http://terminology.hl7.org/CodeSystem/list-empty-reason",
            "code": "unavailable", "display": "Unavailable"}
        text = "".join(check_narrative(s["text"]["div"]).itertext())
        assert "no information available" in text.lower()
    # optional sections only when they have something to hold
    assert section(doc, "11369-6") is None and section(doc, "47519-4") is None
    glucose = f"urn:uuid:{rid('Observation', 'o1')}"
    assert section(doc, "30954-2")["entry"] == [{"reference": glucose}]


@pytest.mark.parametrize("resource,code,words", [
    (allergy("nka", "716186003", "No known allergy"), "48765-2", "No known allergy"),
    (condition("nkp", "160245001", "No current problems or disability"), "11450-4",
     "No current problems or disability"),
    (med_statement("nkm", "787481004", "No known medications"), "10160-0", "No known medications"),
])
def test_a_stated_absence_is_an_entry_not_an_empty_section(resource, code, words):
    doc, issues = build([resource])
    assert_ips_document(doc)
    s = section(doc, code)
    assert s["entry"] == [{"reference": f"urn:uuid:{resource['id']}"}]
    assert "emptyReason" not in s
    assert words in "".join(check_narrative(s["text"]["div"]).itertext())
    others = {"11450-4", "48765-2", "10160-0"} - {code}
    assert all("emptyReason" in section(doc, c) for c in others)
    assert not issues_of(issues, "absence-conflict")


def test_no_known_allergy_beside_a_listed_allergy_is_flagged():
    doc, issues = build([allergy("nka", "716186003", "No known allergy"),
                         allergy("a1", "91936005", "Allergy to penicillin")])
    assert len(section(doc, "48765-2")["entry"]) == 2
    (conflict,) = issues_of(issues, "absence-conflict")
    assert conflict.severity == "warning" and "No known allergy" in conflict.message


# -- which section -------------------------------------------------------------------------------

def test_resolved_conditions_go_to_past_problems_and_refuted_ones_nowhere():
    active = condition("c1", "38341003", "Hypertension")
    resolved = condition("c2", "233604007", "Pneumonia", status="resolved", onset="2010-01-05")
    refuted = condition("c3", "44054006", "Diabetes")
    refuted["verificationStatus"] = concept(
        "http://terminology.hl7.org/CodeSystem/condition-ver-status", "refuted", "Refuted")
    doc, _ = build([active, resolved, refuted])
    assert_ips_document(doc)
    assert section(doc, "11450-4")["entry"] == [{"reference": f"urn:uuid:{active['id']}"}]
    assert section(doc, "11348-0")["entry"] == [{"reference": f"urn:uuid:{resolved['id']}"}]
    assert f"urn:uuid:{refuted['id']}" in {e["fullUrl"] for e in doc["entry"]}


def test_report_is_the_entry_and_its_results_are_listed_under_it():
    o1, o2 = lab("o1", "718-7", "Hemoglobin", "13.20"), lab("o2", "4544-3", "Hematocrit", "35.3")
    report = {"resourceType": "DiagnosticReport", "id": rid("DiagnosticReport", "r1"),
              "status": "final", "category": [concept("http://terminology.hl7.org/CodeSystem/v2-0074",
                                                      "LAB", "Laboratory")],
              "code": concept(LOINC, "58410-2", "CBC panel"), "subject": SUBJECT,
              "effectiveDateTime": "2023-11-02", "result": [{"reference": f"urn:uuid:{o1['id']}"},
                                                           {"reference": f"urn:uuid:{o2['id']}"}]}
    doc, _ = build([lab_org(), report, o1, o2])
    assert_ips_document(doc)
    s = section(doc, "30954-2")
    assert s["entry"] == [{"reference": f"urn:uuid:{report['id']}"}]
    rows = [[("".join(td.itertext())) for td in tr]
            for tr in check_narrative(s["text"]["div"]).iter(f"{{{XHTML}}}tr")][1:]
    assert [r[1] for r in rows] == ["CBC panel", "↳ Hemoglobin", "↳ Hematocrit"]
    assert rows[1][2] == "13.20 mmol/L"  # the written precision, never a float


def test_only_the_latest_smoking_status_is_an_entry():
    def smoking(key, when, code, text):
        return {"resourceType": "Observation", "id": rid("Observation", key), "status": "final",
                "category": [{"coding": [{"system": OBS_CAT, "code": "social-history"}]}],
                "code": concept(LOINC, "72166-2", "Tobacco smoking status"), "subject": SUBJECT,
                "effectiveDateTime": when, "valueCodeableConcept": concept(SCT, code, text)}
    old = smoking("s1", "2015-04-01", "77176002", "Smoker")
    new = smoking("s2", "2022-04-01", "8517006", "Ex-smoker")
    doc, _ = build([old, new])
    s = section(doc, "29762-2")
    assert s["entry"] == [{"reference": f"urn:uuid:{new['id']}"}]
    text = "".join(check_narrative(s["text"]["div"]).itertext())
    assert "Ex-smoker" in text and "Smoker" in text.replace("Ex-smoker", "")
    tagged = {e["resource"]["id"]: e["resource"].get("meta", {}).get("profile", [])
              for e in doc["entry"]}
    assert tagged[new["id"]] == [IPS + "Observation-tobaccouse-uv-ips"]


def test_a_smoking_history_over_a_period_keeps_its_period_and_goes_untagged():
    history = {"resourceType": "Observation", "id": rid("Observation", "sp"), "status": "final",
               "code": concept(LOINC, "72166-2", "Tobacco smoking status"), "subject": SUBJECT,
               "effectivePeriod": {"start": "2009-02-14", "end": "2011-02-15"},
               "valueCodeableConcept": concept(SCT, "77176002", "Smoker")}
    doc, issues = build([history])
    out = resolve(doc, f"urn:uuid:{history['id']}")
    assert "_effectiveDateTime" not in out and out["effectivePeriod"] == history["effectivePeriod"]
    assert "meta" not in out
    (skipped,) = issues_of(issues, "ips-profile-skipped")
    assert "effectivePeriod" in skipped.message
    assert not issues_of(issues, "data-absent")
    errors = [str(i) for i in validate_bundle(doc) if i.is_error]
    assert not errors, "\n".join(errors)


def test_imaging_study_is_told_in_results_but_is_not_an_entry():
    study = {"resourceType": "ImagingStudy", "id": rid("ImagingStudy", "st1"),
             "status": "available",
             "subject": SUBJECT, "started": "2023-02-01T09:00:00+01:00",
             "description": "CT chest", "numberOfSeries": 2, "numberOfInstances": 240,
             "series": [{"uid": "1.2.3.4", "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM",
                                                         "code": "CT"}}]}
    doc, _ = build([study])
    assert_ips_document(doc)
    s = section(doc, "30954-2")
    assert "entry" not in s and "emptyReason" not in s
    assert "CT chest" in "".join(check_narrative(s["text"]["div"]).itertext())
    assert IPS + "ImagingStudy-uv-ips" in resolve(doc, f"urn:uuid:{study['id']}")["meta"]["profile"]


def test_heart_rate_without_category_counts_as_a_vital_sign():
    hr = {"resourceType": "Observation", "id": rid("Observation", "hr"), "status": "final",
          "code": concept(LOINC, "8867-4", "Heart rate"), "subject": SUBJECT,
          "effectiveDateTime": "2023-01-01", "valueQuantity": {"value": 72, "unit": "/min"}}
    doc, _ = build([hr])
    assert section(doc, "8716-3")["entry"] == [{"reference": f"urn:uuid:{hr['id']}"}]
    assert section(doc, "30954-2") is None


# -- left out ------------------------------------------------------------------------------------

def test_message_header_is_left_out_and_provenance_no_longer_points_at_it():
    header = {"resourceType": "MessageHeader", "id": rid("MessageHeader", "h1"),
              "eventCoding": {"system": "http://terminology.hl7.org/CodeSystem/v2-0003",
                              "code": "R01"},
              "source": {"endpoint": "urn:x"}}
    o1 = lab("o1", "2345-7", "Glucose")
    prov = {"resourceType": "Provenance", "id": rid("Provenance", "pv"),
            "target": [{"reference": f"urn:uuid:{header['id']}"},
                       {"reference": f"urn:uuid:{o1['id']}"}],
            "recorded": "2024-01-01T00:00:00Z",
            "agent": [{"who": {"display": "LabApp"}}]}
    doc, issues = build([lab_org(), header, o1, prov])
    assert_ips_document(doc)
    errors = [str(i) for i in validate_bundle(doc) if i.is_error]
    assert not errors, "\n".join(errors)
    types = [e["resource"]["resourceType"] for e in doc["entry"]]
    assert "MessageHeader" not in types
    kept = resolve(doc, f"urn:uuid:{prov['id']}")
    assert kept["target"] == [{"reference": f"urn:uuid:{o1['id']}"}]
    assert len(prov["target"]) == 2  # the input is untouched
    (left,) = issues_of(issues, "ips-excluded")
    assert left.location.source == f"MessageHeader/{header['id']}"


def test_do_not_perform_request_stays_out_of_the_document():
    give = {"resourceType": "MedicationRequest", "id": rid("MedicationRequest", "give"),
            "status": "active", "intent": "order", "subject": SUBJECT,
            "medicationCodeableConcept": concept(SCT, "387458008", "Aspirin"),
            "authoredOn": "2023-01-01"}
    avoid = {**give, "id": rid("MedicationRequest", "avoid"), "doNotPerform": True,
             "medicationCodeableConcept": concept(SCT, "387207008", "Ibuprofen")}
    doc, issues = build([give, avoid])
    assert_ips_document(doc)
    urls = {e["fullUrl"] for e in doc["entry"]}
    assert f"urn:uuid:{avoid['id']}" not in urls
    assert section(doc, "10160-0")["entry"] == [{"reference": f"urn:uuid:{give['id']}"}]
    assert "Ibuprofen" not in section(doc, "10160-0")["text"]["div"]
    (left,) = issues_of(issues, "ips-excluded")
    assert left.severity == "warning" and "doNotPerform" in left.message


def test_do_not_perform_request_referred_to_stays_in_the_bundle_but_not_in_sections():
    avoid = {"resourceType": "MedicationRequest", "id": rid("MedicationRequest", "avoid"),
             "status": "active", "intent": "order", "subject": SUBJECT, "doNotPerform": True,
             "medicationCodeableConcept": concept(SCT, "387207008", "Ibuprofen")}
    note = {"resourceType": "DocumentReference", "id": rid("DocumentReference", "n1"),
            "status": "current", "subject": SUBJECT, "context": {"related": [
                {"reference": f"urn:uuid:{avoid['id']}"}]},
            "content": [{"attachment": {"contentType": "text/plain", "title": "note"}}]}
    doc, issues = build([avoid, note])
    assert_ips_document(doc)
    assert f"urn:uuid:{avoid['id']}" in {e["fullUrl"] for e in doc["entry"]}
    assert "emptyReason" in section(doc, "10160-0")
    assert "stays in the Bundle" in issues_of(issues, "ips-excluded")[0].message


def test_entered_in_error_is_left_out():
    wrong = {**condition("c9", "38341003", "Hypertension"),
             "verificationStatus": concept("http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                           "entered-in-error", "Entered in Error")}
    doc, issues = build([wrong])
    assert f"urn:uuid:{wrong['id']}" not in {e["fullUrl"] for e in doc["entry"]}
    assert "emptyReason" in section(doc, "11450-4")
    assert issues_of(issues, "ips-excluded")[0].severity == "information"


# -- data-absent-reason and profiles -------------------------------------------------------------

def test_required_elements_the_sources_lack_get_data_absent_reason_on_copies():
    subject = patient(birth=False)
    o1 = lab("o1", "2345-7", "Glucose", value=None, when=None, performer=False)
    imm = {"resourceType": "Immunization", "id": rid("Immunization", "i1"), "status": "completed",
           "vaccineCode": concept("http://hl7.org/fhir/sid/cvx", "141", "Influenza"),
           "patient": SUBJECT}
    proc = {"resourceType": "Procedure", "id": rid("Procedure", "pr1"), "status": "completed",
            "code": concept(SCT, "80146002", "Appendectomy"), "subject": SUBJECT}
    ms = med_statement("m1", "386872004", "Ramipril", effective=False)
    inputs = [subject, o1, imm, proc, ms]
    before = copy.deepcopy(inputs)
    doc, issues = document(inputs, subject, TS, "0.1.0")
    assert inputs == before, "the input dicts were changed"
    assert_ips_document(doc)
    errors = [str(i) for i in validate_bundle(doc) if i.is_error]
    assert not errors, "\n".join(errors)
    absent = {"extension": [{"url": DAR, "valueCode": "unknown"}]}
    out = {e["resource"]["id"]: e["resource"] for e in doc["entry"]}
    assert out[subject["id"]]["_birthDate"] == absent and "birthDate" not in out[subject["id"]]
    assert out[o1["id"]]["_effectiveDateTime"] == absent
    assert out[o1["id"]]["performer"] == [absent]
    assert out[o1["id"]]["dataAbsentReason"]["coding"][0]["code"] == "unknown"
    assert out[imm["id"]]["_occurrenceString"] == absent
    assert out[proc["id"]]["_performedDateTime"] == absent
    assert out[ms["id"]]["_effectiveDateTime"] == absent
    filled = {i.location.expression for i in issues_of(issues, "data-absent")}
    assert filled == {"Patient.birthDate", "Observation.effectiveDateTime", "Observation.performer",
                      "Observation.dataAbsentReason", "Immunization.occurrenceString",
                      "Procedure.performedDateTime", "MedicationStatement.effectiveDateTime"}
    sources = {i.location.source for i in issues_of(issues, "data-absent")}
    assert sources == {f"{r['resourceType']}/{r['id']}" for r in inputs}
    assert all(i.severity == "information" for i in issues_of(issues, "data-absent"))


def test_profiles_are_added_to_existing_meta_without_losing_it():
    o1 = lab("o1", "2345-7", "Glucose")
    o1["meta"] = {"tag": [{"system": "urn:x", "code": "y"}]}
    doc, _ = build([lab_org(), o1])
    out = resolve(doc, f"urn:uuid:{o1['id']}")
    assert out["meta"] == {"tag": [{"system": "urn:x", "code": "y"}],
                           "profile": [IPS + "Observation-results-laboratory-pathology-uv-ips"]}
    assert o1["meta"] == {"tag": [{"system": "urn:x", "code": "y"}]}
    subject = resolve(doc, f"urn:uuid:{patient()['id']}")
    assert subject["meta"]["profile"] == [IPS + "Patient-uv-ips"]


def test_a_patient_without_a_name_is_reported_and_not_claimed_ips():
    nameless = {k: v for k, v in patient().items() if k != "name"}
    doc, issues = build([], subject=nameless)
    out = resolve(doc, f"urn:uuid:{nameless['id']}")
    assert "meta" not in out
    assert [i.severity for i in issues_of(issues, "missing-field")] == ["warning"]
    assert not issues_of(issues, "ips-profile-skipped")


# -- narrative safety and determinism ------------------------------------------------------------

def test_source_text_is_escaped_in_narratives():
    evil = condition("x", "38341003", "Hypertension")
    evil["code"]["text"] = '<script>alert("x")</script><img src=x onerror=alert(1)> & \x0b\x00 end'
    doc, _ = build([evil])
    div = section(doc, "11450-4")["text"]["div"]
    root = check_narrative(div)
    assert "<script>" not in div and "&lt;script&gt;" in div
    assert '<script>alert("x")</script>' in "".join(root.itertext())
    assert not list(root.iter(f"{{{XHTML}}}img"))
    etree.fromstring(doc["entry"][0]["resource"]["text"]["div"])


def test_same_input_gives_the_same_bytes_and_a_new_timestamp_a_new_identity():
    res = [lab_org(), condition("c1", "38341003", "Hypertension"), lab("o1", "2345-7", "Glucose"),
           allergy("nka", "716186003", "No known allergy")]
    a, _ = build(copy.deepcopy(res))
    b, _ = build(copy.deepcopy(res))
    assert dumps(a) == dumps(b)
    c, _ = build(copy.deepcopy(res), ts="2024-05-02T10:00:00+02:00")
    assert c["identifier"] != a["identifier"]
    assert c["entry"][0]["resource"]["id"] != a["entry"][0]["resource"]["id"]

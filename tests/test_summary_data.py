"""A realistic FHIR R4 Bundle for the summary tests (the readers are built alongside), and checks
that it is valid FHIR, so the summary is tested on what a converter can really produce."""
from __future__ import annotations

import base64
import copy
from datetime import date
from decimal import Decimal

from converter.fhir.ids import resource_id

TODAY = date(2025, 6, 15)  # recency marks count from here: 6 months = 2024-12-15, 24 = 2023-06-15
LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
UCUM = "http://unitsofmeasure.org"
HOSTILE = "<script>alert('pwned')</script>"


def _id(rtype: str, *key: str) -> str:
    return resource_id(rtype, *key)


def _ref(r: dict) -> dict:
    return {"reference": f"urn:uuid:{r['id']}"}


def _cc(system: str, code: str, display: str, text: str | None = None) -> dict:
    out = {"coding": [{"system": system, "code": code, "display": display}]}
    if text:
        out["text"] = text
    return out


def _qty(value: str, unit: str) -> dict:
    return {"value": Decimal(value), "unit": unit, "system": UCUM, "code": unit}


def _lab(patient: dict, lab: dict, code: str, display: str, value: str, unit: str, when: str,
         low: str | None = None, high: str | None = None, flag: str | None = None,
         note: str | None = None) -> dict:
    obs = {
        "resourceType": "Observation", "id": _id("Observation", code, when),
        "status": "final",
        "category": [_cc("http://terminology.hl7.org/CodeSystem/observation-category",
                         "laboratory", "Laboratory")],
        "code": _cc(LOINC, code, display),
        "subject": _ref(patient), "effectiveDateTime": when, "performer": [_ref(lab)],
        "valueQuantity": _qty(value, unit),
    }
    if low or high:
        rng: dict = {}
        if low:
            rng["low"] = _qty(low, unit)
        if high:
            rng["high"] = _qty(high, unit)
        obs["referenceRange"] = [rng]
    if flag:
        obs["interpretation"] = [_cc("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                                     flag, {"H": "High", "L": "Low", "N": "Normal"}[flag])]
    if note:
        obs["note"] = [{"text": note}]
    return obs


def _report(patient: dict, lab: dict, code: str, display: str, when: str, results: list[dict],
            note: str | None = None) -> dict:
    dr = {"resourceType": "DiagnosticReport", "id": _id("DiagnosticReport", code, when),
          "status": "final",
          "category": [_cc("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory")],
          "code": _cc(LOINC, code, display), "subject": _ref(patient),
          "effectiveDateTime": when, "performer": [_ref(lab)], "result": [_ref(o) for o in results]}
    if "T" in when:
        dr["issued"] = when
    if note:
        dr["conclusion"] = note
    return dr


def sample_bundle(allergies: str = "known") -> dict:
    """The Bundle of one patient from a lab feed (HL7 v2), a CCD and a CT study.

    allergies: "known" (penicillin, and a "no known allergy" statement from an older source),
    "none-known" (only the 716186003 statement), or "absent" (no AllergyIntolerance at all).
    """
    patient = {
        "resourceType": "Patient", "id": _id("Patient", "urn:oid:2.16.840.1.113883.19.5", "4711"),
        "identifier": [
            {"type": _cc("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical record number"),
             "system": "urn:oid:2.16.840.1.113883.19.5", "value": "4711",
             "assigner": {"display": "Good Health Hospital"}},
            {"type": _cc("http://terminology.hl7.org/CodeSystem/v2-0203", "PPN", "Passport number"),
             "system": "urn:oid:2.16.840.1.113883.4.330.276", "value": "C01X00T47"},
        ],
        "name": [{"use": "official", "family": "Müller", "given": ["Anna", "Maria"]},
                 {"use": "maiden", "family": "Schmidt"}],
        "gender": "female", "birthDate": "1968-03-14",
        "address": [{"line": ["Hauptstraße 5"], "city": "Köln", "postalCode": "50667", "country": "DE"}],
    }
    lab = {"resourceType": "Organization", "id": _id("Organization", "CentralLab"),
           "name": "Central Laboratory"}
    doctor = {"resourceType": "Practitioner", "id": _id("Practitioner", "NPI", "5742200012"),
              "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "5742200012"}],
              "name": [{"family": "Radon", "given": ["Nicholas"], "prefix": ["Dr"]}]}
    p = _ref(patient)

    conditions = [
        {"resourceType": "Condition", "id": _id("Condition", "44054006"),
         "clinicalStatus": _cc(CLINICAL, "active", "Active"),
         "verificationStatus": _cc("http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                   "confirmed", "Confirmed"),
         "category": [_cc("http://terminology.hl7.org/CodeSystem/condition-category",
                          "problem-list-item", "Problem List Item")],
         "code": {"coding": [{"system": SCT, "code": "44054006", "display": "Diabetes mellitus type 2"},
                             {"system": "http://hl7.org/fhir/sid/icd-10", "code": "E11.9"}]},
         "subject": p, "onsetDateTime": "2019-04-02"},
        {"resourceType": "Condition", "id": _id("Condition", "38341003"),
         "clinicalStatus": _cc(CLINICAL, "active", "Active"),
         "code": _cc(SCT, "38341003", "Hypertensive disorder, systemic arterial"),
         "subject": p, "onsetDateTime": "2016-09"},
        {"resourceType": "Condition", "id": _id("Condition", "74400008"),
         "clinicalStatus": _cc(CLINICAL, "resolved", "Resolved"),
         "code": _cc(SCT, "74400008", "Appendicitis"), "subject": p, "onsetDateTime": "1995-06-30",
         "abatementDateTime": "1995-07-02"},
    ]
    nka = {"resourceType": "AllergyIntolerance", "id": _id("AllergyIntolerance", "716186003"),
           "clinicalStatus": _cc("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                 "active", "Active"),
           "code": _cc(SCT, "716186003", "No known allergy"), "patient": p, "recordedDate": "2012-01-20"}
    penicillin = {
        "resourceType": "AllergyIntolerance", "id": _id("AllergyIntolerance", "764146007"),
        "clinicalStatus": _cc("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                              "active", "Active"),
        "verificationStatus": _cc("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                                  "confirmed", "Confirmed"),
        "type": "allergy", "category": ["medication"], "criticality": "high",
        "code": {"coding": [{"system": SCT, "code": "764146007", "display": "Penicillin"},
                            {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "70618"}]},
        "patient": p, "onsetDateTime": "2008-05",
        "reaction": [{"manifestation": [_cc(SCT, "247472004", "Hives")], "severity": "moderate"}],
    }
    allergy_list = {"known": [penicillin, nka], "none-known": [nka], "absent": []}[allergies]

    meds = [
        {"resourceType": "MedicationStatement", "id": _id("MedicationStatement", "860975"),
         "status": "active",
         "medicationCodeableConcept": _cc("http://www.nlm.nih.gov/research/umls/rxnorm", "860975",
                                          "metformin hydrochloride 500 MG Extended Release Oral Tablet"),
         "subject": p, "effectivePeriod": {"start": "2019-04-10"},
         "dosage": [{"text": "500 mg by mouth twice daily with meals"}]},
        {"resourceType": "MedicationStatement", "id": _id("MedicationStatement", "314076"),
         "status": "active",
         "medicationCodeableConcept": _cc("http://www.nlm.nih.gov/research/umls/rxnorm", "314076",
                                          "lisinopril 10 MG Oral Tablet"),
         "subject": p, "effectiveDateTime": "2016-10-01", "dosage": [{"text": "10 mg once daily"}]},
        {"resourceType": "MedicationStatement", "id": _id("MedicationStatement", "308182"),
         "status": "completed",
         "medicationCodeableConcept": _cc("http://www.nlm.nih.gov/research/umls/rxnorm", "308182",
                                          "amoxicillin 500 MG Oral Capsule"),
         "subject": p, "effectivePeriod": {"start": "2008-05-02", "end": "2008-05-04"}},
    ]

    cmp_when = "2025-03-02T08:15:00+01:00"
    glucose = _lab(patient, lab, "2345-7", "Glucose [Mass/volume] in Serum or Plasma", "126", "mg/dL",
                   cmp_when, "70", "99", "H")
    creatinine = _lab(patient, lab, "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "1.10",
                      "mg/dL", cmp_when, "0.57", "1.00", "H")
    sodium = _lab(patient, lab, "2951-2", "Sodium [Moles/volume] in Serum or Plasma", "140", "mmol/L",
                  cmp_when, "135", "145", "N")
    hemoglobin = _lab(patient, lab, "718-7", "Hemoglobin [Mass/volume] in Blood", "13.5", "g/dL",
                      cmp_when, "12.0", "15.5", "N")
    hba1c = _lab(patient, lab, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "7.2", "%",
                 "2024-11-20T09:00:00+01:00", None, "5.7", "H")
    chol = _lab(patient, lab, "2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "212", "mg/dL",
                "2023-01-10", None, "200", "H", note=f"Fasting sample. {HOSTILE}")
    cmp_report = _report(patient, lab, "24323-8", "Comprehensive metabolic 2000 panel - Serum or Plasma",
                         cmp_when, [glucose, creatinine, sodium, hemoglobin])
    a1c_report = _report(patient, lab, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood",
                         "2024-11-20T09:00:00+01:00", [hba1c])
    lipid_report = _report(patient, lab, "57698-3", "Lipid panel with direct LDL - Serum or Plasma",
                           "2023-01-10", [chol])
    bp = {"resourceType": "Observation", "id": _id("Observation", "85354-9", "2025-05-20"),
          "status": "final",
          "category": [_cc("http://terminology.hl7.org/CodeSystem/observation-category",
                           "vital-signs", "Vital Signs")],
          "code": _cc(LOINC, "85354-9", "Blood pressure panel with all children optional"),
          "subject": p, "effectiveDateTime": "2025-05-20",
          "component": [
              {"code": _cc(LOINC, "8480-6", "Systolic blood pressure"),
               "valueQuantity": _qty("138", "mm[Hg]")},
              {"code": _cc(LOINC, "8462-4", "Diastolic blood pressure"),
               "valueQuantity": _qty("88", "mm[Hg]")}]}

    instances = [{"uid": f"1.2.826.0.1.3680043.8.498.{n}", "number": n,
                  "sopClass": {"system": "urn:ietf:rfc:3986", "code": "urn:oid:1.2.840.10008.5.1.4.1.1.2"}}
                 for n in range(1, 5)]
    study = {"resourceType": "ImagingStudy", "id": _id("ImagingStudy", "1.2.826.0.1.3680043.8.498.1"),
             "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2.826.0.1.3680043.8.498.1"},
                            {"type": _cc("http://terminology.hl7.org/CodeSystem/v2-0203", "ACSN",
                                         "Accession ID"), "value": "ACC-2024-0212"}],
             "status": "available",
             "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"}],
             "subject": p, "started": "2024-02-12T10:30:00+01:00", "numberOfSeries": 2,
             "numberOfInstances": 5, "description": "CT THORAX WITH CONTRAST",
             "series": [
                 {"uid": "1.2.826.0.1.3680043.8.498.10", "number": 1,
                  "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"},
                  "description": "Axial 5mm", "numberOfInstances": 3,
                  "bodySite": {"system": SCT, "code": "51185008", "display": "Thorax"},
                  "instance": instances[:2]},
                 {"uid": "1.2.826.0.1.3680043.8.498.11", "number": 2,
                  "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"},
                  "description": "Coronal MPR", "numberOfInstances": 2,
                  "bodySite": {"system": SCT, "code": "51185008", "display": "Thorax"},
                  "instance": instances[2:4]}]}
    immunizations = [
        {"resourceType": "Immunization", "id": _id("Immunization", "158", "2024-10-01"),
         "status": "completed", "vaccineCode": _cc("http://hl7.org/fhir/sid/cvx", "158",
                                                   "influenza, injectable, quadrivalent"),
         "patient": p, "occurrenceDateTime": "2024-10-01", "lotNumber": "FLU-AB123",
         "doseQuantity": _qty("0.5", "mL")},
        {"resourceType": "Immunization", "id": _id("Immunization", "115", "2019-05-05"),
         "status": "completed", "vaccineCode": _cc("http://hl7.org/fhir/sid/cvx", "115", "Tdap"),
         "patient": p, "occurrenceDateTime": "2019-05-05"},
    ]
    procedures = [
        {"resourceType": "Procedure", "id": _id("Procedure", "80146002"), "status": "completed",
         "code": _cc(SCT, "80146002", "Appendectomy"), "subject": p, "performedDateTime": "1995-07-01"},
        {"resourceType": "Procedure", "id": _id("Procedure", "73761001"), "status": "completed",
         "code": _cc(SCT, "73761001", "Colonoscopy"), "subject": p,
         "performedDateTime": "2023-09-15", "performer": [{"actor": _ref(doctor)}],
         "note": [{"text": "Two small polyps removed."}]},
    ]
    encounters = [
        {"resourceType": "Encounter", "id": _id("Encounter", "V100"), "status": "finished",
         "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB",
                   "display": "ambulatory"},
         "type": [_cc(SCT, "390906007", "Follow-up encounter")],
         "subject": p, "participant": [{"individual": _ref(doctor)}],
         "period": {"start": "2025-03-02T08:00:00+01:00", "end": "2025-03-02T08:40:00+01:00"},
         "reasonCode": [_cc(SCT, "44054006", "Diabetes mellitus type 2")]},
        {"resourceType": "Encounter", "id": _id("Encounter", "V090"), "status": "finished",
         "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER",
                   "display": "emergency"},
         "subject": p, "period": {"start": "2023-01-09T22:10:00-05:00", "end": "2023-01-12T11:00:00-05:00"},
         "reasonCode": [{"text": "Chest pain"}]},
    ]
    note_text = (f"Discharge summary. Patient admitted with chest pain; MI ruled out. {HOSTILE} "
                 "<img src=x onerror=alert(2)> Follow up with GP.")
    document = {
        "resourceType": "DocumentReference", "id": _id("DocumentReference", "DS-2023-01-12"),
        "status": "current", "docStatus": "final",
        "type": _cc(LOINC, "18842-5", "Discharge summary"), "subject": p, "date": "2023-01-12T11:00:00-05:00",
        "author": [_ref(doctor)], "description": "Discharge summary, emergency admission",
        "content": [{"attachment": {"contentType": "text/plain", "language": "en",
                                    "data": base64.b64encode(note_text.encode()).decode(),
                                    "title": "Discharge summary"}}]}
    composition = {
        "resourceType": "Composition", "id": _id("Composition", "CCD-1"), "status": "final",
        "type": _cc(LOINC, "34133-9", "Summary of episode note"), "subject": p,
        "date": "2024-12-01", "author": [_ref(doctor)], "title": "Continuity of Care Document",
        "section": [{"title": "Plan of care", "code": _cc(LOINC, "18776-5", "Plan of care note"),
                     "text": {"status": "generated",
                              "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>Review HbA1c in 3 months. '
                                     '&lt;script&gt;alert(3)&lt;/script&gt;</p></div>'}}]}
    provenances = [
        {"resourceType": "Provenance", "id": _id("Provenance", "lab-feed.hl7"),
         "target": [_ref(cmp_report)], "recorded": "2025-03-02T10:00:00+01:00",
         "activity": _cc("http://terminology.hl7.org/CodeSystem/v3-DataOperation", "CREATE", "create"),
         "agent": [{"who": _ref(lab)}],
         "entity": [{"role": "source", "what": {"display": "lab-feed.hl7 (ORU^R01, message 1)"}}]},
        {"resourceType": "Provenance", "id": _id("Provenance", "ccd.xml"),
         "target": [_ref(composition)], "recorded": "2024-12-01T09:00:00Z",
         "agent": [{"who": _ref(doctor)}],
         "entity": [{"role": "source", "what": {"display": "ccd.xml (Continuity of Care Document)"}}]},
    ]
    resources = ([patient] + conditions + allergy_list + meds
                 + [glucose, creatinine, sodium, hemoglobin, hba1c, chol, cmp_report, a1c_report,
                    lipid_report, bp, study] + immunizations + procedures + encounters
                 + [document, composition, doctor, lab] + provenances)
    return {"resourceType": "Bundle", "id": _id("Bundle", "summary-test"), "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]}


def sample_outcome() -> dict:
    """An OperationOutcome like the converter's --report, with a problem, a warning and notes."""
    return {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "value",
         "details": {"coding": [{"system": "urn:medbundle:issue-code", "code": "invalid-date"}],
                     "text": "OBX-14 '2025-02-30' is not a date"},
         "diagnostics": "lab-feed.hl7:7, message 1, segment OBX[2], field OBX-14",
         "location": ["lab-feed.hl7:7, message 1, segment OBX[2], field OBX-14"]},
        {"severity": "warning", "code": "incomplete",
         "details": {"coding": [{"system": "urn:medbundle:issue-code", "code": "truncated"}],
                     "text": f"NTE ends early {HOSTILE}"},
         "location": ["lab-feed.hl7:9"]},
    ] + [{"severity": "information", "code": "informational",
          "details": {"coding": [{"system": "urn:medbundle:issue-code", "code": "unmapped-segment"}],
                      "text": f"segment {z} has no FHIR mapping"},
          "location": [f"lab-feed.hl7:{n}"]} for n, z in ((3, "ZPI"), (4, "ZPV"), (12, "ZOB"))]}


def test_sample_bundle_is_valid_fhir():
    from converter.validate import validate_bundle

    for variant in ("known", "none-known", "absent"):
        issues = [i for i in validate_bundle(copy.deepcopy(sample_bundle(variant))) if i.is_error]
        assert issues == [], [str(i) for i in issues]


def pdf_text(data: bytes) -> str:
    """The text of a PDF as a reader copying it would get it (pdftotext, from poppler-utils).

    pypdf is no substitute here: it spaces out the glyphs of a subset CID font ("M Ü L L E R").
    """
    import shutil
    import subprocess

    import pytest

    if not shutil.which("pdftotext"):
        pytest.skip("needs pdftotext: apt-get install poppler-utils")
    out = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"], input=data,
                         capture_output=True, check=True, timeout=60)
    return out.stdout.decode("utf-8")

"""Terminology sanity and the definitions artifact: UCUM, LOINC check digits, OIDs, package versions."""
from __future__ import annotations

import pytest

from converter.validate import packages
from converter.validate.definitions import definitions
from converter.validate.terminology import (loinc_check_digit, loinc_problem, system_problem,
                                            uri_problem)
from converter.validate.ucum import is_valid


@pytest.mark.parametrize("unit", ["mg/dL", "mmol/L", "10*3/uL", "10*9/L", "%", "kg/m2", "mm[Hg]",
                                  "/min", "{beats}/min", "g/(12.h)", "mL/min/{1.73_m2}", "[in_i]",
                                  "Cel", "[degF]", "kg.m/s2", "[IU]/L", "meq/L", "fL", "1",
                                  "%{HemoglobinA1C}", "[arb'U]/mL", "ng/mL{FEU}", "a", "wk", "mo"])
def test_valid_ucum(unit):
    assert is_valid(unit)


@pytest.mark.parametrize("unit", ["", "mmHg", "cells/uL", "beats/min", "mg/24h", "ea", "mcg",
                                  "kilogram", "mg /dL", "mg/(dL", "mg//dL", "{a{b}}", "µg"])
def test_invalid_ucum(unit):
    assert not is_valid(unit)


@pytest.mark.parametrize("code", ["2160-0", "718-7", "8480-6", "29463-7", "4548-4", "2345-7",
                                  "8302-2", "85354-9", "1-8", "LA6576-8", "LP7786-9"])
def test_valid_loinc(code):
    assert loinc_problem(code) is None


def test_loinc_check_digit():
    assert loinc_check_digit("2160") == 0
    assert "expected 0" in loinc_problem("2160-1")
    assert "not a LOINC code" in loinc_problem("2160")
    assert "not a LOINC code" in loinc_problem("abc-1")


def test_oid_and_uuid_syntax():
    assert uri_problem("urn:oid:2.16.840.1.113883.6.1") is None
    assert uri_problem("urn:oid:1.3.6") is None  # short, but under 1.3 (the HL7 validator's rule)
    assert "not a valid OID" in uri_problem("urn:oid:2.4")
    assert "not a valid OID" in uri_problem("urn:oid:2.16.04")
    assert uri_problem("urn:uuid:6f1c2b7e-0d8c-4b8e-9d6a-1b2c3d4e5f60") is None
    assert "not a valid UUID" in uri_problem("urn:uuid:6F1C2B7E-0D8C-4B8E-9D6A-1B2C3D4E5F60")


def test_oid_with_a_canonical_uri():
    assert "http://loinc.org" in system_problem("urn:oid:2.16.840.1.113883.6.1")
    assert "http://snomed.info/sct" in system_problem("urn:oid:2.16.840.1.113883.6.96")
    assert system_problem("urn:oid:1.2.3.4.5.999") is None
    assert system_problem("urn:oid:2.16.840.1.113883.6.238") is None  # CDC race: its URI is the OID
    assert system_problem("http://loinc.org") is None


def test_artifact_packages_and_contents():
    assert packages() == {"hl7.fhir.r4.examples": "4.0.1", "hl7.fhir.r4.expansions": "4.0.1",
                          "hl7.fhir.uv.ips": "2.0.0", "hl7.terminology.r4": "7.0.1",
                          "@lhncbc/ucum-lhc": "7.1.10"}
    d = definitions()
    assert d.valueset("http://hl7.org/fhir/ValueSet/administrative-gender").codes == \
        {"male", "female", "other", "unknown"}
    ips_status = d.valueset("http://hl7.org/fhir/uv/ips/ValueSet/results-status-uv-ips")
    assert ips_status.has_code("final") and not ips_status.has_code("entered-in-error")
    languages = d.valueset("http://hl7.org/fhir/ValueSet/all-languages")  # whole BCP-47
    assert languages.has_coding("urn:ietf:bcp:47", "en-GB")
    assert not languages.has_coding("urn:ietf:bcp:47", "1")
    assert not languages.has_coding("http://terminology.hl7.org/CodeSystem/v2-0296", "eng")
    assert len(d.raw["emitted"]) == 32
    assert d.type("Observation").elements["value[x]"].choice


def test_dicom_modality_codes_newer_than_the_hl7_copy_are_not_errors():
    """The DCM code system copy in the HL7 packages predates Modality DOC; DICOM itself defines it."""
    from converter.validate import validate_bundle

    study = {"resourceType": "ImagingStudy", "id": "s1", "status": "available",
             "subject": {"reference": "Patient/p"},
             "series": [{"uid": "1.2.3.4", "modality": {
                 "system": "http://dicom.nema.org/resources/ontology/DCM", "code": "DOC"}}]}
    assert not [i for i in validate_bundle(study) if i.code == "code-not-in-system"]


def test_language_tags_follow_the_bcp47_registry_and_codeless_codings_pass():
    from converter.validate import validate_bundle

    def patient(coding: dict) -> dict:
        return {"resourceType": "Patient", "id": "p",
                "communication": [{"language": {"coding": [coding]}}]}

    ok = patient({"system": "urn:ietf:bcp:47", "code": "en-US"})
    three = patient({"system": "urn:ietf:bcp:47", "code": "eng"})  # not a tag: "en" is
    codeless = patient({"system": "urn:ietf:bcp:47"})
    assert not [i for i in validate_bundle(ok) if i.code == "binding"]
    assert [i for i in validate_bundle(three) if i.code == "binding" and i.is_error]
    assert not [i for i in validate_bundle(codeless) if i.code == "binding"]

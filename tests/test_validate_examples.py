"""No false positives: the official examples of the types medbundle emits validate without errors.

The examples (hl7.fhir.r4.examples 4.0.1 and hl7.fhir.uv.ips 2.0.0) are a committed subset written by
scripts/build_definitions.py; the few errors found in them are real mistakes in the examples, listed
here one by one so that any new error fails the test.
"""
from __future__ import annotations

import collections
import gzip
import json
from pathlib import Path

import pytest

from converter.validate import validate_bundle
from converter.writers.json import loads

EXAMPLES = Path(__file__).parent / "test_validate_data" / "examples.json.gz"

# Real errors in the official R4 examples (the HL7 validator reports them too, see
# docs/validation.md): 'ea', 'tbl', 'drop', 'mcg', 'mEq', 'ml/hr' are not UCUM units; MDC has the
# canonical URI urn:iso:std:iso:11073:10101, not its OID; three references point to resource types
# their element does not allow; 18 RESTful fullUrls do not end with their resource's type and id;
# 'Tab', 'tab' and 'patch' are not codes of v3-orderableDrugForm (its codes are TAB, PATCH...).
FORM = "code-not-in-system"
DRUG_FORMS = {
    ("Medication", "med0304"): ["Medication.ingredient[0].strength.denominator.code"],
    ("Medication", "med0309"): [f"Medication.ingredient[{i}].strength.denominator.code"
                                for i in range(2)],
    ("MedicationRequest", "medrx0313"): ["MedicationRequest.dispenseRequest.quantity.code"],
    ("MedicationRequest", "medrx0314"): ["MedicationRequest.dispenseRequest.quantity.code"],
    ("MedicationRequest", "medrx0327"): [
        "MedicationRequest.dispenseRequest.quantity.code",
        "MedicationRequest.dosageInstruction[0].doseAndRate[0].dose.ofType(Quantity).code"],
    **{("MedicationStatement", f"example00{n}"): [
        f"MedicationStatement.contained[0].ingredient[{i}].strength.denominator.code"
        for i in range(2)] for n in (1, 2)},
    ("MedicationStatement", "example003"): [
        "MedicationStatement.dosage[0].doseAndRate[0].dose.ofType(Quantity).code"],
}
KNOWN = {
    ("Bundle", "10bb101f-a121-4264-a920-67be9cb82c74"): [("invalid-value", "Bundle.entry[2].fullUrl")],
    ("Bundle", "3a0707d3-549e-4467-b8b8-5a2ab3800efe"): [("invalid-value", "Bundle.entry[3].fullUrl")],
    ("Bundle", "lri-example"): [("invalid-value", f"Bundle.entry[{i}].fullUrl") for i in range(1, 17)],
    ("DeviceUseStatement", "example"): [
        ("reference-target", "DeviceUseStatement.reasonReference[0].reference")],
    ("MedicationRequest", "medrx0301"): [
        ("reference-target", "MedicationRequest.dispenseRequest.performer.reference")],
    ("Observation", "clinical-gender"): [("reference-target", "Observation.performer[0].reference")],
    ("Bundle", "father"): [("ucum", "Bundle.entry[5].resource.dosageInstruction[0].doseAndRate[0]"
                                    ".dose.ofType(Quantity).code")],
    ("MedicationRequest", "medrx0304"): [("ucum", "MedicationRequest.dosageInstruction[0]"
                                                  ".doseAndRate[0].dose.ofType(Quantity).code")],
    ("MedicationRequest", "medrx0314"): [("ucum", "MedicationRequest.dosageInstruction[0]"
                                                  ".doseAndRate[0].dose.ofType(Quantity).code")],
    ("MedicationRequest", "medrx0319"): [("ucum", "MedicationRequest.dosageInstruction[0]"
                                                  ".doseAndRate[0].rate.ofType(Quantity).code")],
    ("MedicationRequest", "medrx0322"): [
        ("ucum", "MedicationRequest.contained[0].ingredient[0].strength.numerator.code"),
        ("ucum", "MedicationRequest.dosageInstruction[0].doseAndRate[0].dose.ofType(Quantity).code")],
    **{("MedicationRequest", f"medrx03{n}"): [
        ("ucum", "MedicationRequest.dosageInstruction[0].doseAndRate[0].dose.ofType(Quantity).code")]
       for n in ("25", "26", "28", "29", "34", "35")},
    ("Observation", "ekg"): [("oid-for-uri", "Observation.code.coding[0].system")] + [
        ("oid-for-uri", f"Observation.component[{i}].code.coding[0].system") for i in range(3)],
}


for _key, _paths in DRUG_FORMS.items():
    KNOWN.setdefault(_key, []).extend((FORM, p) for p in _paths)


def _examples() -> dict[str, list[dict]]:
    return loads(gzip.decompress(EXAMPLES.read_bytes()))


@pytest.fixture(scope="module")
def verdicts() -> dict[tuple[str, str, str], list[tuple[str, str]]]:
    """(group, type, id) -> the (code, expression) of each error the validator finds."""
    out = {}
    examples = _examples()
    for group in ("r4", "ips"):
        for res in examples[group]:
            issues = validate_bundle(res)
            out[(group, res["resourceType"], res.get("id", ""))] = [
                (i.code, i.location.expression) for i in issues if i.is_error]
    return out


def test_every_emitted_type_has_examples(verdicts):
    emitted = json.loads(gzip.decompress(
        (Path(__file__).parent.parent / "converter" / "validate" / "data"
         / "definitions.json.gz").read_bytes()))["emitted"]
    counts = collections.Counter(t for g, t, _ in verdicts if g == "r4")
    assert len(verdicts) == 352 + 44
    missing = [t for t in emitted if counts[t] == 0]
    assert missing == [], missing
    assert counts["Observation"] == 64 and counts["Patient"] == 22 and counts["Bundle"] == 30


def test_r4_examples_have_no_false_positives(verdicts):
    unexpected = {k: v for k, v in verdicts.items()
                  if k[0] == "r4" and v and sorted(v) != sorted(KNOWN.get(k[1:], []))}
    assert unexpected == {}
    clean = sum(1 for k, v in verdicts.items() if k[0] == "r4" and not v)
    assert clean == 352 - len(KNOWN) == 327


def test_ips_examples_have_no_errors_even_when_checked_against_ips(verdicts):
    assert {k: v for k, v in verdicts.items() if k[0] == "ips" and v} == {}
    for res in _examples()["ips"]:
        errors = [str(i) for i in validate_bundle(res, profile="ips") if i.is_error]
        assert errors == [], (res["resourceType"], res.get("id"))


def test_known_errors_are_found(verdicts):
    for (rtype, rid), expected in KNOWN.items():
        assert sorted(verdicts[("r4", rtype, rid)]) == sorted(expected)

"""Table-driven: each crafted invalid input is caught by its rule family, at the right FHIRPath.

The table is tests/test_validate_data/crafted.json (also read by bench/oracle/compare.py): a case is a
resource, or an official example (`base`) with elements removed or set, and the issues expected as
[severity, code, expression]. Controls (`expect: []`) must give no error at all.
"""
from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import pytest

from converter import validate as validate_outcome
from converter.validate import validate_bundle
from converter.writers.json import loads

DATA = Path(__file__).parent / "test_validate_data"
CASES = json.loads((DATA / "crafted.json").read_text())
FAMILIES = {"control", "structure", "binding", "invariant", "bundle", "reference", "terminology",
            "profile"}


def build_case(case: dict, examples: dict) -> dict:
    """The resource of a case: given whole, or an example with elements removed and set."""
    if "resource" in case:
        return copy.deepcopy(case["resource"])
    group, ref = case["base"].split(":")
    rtype, rid = ref.split("/")
    res = copy.deepcopy(next(r for r in examples[group]
                             if r["resourceType"] == rtype and r.get("id") == rid))
    for path in case.get("remove", []):
        holder, key = _locate(res, path)
        del holder[key]
    for path, value in case.get("set", {}).items():
        holder, key = _locate(res, path)
        holder[key] = value
    return res


def _locate(obj, dotted: str):
    parts = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    for p in parts[:-1]:
        obj = obj[p]
    return obj, parts[-1]


@pytest.fixture(scope="module")
def examples() -> dict:
    return loads(gzip.decompress((DATA / "examples.json.gz").read_bytes()))


def test_every_rule_family_has_a_case():
    assert {c["family"] for c in CASES} == FAMILIES
    assert len({c["name"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_crafted_case(case, examples):
    res = build_case(case, examples)
    issues = validate_bundle(res, profile=case.get("profile"))
    found = {(i.severity, i.code, i.location.expression) for i in issues}
    for expected in case["expect"]:
        assert tuple(expected) in found, sorted(found)
    if not case["expect"]:
        assert [str(i) for i in issues if i.is_error] == []
    assert all(i.location.expression for i in issues if i.code != "not-fhir")


def test_operation_outcome_carries_expression_and_codes():
    bad = {"resourceType": "Patient", "gender": "x"}
    outcome = validate_outcome(bad)
    issue = next(i for i in outcome["issue"] if i["expression"] == ["Patient.gender"])
    assert issue["severity"] == "error"
    assert issue["details"]["coding"][0]["code"] == "binding"
    assert "administrative-gender" in issue["details"]["text"]


def test_not_fhir():
    assert [i.code for i in validate_bundle({"hello": 1})] == ["not-fhir"]
    assert [i.code for i in validate_bundle([1, 2])] == ["not-fhir"]


def test_unknown_resource_type_is_an_error_not_a_crash():
    issues = validate_bundle({"resourceType": "Bundle", "type": "collection",
                              "entry": [{"resource": {"resourceType": "Nonsense"}}]})
    assert ("structure", "Bundle.entry[0].resource.resourceType") in \
        {(i.code, i.location.expression) for i in issues}


def test_relative_reference_outside_a_collection_is_a_warning_but_an_error_in_a_document():
    obs = {"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "x"},
           "subject": {"reference": "Patient/elsewhere"}}
    collection = {"resourceType": "Bundle", "type": "collection",
                  "entry": [{"fullUrl": "urn:uuid:6f1c2b7e-0d8c-4b8e-9d6a-1b2c3d4e5f60",
                             "resource": obs}]}
    [issue] = [i for i in validate_bundle(collection) if i.code == "unresolved-reference"]
    assert (issue.severity, issue.location.expression) == \
        ("warning", "Bundle.entry[0].resource.subject.reference")
    document = dict(collection, type="document")
    assert any(i.code == "unresolved-reference" and i.severity == "error"
               for i in validate_bundle(document))
    served = dict(collection, entry=[{"fullUrl": "https://x.org/fhir/Observation/o",
                                      "resource": obs}])
    assert not [i for i in validate_bundle(served) if i.code == "unresolved-reference"]


def test_identical_resources_are_checked_once_but_reported_per_entry():
    bad = {"resourceType": "Patient", "gender": "x"}
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": f"urn:uuid:6f1c2b7e-0d8c-4b8e-9d6a-1b2c3d4e5f6{n}",
                         "resource": dict(bad)} for n in range(3)]}
    paths = [i.location.expression for i in validate_bundle(bundle) if i.code == "binding"]
    assert paths == [f"Bundle.entry[{n}].resource.gender" for n in range(3)]


def test_models_off_keeps_definition_checks():
    issues = validate_bundle({"resourceType": "Patient", "gender": "x", "colour": 1}, models=False)
    codes = {i.code for i in issues}
    assert "binding" in codes


def test_put_entries_of_a_transaction_need_a_fullurl():
    from converter.validate import validate_bundle

    patient = {"resourceType": "Patient", "id": "p1"}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": patient, "request": {"method": "PUT", "url": "Patient/p1"}},
        {"resource": dict(patient, id="p2"), "request": {"method": "POST", "url": "Patient"}}]}
    found = [i for i in validate_bundle(bundle) if "fullUrl" in (i.location.expression or "")]
    assert [i.location.expression for i in found if i.is_error] == ["Bundle.entry[0].fullUrl"]

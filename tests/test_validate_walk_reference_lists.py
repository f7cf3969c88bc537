"""Lists of References (Provenance.target, Observation.performer...) are walked by
Walker.reference_list, which decides the usual item without a visit: on lists mixing the usual
items with odd ones (nulls, lone ids, wrong shapes, '#' references with and without contained
resources, more items than the path table holds) it finds what the general walk finds."""
from __future__ import annotations

import pytest

from converter.validate import walk as walk_module
from converter.validate.walk import walk_resource

from test_validate_walk_fast_paths import ODD_REFERENCES, _both

USUAL = [{"reference": "urn:uuid:0f6a3d2c-0b4b-4d4e-9d3c-3a9c1e0c7a11"},
         {"reference": "Patient/1", "display": "Ann"}]
ODD_ITEMS = [None, "Patient/1", 5, [], [{"reference": "Patient/1"}], {"id": "x"}, {},
             {"reference": "#p"}, {"reference": "#"}, {"reference": "#nope", "display": "d"}]

MIXED = [USUAL + ODD_ITEMS + USUAL, ODD_ITEMS, ODD_ITEMS[::-1] + USUAL, ODD_REFERENCES,
         USUAL * 40 + ODD_ITEMS,  # indexes past the table of "[i].reference" paths
         [None, None], []]


def _resources(target: list):
    for contained in (None, [{"resourceType": "Patient", "id": "p"}]):
        prov = {"resourceType": "Provenance", "recorded": "2020-01-01T00:00:00Z",
                "target": target, "agent": [{"who": {"display": "x"}}]}
        obs = {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
               "performer": target}
        for res in (prov, obs):
            if contained is not None:
                res = {**res, "contained": contained}
            yield res
    yield {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:0f6a3d2c-0b4b-4d4e-9d3c-3a9c1e0c7a11",
         "resource": {"resourceType": "Provenance", "recorded": "2020-01-01T00:00:00Z",
                      "target": target}}]}


@pytest.mark.parametrize("target", MIXED)
def test_reference_lists_agree_with_the_general_walk(target):
    for resource in _resources(target):
        for skip in (True, False):
            fast, general = _both(resource, skip)
            assert fast == general, (resource["resourceType"], skip)


def test_reference_list_paths_past_the_table():
    n = walk_module._AT_SIZE + 2
    found = walk_resource({"resourceType": "Provenance", "recorded": "2020-01-01T00:00:00Z",
                           "target": [{"reference": f"Patient/{i}"} for i in range(n)]})
    assert [path for path, _, _, _ in found.references] == \
        [f".target[{i}].reference" for i in range(n)]

"""The walk's fast paths (converter/validate/walk.py) find what the general plan walk finds: the
same problems in the same order, the same references, over medbundle's corpus output, the official
examples, damaged copies of them (fixed seed) and hand-made odd values. The shortcuts of the
compiled invariants (fhirpath.py) and of the reference index give the verdicts of the general
evaluation.

`general_walk()` turns the fast paths off (they are decided in the plans); the general walk is the
reference they are tested against.
"""
from __future__ import annotations

import contextlib
import random
from decimal import Decimal
from typing import Any, Iterator

import pytest

from converter.validate import definitions as defs_module
from converter.validate import fhirpath, walk
from converter.validate.definitions import definitions
from converter.validate.walk import Findings, walk_resource

from conftest import CORPUS
from test_validate_models import _damaged, _resources


def _plans() -> Iterator[Any]:
    for tdef in definitions()._types.values():
        for el in tdef.elements.values():
            yield from el.plans.values()
    yield from (p for p in definitions().walk_plans.values() if p is not None)


@contextlib.contextmanager
def general_walk():
    """Walk without the fast paths: the plans built so far forget them (and new plans, built
    while they are off, get none), and the invariants their sure leaves (Invariant.sure)."""
    saved = [(p, p.ref_prefix, p.ref_busy, p.entry_url_tests) for p in _plans()]
    invariants = [(inv, inv.sure) for inv in definitions()._invariants.values()]
    for p, _, _, _ in saved:
        p.ref_prefix = p.ref_busy = p.entry_url_tests = None
    for inv, _ in invariants:
        inv.sure = None
    try:
        yield
    finally:
        for p, prefix, busy, url_tests in saved:
            p.ref_prefix, p.ref_busy, p.entry_url_tests = prefix, busy, url_tests
        for inv, sure in invariants:
            inv.sure = sure


def _outcome(found: Findings) -> tuple:
    return found.problems, found.references, found.contained_ids


def _both(resource: dict, skip_entries: bool = True) -> tuple[tuple, tuple]:
    walk_resource(resource, skip_entries)  # (every plan the resource needs, built with fast paths)
    fast = _outcome(walk_resource(resource, skip_entries))
    with general_walk():
        general = _outcome(walk_resource(resource, skip_entries))
    return fast, general


ODD_REFERENCES = [
    {"reference": "Patient/1"}, {"reference": "urn:uuid:0f6a3d2c-0b4b-4d4e-9d3c-3a9c1e0c7a11"},
    {"reference": "#p"}, {"reference": "#nope"}, {"reference": "#"}, {"reference": ""},
    {"reference": "Patient/1", "display": "Ann"}, {"display": "Ann"}, {}, {"id": "r"},
    {"reference": "Patient/1", "id": "r"}, {"reference": 5}, {"reference": None},
    {"reference": None, "display": "Ann"}, {"reference": ["Patient/1"]}, {"reference": {"a": 1}},
    {"reference": Decimal("1.5")}, {"reference": True}, {"display": 3}, {"display": None},
    {"display": {"x": "y"}}, {"display": ["a"]}, {"display": {"id": "d"}},
    {"reference": "Patient/1", "display": [{"id": "d"}]}, {"reference": "Patient/1", "display": 3},
    {"reference": "Patient/1", "type": "Patient"}, {"reference": "Patient/1", "type": "Group"},
    {"reference": "Patient/1", "type": 4}, {"reference": "#p", "type": "Patient"},
    {"reference": "Patient/1", "_reference": {"extension": [{"url": "u", "valueString": "x"}]}},
    {"_reference": {"id": "x"}}, {"_reference": {"extension": [{"url": "u", "valueCode": "a"}]}},
    {"reference": "Patient/1", "identifier": {"system": "urn:oid:1.2.3.4.5", "value": "x"}},
    {"identifier": {"value": "x", "assigner": {"reference": "#p"}}},
    {"identifier": {"value": "x", "assigner": {"display": "A", "id": "a"}}},
    {"reference": "Patient/1", "extension": [{"url": "u"}]}, {"reference": "Patient/1", "foo": 1},
    {"display": "Ann", "foo": "bar"}, {"reference": "Patient/1", "display": ""},
    {"reference": "#p", "display": "Ann"}, {"reference": " #p"}, {"reference": "%23p"},
]

CONTAINED = [{"resourceType": "Patient", "id": "p"}]


def _carriers(ref: Any) -> Iterator[dict]:
    """Resources holding `ref` where References occur: a list, a single element, nested in an
    Identifier, with and without contained resources, inside a Bundle entry."""
    yield {"resourceType": "Provenance", "target": [ref, ref], "recorded": "2020-01-01T00:00:00Z",
           "agent": [{"who": ref}]}
    for contained in (CONTAINED, None, [{"resourceType": "Patient", "id": "q"}], [None, 5]):
        obs = {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
               "subject": ref, "performer": [{"display": "P"}, ref],
               "identifier": [{"value": "1", "assigner": ref}]}
        if contained is not None:
            obs["contained"] = contained
        yield obs
    yield {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:0f6a3d2c-0b4b-4d4e-9d3c-3a9c1e0c7a11",
         "resource": {"resourceType": "Encounter", "status": "finished", "contained": CONTAINED,
                      "class": {"code": "AMB"}, "subject": ref, "participant": [
                          {"individual": ref}]}}]}


@pytest.mark.parametrize("ref", ODD_REFERENCES)
def test_reference_fast_path_agrees_on_odd_values(ref):
    for resource in _carriers(ref):
        for skip in (True, False):
            fast, general = _both(resource, skip)
            assert fast == general, (ref, resource["resourceType"], skip)


def test_reference_fast_path_is_taken():
    """The usual References are decided without evaluating ref-1 (else the test above proves
    nothing)."""
    calls = []
    original = defs_module.Invariant.holds

    def holds(self, item, env, type_path):
        calls.append(self.key)
        return original(self, item, env, type_path)

    resource = {"resourceType": "Provenance", "recorded": "2020-01-01T00:00:00Z",
                "target": [{"reference": "Patient/1"}, {"reference": "urn:uuid:x", "display": "d"},
                           {"display": "d"}]}
    walk_resource(resource)
    defs_module.Invariant.holds = holds
    try:
        found = walk_resource(resource)
    finally:
        defs_module.Invariant.holds = original
    assert "ref-1" not in calls
    assert [path for path, _, _, _ in found.references] == [".target[0].reference",
                                                            ".target[1].reference"]


def test_unless_prefixed_reads_ref_1_only():
    shortcuts = {}
    defs = definitions()
    for i in range(len(defs.raw["constraints"])):
        inv = defs.invariant(i)
        if inv.unless_prefixed is not None:
            shortcuts[inv.key] = inv.unless_prefixed
    assert shortcuts == {"ref-1": ("reference", "#")}
    types = defs.resource_types
    for expression in ("reference.startsWith('#').not() and reference.exists()",   # not an or
                       "reference.exists() or reference.startsWith('#').not()",   # not first
                       "reference.startsWith('#').not() or display.exists()",     # reads display
                       "reference.startsWith('#') or reference.exists()",         # no not()
                       "value.startsWith('#').not() or value.exists()"):          # a choice
        assert fhirpath.unless_prefixed(fhirpath.parse_tree(expression), types) is None
    assert fhirpath.unless_prefixed(fhirpath.parse_tree(
        "(a.startsWith('x').not()) or a.substring(1).lower() in %resource.id"), types) == ("a", "x")


@pytest.mark.skipif(not CORPUS.exists(), reason="shared corpus not found")
def test_fast_paths_agree_with_the_general_walk_on_damaged_resources():
    rng = random.Random(20261128)
    cases = with_problems = 0
    disagree = []
    for resource in _resources():
        for case in (resource, _damaged(resource, rng), _damaged(resource, rng)):
            cases += 1
            try:
                fast, general = _both(case)
            except (TypeError, AttributeError, ValueError, KeyError, IndexError) as exc:
                with general_walk():  # (a shape the walk cannot read: both must raise alike)
                    with pytest.raises(type(exc)):
                        walk_resource(case)
                continue
            with_problems += bool(general[0])
            if fast != general:
                disagree.append((case.get("resourceType"), fast, general))
    assert disagree == []
    assert cases > 6000
    assert with_problems > cases // 20


def _bundle_invariants() -> dict:
    defs = definitions()
    return {inv.key: inv for inv in defs.type("Bundle").root.invariants}


TYPES = [{"type": t} for t in ("batch", "transaction", "history", "collection", "searchset",
                               "batch-response", "2020", "", 5, None, True, ["batch"])] + [
    {}, {"_type": {"id": "t"}}, {"type": "batch", "_type": {"id": "t"}}]
ENTRIES = [
    [], [{"fullUrl": "urn:uuid:x"}], [{"request": {"method": "POST"}}, {"resource": {}}],
    [{"response": {"status": "200"}}], [{"search": {"mode": "match"}}], [{"_search": {"id": "s"}}],
    [{"_request": {"id": "r"}}], [{"request": None}], [{"request": []}], [{"request": [None]}],
    [None], [None, {"request": {}}], [{"search": [{}, None]}], [5], ["entry"],
    [{"fullUrl": "a"}, {"fullUrl": "b", "request": {}, "response": {}, "search": {}}],
]


@pytest.mark.parametrize("entries", ENTRIES)
def test_bundle_invariants_keep_their_verdicts(entries):
    """bdl-2, bdl-3 and bdl-4 test the Bundle type once and each entry in a test or two; their
    verdicts are those of the general evaluation: bdl-2's compiled closure (not the predicate),
    and for bdl-3 and bdl-4 the three-valued type test of any type value."""
    invariants = _bundle_invariants()
    for bundle_type in TYPES:
        bundle = {"resourceType": "Bundle", **bundle_type, "entry": entries}
        env = fhirpath.Env(bundle, bundle, bundle)
        inv = invariants["bdl-2"]
        assert inv.holds(bundle, env, "Bundle") is (inv.closure([bundle], env) != [False])
        for key, member, types in (("bdl-3", "request", ("batch", "transaction", "history")),
                                   ("bdl-4", "response", ("batch-response",
                                                          "transaction-response", "history"))):
            expected = fhirpath._type_is_one_of(bundle, [[t] for t in types])
            has = [fhirpath._has_child(e, member) for e in entries if e is not None]
            holds = not has if expected is None else all(h is expected for h in has)
            assert invariants[key].holds(bundle, env, "Bundle") is holds, (key, bundle)


def _combined_index(entries: list) -> dict:
    """The index in_bundle used before _Index: one dict, fullUrls assigned, Type/id set once."""
    index: dict = {}
    for entry in entries:
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict) or not isinstance(res.get("resourceType"), str):
            continue
        if isinstance(entry.get("fullUrl"), str):
            index[entry["fullUrl"]] = res["resourceType"]
        if isinstance(res.get("id"), str):
            index.setdefault(f"{res['resourceType']}/{res['id']}", res["resourceType"])
    return index


def test_reference_index_resolves_as_one_dict():
    from converter.validate.references import _Index

    entries = [
        {"fullUrl": "Patient/1", "resource": {"resourceType": "Group", "id": "g"}},
        {"fullUrl": "urn:uuid:a", "resource": {"resourceType": "Patient", "id": "1"}},
        {"fullUrl": "urn:uuid:a", "resource": {"resourceType": "Person", "id": "2"}},
        {"resource": {"resourceType": "Person", "id": "2"}},
        {"resource": {"resourceType": "Device", "id": "2"}},
        {"fullUrl": "urn:uuid:b", "resource": {"resourceType": "", "id": "3"}},
        {"fullUrl": "urn:uuid:c", "resource": {"resourceType": 5, "id": "4"}},
        {"fullUrl": 7, "resource": {"resourceType": "Location", "id": 8}},
        {"fullUrl": "urn:uuid:d"}, None, "x", {"fullUrl": "urn:uuid:e", "resource": []},
        {"resource": {"resourceType": "Device", "id": "9"}, "fullUrl": "Device/2"},
    ]
    targets = ["Patient/1", "urn:uuid:a", "Person/2", "Device/2", "urn:uuid:b", "/3", "urn:uuid:c",
               "Group/g", "Location/8", "urn:uuid:d", "urn:uuid:e", "Device/9", "nothing", ""]
    for n in range(len(entries) + 1):
        combined, index = _combined_index(entries[:n]), _Index(entries[:n])
        for target in targets:
            assert index.get(target) == combined.get(target), (n, target)


_ABSENT = object()
ODD_VALUES = ["x", "", "#a", "a/_history/1", "/_history/", 0, 5, True, False, Decimal("1.5"),
              None, [], [None], ["x"], [{}], {}, {"id": "a"}, {"coding": [{"code": "a"}]}]


def test_sure_leaves_keep_the_verdicts_of_the_compiled_tests():
    """Invariant.holds answers `name.exists() or ...` and `name.contains(x).not()` from the value
    of `name` when that decides (ref-1 also from its absence); the compiled test (the invariant
    without `sure`) agrees, on odd values of the leaf's member, with and without `_name`, and of
    the others the invariant reads."""
    defs = definitions()
    invariants = [defs.invariant(i) for i in range(len(defs.raw["constraints"]))]
    sure = [inv for inv in invariants if inv.sure is not None]
    assert {"bdl-5", "bdl-8", "ref-1", "app-1", "obs-3", "pat-1"} <= {inv.key for inv in sure}
    assert all(inv.test is not None for inv in sure)
    root = {"resourceType": "Patient", "contained": [{"resourceType": "Patient", "id": "a"}]}
    env = fhirpath.Env(root, root, root)
    items = []
    for inv in sure:
        others = sorted(inv.heads or ()) or ["x"]
        name = inv.sure[0]
        for value in ODD_VALUES + [_ABSENT]:
            for other in (None, "y", {"a": "b"}, [None]):
                for extension in (None, {"id": "e"}):
                    item = {} if value is _ABSENT else {name: value}
                    item.update({k: other for k in others if k != name and other is not None})
                    if extension is not None:
                        item["_" + name] = extension
                    items.append((inv, item))
    for inv, item in items:
        fast = inv.holds(item, env, "Element")
        kept, inv.sure = inv.sure, None
        try:
            general = inv.holds(item, env, "Element")
        finally:
            inv.sure = kept
        assert fast is general, (inv.key, item)


def test_choice_members_found_as_by_a_look_at_every_member():
    definitions()  # (the choice names and type suffixes)

    def by_loop(item: dict, name: str):
        v = item.get(name)
        if v is None and name in fhirpath.CHOICE_NAMES:
            for k, cv in item.items():
                if k.startswith(name) and k[len(name):] in fhirpath.TYPE_SUFFIXES:
                    return k, cv
        return name, v

    items = [{}, {"value": 1}, {"value": None, "valueString": "a"}, {"valueQuantity": {"value": 1}},
             {"valueFoo": 1}, {"valueString": None}, {"valueBoolean": False, "valueString": "x"},
             {"url": "u", "valueCodeableConcept": {}}, {"_value": {"id": "x"}},
             {"valueString": "a", "valueInteger": 1}, {"values": 1, "value_": 2},
             {"effectivePeriod": {}, "valueDateTime": "2020"}]
    for item in items:
        for name in ("value", "effective", "url", "onset"):
            assert fhirpath._member(item, name) == by_loop(item, name), (item, name)
            for negate in (False, True):
                assert fhirpath._exists_leaf(name, negate)(item, None) is \
                    (fhirpath._has_child(item, name) != negate), (item, name)


@pytest.mark.parametrize("value", ODD_VALUES + [[None, None], [{}, None], {"id": "x"}])
def test_sure_leaves_in_the_walk_agree_with_the_general_walk(value):
    """The walk's own use of Invariant.sure (bdl-5, bdl-8, app-1, obs-3...) on odd values of the
    member that decides."""
    patient = {"resourceType": "Patient", "id": "p"}
    carriers = [
        {"resourceType": "Bundle", "type": "collection", "entry": [
            {"fullUrl": value, "resource": patient}, {"resource": value},
            {"resource": value, "request": value}, {"fullUrl": "urn:uuid:x", "response": value}]},
        {"resourceType": "Appointment", "status": "booked", "participant": [
            {"type": value, "status": "accepted"}, {"type": value, "actor": value}]},
        {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
         "referenceRange": [{"low": value}, {"low": value, "text": "t"}]},
        {"resourceType": "Patient", "contact": [{"name": value}, {"name": value, "gender": "x"}]},
    ]
    for resource in carriers:
        for skip in (True, False):
            fast, general = _both(resource, skip)
            assert fast == general, (resource["resourceType"], skip)


class _Text(str):
    pass


class _Object(dict):
    pass


UUID = "urn:uuid:0f6a3d2c-0b4b-4d4e-9d3c-3a9c1e0c7a11"
ODD_ENTRIES = [
    {"fullUrl": UUID, "resource": {"resourceType": "Patient"}},
    {"resource": {"resourceType": "Patient"}, "fullUrl": UUID},
    {"fullUrl": "urn:uuid:0F6A3D2C-0B4B-4D4E-9D3C-3A9C1E0C7A11", "resource": {}},
    {"fullUrl": "urn:uuid:x", "resource": {"resourceType": "Patient"}},
    {"fullUrl": "urn:oid:1.2.3.4.5", "resource": {"resourceType": "Patient"}},
    {"fullUrl": "urn:oid:1", "resource": {"resourceType": "Patient"}},
    {"fullUrl": "urn:isbn:1", "resource": {"resourceType": "Patient"}},
    {"fullUrl": "http://s/fhir/Patient/1/_history/2", "resource": {"resourceType": "Patient"}},
    {"fullUrl": "Patient/1/_history/2", "resource": {"resourceType": "Patient", "id": "1"}},
    {"fullUrl": "", "resource": {"resourceType": "Patient"}},
    {"fullUrl": " ", "resource": {"id": "x"}},
    {"fullUrl": UUID, "resource": {"id": "x"}},
    {"fullUrl": UUID, "resource": {"id": "x", "resourceType": "Patient"}},
    {"fullUrl": UUID, "resource": {"resourceType": "Nope"}},
    {"fullUrl": UUID, "resource": []}, {"fullUrl": UUID, "resource": [{"id": "x"}]},
    {"fullUrl": UUID, "resource": None}, {"fullUrl": UUID, "resource": "Patient"},
    {"fullUrl": 5, "resource": {"resourceType": "Patient"}},
    {"fullUrl": None, "resource": {"resourceType": "Patient"}},
    {"fullUrl": [UUID], "resource": {"resourceType": "Patient"}},
    {"fullUrl": {"id": "u"}, "resource": {"resourceType": "Patient"}},
    {"_fullUrl": {"id": "u"}, "resource": {"resourceType": "Patient"}},
    {"fullUrl": UUID, "_resource": {"id": "r"}},
    {"fullUrl": _Text("urn:uuid:x"), "resource": {"resourceType": "Patient"}},
    {"fullUrl": UUID, "resource": _Object(id="x")},
    _Object(fullUrl="urn:uuid:x", resource={"resourceType": "Patient"}),
    {"fullUrl": UUID, "id": "e"}, {"id": "e", "resource": {"resourceType": "Patient"}},
    {"fullUrl": UUID, "resource": {"resourceType": "Patient"}, "search": {"mode": "match"}},
    {"fullUrl": UUID, "resource": {"resourceType": "Patient"}, "request": {"method": "GET"}},
    {"fullUrl": UUID, "request": {"method": "GET", "url": "Patient"}},
    {"fullUrl": UUID}, {"resource": {"resourceType": "Patient"}}, {}, None, 5, "entry", [],
]


@pytest.mark.parametrize("bundle_type", ["collection", "transaction", "document", None])
def test_entry_fast_path_agrees_with_the_general_walk(bundle_type):
    """Walker.entries (Plan.entry_url_tests) decides the usual entry as the general walk does,
    and hands every other one to it: each odd entry alone, all of them, and past the paths
    made in advance (_AT_SIZE)."""
    cases = [[e] for e in ODD_ENTRIES] + [ODD_ENTRIES, ODD_ENTRIES * 3]
    for entries in cases:
        bundle = {"resourceType": "Bundle", "type": bundle_type, "entry": entries}
        for skip in (True, False):
            fast, general = _both(bundle, skip)
            assert fast == general, (entries if len(entries) == 1 else len(entries), skip)
    assert len(ODD_ENTRIES) * 3 > 64


@pytest.mark.skipif(not walk.__file__.endswith(".py"),
                    reason="compiled with mypyc: a method replaced on Walker is not called")
def test_entry_fast_path_is_taken():
    """The usual entries are decided without a visit (else the test above proves nothing)."""
    from converter.validate.walk import Walker

    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": UUID, "resource": {"resourceType": "Patient"}}] * 3}
    walk_resource(bundle)
    visits = []
    original = Walker.object

    def visit(self, item, plan, path, env):
        visits.append(path)
        return original(self, item, plan, path, env)

    Walker.object = visit
    try:
        walk_resource(bundle)
    finally:
        Walker.object = original
    assert visits == [""]

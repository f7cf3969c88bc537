"""The compiled fhir.resources models (converter/validate/models.py) give the verdicts of the models
themselves: over medbundle's corpus output, the official examples and damaged copies of them (fixed
seed), compiled and original agree on valid/invalid for every resource, with one documented
exception where the compiled form is the stricter and FHIR is on its side."""
from __future__ import annotations

import copy
import gzip
import random
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest

from converter import convert
from converter.validate.structure import model_problems
from converter.writers.json import loads

from conftest import CORPUS

EXAMPLES = Path(__file__).parent / "test_validate_data" / "examples.json.gz"


def _errors(resource: dict, compiled: bool) -> list[tuple[str, str]]:
    return [(p, m) for sev, code, m, p in model_problems(resource, compiled=compiled)
            if code == "structure"]


def _resources() -> list[dict]:
    out: list[dict] = []
    hl7 = sorted(p for p in (CORPUS / "hl7v2").rglob("*") if p.suffix in (".hl7", ".txt"))
    cda = sorted((CORPUS / "ccda-samples").rglob("*.xml"))
    for path in hl7[::2] + cda:
        for bundle in convert(str(path), validate=False).bundles:
            out += [e["resource"] for e in bundle["entry"]]
    examples = loads(gzip.decompress(EXAMPLES.read_bytes()))
    for res in examples["r4"] + examples["ips"]:
        if res["resourceType"] == "Bundle":
            out += [e["resource"] for e in res.get("entry", []) if isinstance(e.get("resource"), dict)]
        else:
            out.append(res)
    return out


def _paths(value: Any, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(value, dict):
        for key, item in value.items():
            if path or key != "resourceType":
                yield path + (key,)
                yield from _paths(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield path + (i,)
            yield from _paths(item, path + (i,))


def _damaged(resource: dict, rng: random.Random) -> dict:
    """A copy with one element deleted, retyped, emptied, nulled, or given an unknown sibling."""
    out = copy.deepcopy(resource)
    paths = list(_paths(out))
    if not paths:
        return out
    path = rng.choice(paths)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    key, value = path[-1], parent[path[-1]]
    kind = rng.randrange(9)
    if kind == 0:
        del parent[key]
    elif kind == 1:
        parent[key] = 42 if isinstance(value, str) else "x"
    elif kind == 2:
        (value if isinstance(value, dict) else out)["bogusElement"] = "1"
    elif kind == 3:
        if isinstance(value, list):
            value.append(None)
        else:
            parent[key] = None
    elif kind == 4:
        parent[key] = " " if isinstance(value, str) else ""
    elif kind == 5:
        parent[key] = value[0] if isinstance(value, list) and value else [value]
    elif kind == 6:
        parent[key] = "2020-13-45T25:00"
    elif kind == 7:
        parent[key] = {}
    else:
        parent[key] = Decimal("1.50") if isinstance(value, str) else True
    return out


def _null_where_required(resource: dict, errors: list[tuple[str, str]]) -> bool:
    """Every error points at a JSON null (fhir_core lets a null through for a required complex
    element such as Observation.code; FHIR JSON forbids null there, the compiled form refuses)."""
    for path, _ in errors:
        value: Any = resource
        for part in path.replace("[", ".").replace("]", "").strip(".").split("."):
            value = value[int(part)] if isinstance(value, list) else value.get(part)
        if value is not None:
            return False
    return True


@pytest.mark.skipif(not CORPUS.exists(), reason="shared corpus not found")
def test_compiled_models_agree_with_the_models():
    rng = random.Random(20261128)
    cases = invalid = stricter = 0
    disagree = []
    for resource in _resources():
        for case in (resource, _damaged(resource, rng), _damaged(resource, rng)):
            cases += 1
            original, compiled = _errors(case, False), _errors(case, True)
            invalid += bool(original)
            if bool(original) == bool(compiled):
                continue
            if not original and _null_where_required(case, compiled):
                stricter += 1
                continue
            disagree.append((case["resourceType"], original, compiled))
    assert disagree == []
    assert cases > 6000
    assert invalid > cases // 5  # the damage is real: a good share of the cases are invalid
    assert stricter < cases // 100


def _observation(**elements: Any) -> dict:
    base = {"resourceType": "Observation", "status": "final", "code": {"text": "Hb"}}
    base.update(elements)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize("resource, valid", [
    (_observation(), True),
    (_observation(valueQuantity={"value": Decimal("1.50"), "unit": "g/dL"}), True),
    (_observation(bogus="1"), False),                                   # unknown element
    (_observation(effectiveDateTime="2020-13-45"), False),              # not a date
    (_observation(valueQuantity={"value": 1}, valueString="1"), False),  # two types of value[x]
    (_observation(status=None, _status={"extension": [{             # required primitive, only
        "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",  # its extension
        "valueCode": "unknown"}]}), True),
    (_observation(status=None, _status={"id": "a"}), False),            # ... without one
    (_observation(code=None), False),                                   # required element missing
    (_observation(contained=[None]), False),                            # null in a list
    (_observation(note=[{"text": "a"}, None]), False),
    (_observation(subject="Patient/1"), False),                         # string for a Reference
    (_observation(subject={"reference": "Patient/1", "display": 3}), False),
    (_observation(contained=[{"resourceType": "Patient", "id": "p", "gender": "male"}]), True),
    (_observation(contained=[{"resourceType": "Patient", "id": "p", "sex": "male"}]), False),
])
def test_compiled_models_on_single_rules(resource, valid):
    assert (not _errors(resource, True)) is valid
    assert (not _errors(resource, False)) is valid


def test_error_paths_name_the_element():
    errors = _errors(_observation(subject={"reference": "Patient/1", "display": 3},
                                  note=[{"text": "a"}, {"txt": "b"}]), True)
    paths = {p for p, _ in errors}
    assert ".subject.display" in paths
    assert any(p.startswith(".note[1]") for p in paths)


@pytest.mark.skipif(not CORPUS.exists(), reason="shared corpus not found")
def test_damaged_resources_give_errors_not_exceptions():
    """`medbundle validate` on hostile JSON: every damaged copy is answered with issues, and one the
    models refuse always has an error among them (a number where a list belongs made the rule walk
    raise before)."""
    from converter.validate import validate_bundle

    rng = random.Random(7)
    resources = _resources()[::3]
    checked = 0
    for resource in resources:
        for case in (_damaged(resource, rng), _damaged(resource, rng)):
            issues = validate_bundle(case)  # must not raise
            if _errors(case, True):
                checked += 1
                assert any(i.is_error for i in issues), case
    assert checked > 300
    contained = validate_bundle(_observation(contained=5))
    assert any(i.is_error and i.code == "structure" for i in contained)


# --- the stricter form (models.clean) that decides the common case --------------------------

def _long_way(resource: dict) -> list:
    from converter.validate.structure import _model, _problems

    return _problems(_model(resource["resourceType"]), resource, True)


def _clean(resource: dict) -> bool:
    """models.clean(); its faster form without `_x` elements accepts no more than it does."""
    from converter.validate import models
    from converter.validate.structure import _model

    model = _model(resource["resourceType"])
    accepted = models.clean(model, resource)
    assert accepted or not models.clean(model, resource, extensions=False)
    return accepted


def test_whitespace_is_pythons():
    """The characters the stricter form treats as blank are exactly str.isspace()'s."""
    import sys

    from converter.validate.models import _WHITESPACE

    assert set(_WHITESPACE) == {c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()}


_ODD = ["", " ", "\t", "\x1c", "\x1f", "\u00a0", "\u3000", "\u200b", " a", "a ", "a\n", "a  b",
        "a\tb", "a\x1cb", "\u00e9", "x" * 300, "2020", "0000", "0001", "2020-1", "2020-13",
        "2020-00", "2020-02-29", "2021-02-29", "2020-02-30", "2020-12-31", "2020-01-01T10:00",
        "2020-01-01T10:00:00", "2020-01-01T10:00:00Z", "2020-01-01T10:00:00.123456789+14:00",
        "2020-01-01T10:00:00+14:01", "2020-01-01T24:00:00Z", "2016-12-31T23:59:60Z",
        "2015-02-29T23:59:60Z", "2020-01-01T10:00:00z", "2020-01-01 10:00:00Z", "10:00:00",
        "10:00", "24:00:00", "23:59:60", "23:59:59.5", "1.5", "01", "-0", "+1", "1e5", "1E-7", ".5",
        "1.", "NaN", "urn:oid:1.2.3", "urn:oid:01.2", "urn:uuid:c757873d-ec9a-4326-a141-556f43239520",
        "c757873d-ec9a-4326-a141-556f43239520", "c757873d-ec9a-1326-a141-556f43239520",
        "aGVsbG8=", "aGVsbG8", "aGVs\nbG8=", "Patient/1", "http://x y", "mailto:a@b", "boolean",
        "id-1.x", "id_1", "true", "1", 0, 1, -1, 2**31, -(2**31) - 1, 2**70, True, False, 1.5,
        float("nan"), Decimal("1.50"), Decimal("-0"), Decimal("1E+3"), Decimal("NaN"), None, [],
        {}, ["a"], [""], [None], {"a": 1}]
_PRIMITIVES = ["Base64Binary", "Boolean", "Canonical", "Code", "Date", "DateTime", "Decimal", "Id",
               "Instant", "Integer", "Markdown", "Oid", "PositiveInt", "String", "Time",
               "UnsignedInt", "Uri", "Url", "Uuid"]


@pytest.mark.parametrize("kind", _PRIMITIVES)
def test_stricter_form_on_odd_primitives(kind):
    """Whatever the stricter form accepts, the long way (empty values, then the exact model) finds
    nothing wrong with; and it accepts the ordinary values, else it would save nothing."""
    accepted = 0
    for value in _ODD:
        for resource in ({"resourceType": "Patient", "extension": [
                             {"url": "http://example.org/x", f"value{kind}": value}]},
                         {"resourceType": "Patient", "extension": [
                             {"url": "http://example.org/x", f"value{kind}": [value]}]}):
            if _clean(resource):
                accepted += 1
                assert _long_way(resource) == [], (kind, value)
    assert accepted >= 1, kind


@pytest.mark.parametrize("resource", [
    {"resourceType": "Patient", "name": [{"given": ["", "a"]}]},
    {"resourceType": "Patient", "name": [{"given": [" "]}]},
    {"resourceType": "Patient", "name": []},
    {"resourceType": "Patient", "name": [{"given": []}]},
    {"resourceType": "Patient", "gender": "\x1c"},
    {"resourceType": "Patient", "id": "a", "text": {"status": "generated", "div": " "}},
    {"resourceType": "Patient", "contained": [{"resourceType": "Patient", "gender": ""}]},
    {"resourceType": "Patient", "contained": [{"resourceType": "Patient", "name": []}]},
    {"resourceType": "Patient", "contained": [None]},
    {"resourceType": "Patient", "contained": [{"resourceType": 5}]},
    {"resourceType": "Patient", "fhir_comments": [" "]},
    {"resourceType": "Observation", "status": "final", "code": {"text": "a"},
     "valueString": "a", "valueInteger": None},
    {"resourceType": "Observation", "status": None, "code": {"text": "a"}},
    {"resourceType": "Observation", "_status": {"extension": [{
        "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
        "valueCode": "unknown"}]}, "code": {"text": "a"}},
    {"resourceType": "MessageHeader", "eventCoding": None, "source": {"endpoint": "x"}},
])
def test_stricter_form_on_odd_shapes(resource):
    if _clean(resource):
        assert _long_way(resource) == []
    else:  # all of these but the last two are wrong somewhere
        assert _long_way(resource) != [] or "_status" in resource or "valueInteger" in resource


@pytest.mark.skipif(not CORPUS.exists(), reason="shared corpus not found")
def test_stricter_form_implies_the_long_way():
    """Over the corpus output, the examples and damaged copies of them: whenever the stricter form
    accepts, the long way finds nothing (empty objects aside: the caller looks for `{}`)."""
    from converter.validate.structure import _encode

    rng = random.Random(20261129)
    resources = _resources()
    accepted = damaged_accepted = 0
    for resource in resources:
        accepted += _clean(resource)  # the common case it is there for: valid resources
        for case in (resource, _damaged(resource, rng), _damaged(resource, rng),
                     _damaged(_damaged(resource, rng), rng)):
            if _clean(case):
                damaged_accepted += case is not resource
                if b"{}" not in _encode(case):
                    assert _long_way(case) == [], case
    assert accepted > len(resources) * 0.99
    assert damaged_accepted > len(resources) // 2  # also the harmless damage (a deleted element)


def test_every_resource_type_has_a_stricter_form():
    """A schema node without a proven rewrite leaves a model without its stricter form (every
    resource of the type then takes the long way): none in the fhir.resources R4B models."""
    from fhir.resources.R4B import fhirtypes

    from converter.validate import models

    checked = 0
    for name in dir(fhirtypes):
        kind = getattr(fhirtypes, name)
        if not (name.endswith("Type") and hasattr(kind, "get_model_klass")):
            continue
        model = kind.get_model_klass()
        if not model.has_resource_base() or model.__name__ in ("Resource", "DomainResource"):
            continue
        for extensions in (False, True):
            assert models._strict(model, extensions) is not None, name
        checked += 1
    assert checked > 140

"""validate_bundle never raises on a damaged Bundle: odd values put at random places of real
Bundles (corpus output) are reported as issues (fixed seed)."""
from __future__ import annotations

import copy
import random
from pathlib import Path

from conftest import CORPUS, HL7_CORPUS

from converter import convert
from converter.validate import validate_bundle

ODD = [[], {}, [[1]], {"a": []}, 5, None, "x", True, 1.5, [None], [{}], {"reference": []},
       ["urn:uuid:x"], {"versionId": []}]


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, path + (i,))


def _put(value, path, new) -> None:
    """Put `new` at `path`, unless an earlier damage took that place away."""
    try:
        for step in path[:-1]:
            value = value[step]
        value[path[-1]] = new
    except (TypeError, KeyError, IndexError):
        pass


def test_damaged_bundles_give_issues_not_exceptions():
    rng = random.Random(20261128)
    sources = [p for p in sorted(Path(HL7_CORPUS).rglob("*")) if p.is_file()][::6]
    sources += sorted((CORPUS / "ccda-samples").rglob("*.xml"))[:2]
    bundles = [b for s in sources for b in convert(s, validate=False).bundles]
    checked = 0
    for bundle in bundles:
        places = [p for p in _paths(bundle) if p]
        # half of the damage at the Bundle's own level (type, entries, fullUrl, resource.meta),
        # which every Bundle has once, against thousands of places inside resources
        shallow = [p for p in places if len(p) <= 4]
        for _ in range(12):
            damaged = copy.deepcopy(bundle)
            for _ in range(rng.randint(1, 3)):
                where = rng.choice(shallow if rng.random() < 0.5 else places)
                _put(damaged, where, copy.deepcopy(rng.choice(ODD)))
            issues = validate_bundle(damaged)  # must not raise
            checked += 1
            assert all(i.severity in ("fatal", "error", "warning", "information") for i in issues)
    assert checked > 200
    # and every odd value in the Bundle's own places: its type, an entry, a fullUrl, a version
    bundle = bundles[0]
    for where in (("type",), ("entry", 0), ("entry", 0, "fullUrl"), ("entry", 1, "resource"),
                  ("entry", 0, "resource", "meta"), ("entry", 0, "resource", "id")):
        for odd in ODD:
            damaged = copy.deepcopy(bundle)
            damaged["entry"][0]["resource"].setdefault("meta", {})["versionId"] = "1"
            damaged["entry"][1]["resource"].setdefault("meta", {})["versionId"] = [odd]
            _put(damaged, where, copy.deepcopy(odd))
            assert validate_bundle(damaged)  # issues, no exception


def _damaged_shallow(seed: int, count: int):
    """Corpus Bundles with odd values put at their own level (type, entries, fullUrls, resources,
    meta.versionId), where the Bundle-level shortcuts of the validator decide."""
    rng = random.Random(seed)
    sources = [p for p in sorted(Path(HL7_CORPUS).rglob("*")) if p.is_file()][::9]
    bundles = [b for s in sources for b in convert(s, validate=False).bundles]
    odd = ODD + ["", " ", "a b", "urn:uuid:x", {"fullUrl": "urn:uuid:y"},
                 {"fullUrl": "urn:uuid:z", "resource": {"resourceType": "Patient"}}]
    for n in range(count):
        damaged = copy.deepcopy(bundles[n % len(bundles)])
        places = [p for p in _paths(damaged) if p and len(p) <= 4]
        for _ in range(rng.randint(1, 3)):
            _put(damaged, rng.choice(places), copy.deepcopy(rng.choice(odd)))
        yield damaged


def test_bundle_shell_shortcut_agrees_on_damaged_bundles():
    """The Bundle model's verdict on the usual entries (validator._shell_problems) is the
    verdict on the whole shell."""
    from converter.validate import validator
    from converter.validate.structure import model_problems

    for bundle in _damaged_shallow(20260514, 300):
        entries = validator.bundle_entries(bundle)
        assert validator._shell_problems(bundle, entries) == \
            model_problems(validator._shell(bundle, entries))


def test_entry_problems_index_agrees_on_damaged_bundles():
    """The fullUrl index entry_problems makes for in_bundle is the one _Index makes itself."""
    from converter.validate import references, validator

    for bundle in _damaged_shallow(20260515, 300):
        entries = validator.bundle_entries(bundle)
        urls: dict = {}
        assert references.entry_problems(entries, urls) == references.entry_problems(entries)
        assert urls == references._Index(entries).urls


def test_lone_surrogates_are_reported_not_raised(tmp_path):
    """JSON may escape half a surrogate pair ("\\ud800"), which no UTF-8 encoder takes: the
    validator's JSON cache key and stricter form cannot encode it, so the long way reports the
    string (it raised UnicodeEncodeError)."""
    import json

    from typer.testing import CliRunner

    from converter.cli import app

    text = ('{"resourceType":"Bundle","id":"a\\ud800","type":"collection","entry":[{"fullUrl":'
            '"urn:uuid:3c1f2a0e-6a57-5d3b-9f0e-6d6564627564","resource":{"resourceType":"Patient",'
            '"id":"3c1f2a0e-6a57-5d3b-9f0e-6d6564627564","name":[{"family":"M\\udc80ller"}]}}]}')
    issues = validate_bundle(json.loads(text))
    errors = {i.location.expression for i in issues if i.severity == "error"}
    assert errors == {"Bundle.id", "Bundle.entry[0].resource.name[0].family"}
    bad_url = json.loads(text.replace("urn:uuid:3c1f", "urn:uuid:\\ud800", 1))
    assert "Bundle.entry[0].fullUrl" in {i.location.expression for i in validate_bundle(bad_url)}
    path = tmp_path / "surrogate.json"
    path.write_text(text)
    run = CliRunner().invoke(app, ["validate", str(path)])
    assert run.exit_code == 1 and "internal error" not in run.output, run.output

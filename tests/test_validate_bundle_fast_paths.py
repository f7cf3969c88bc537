"""The Bundle-level shortcuts of the validator (converter/validate/validator.py, references.py) give
what their plain forms give: reference resolution with its usual case decided first, the Bundle
shell made by copying entries, and the resource cache keyed by the JSON in the resource's own key
order. Each is compared with the plain form (kept here) on odd and damaged input."""
from __future__ import annotations

import itertools
from decimal import Decimal

from converter.validate import references, validate_bundle, validator
from converter.validate.references import (
    _ABSOLUTE,
    _CONDITIONAL,
    _RELATIVE,
    SERVER_BUNDLES,
    _has_base,
    _Index,
    _local,
    _target_problems,
)
from converter.validate.walk import Findings, Problem


def _plain_in_bundle(bundle: dict, entries: list, found_by_entry: dict) -> list[Problem]:
    """references.in_bundle before its usual case moved first (the reference it is tested on)."""
    index = _Index(entries)
    conditional_ok = bundle.get("type") in ("transaction", "batch")
    server_bundle = bundle.get("type") in SERVER_BUNDLES
    out: list[Problem] = []
    for i, found in found_by_entry.items():
        prefix = f"Bundle.entry[{i}].resource"
        for ref in found.references:
            _, target, targets, given = ref
            if target.startswith("#"):
                _local(ref, found, prefix, out)
                continue
            rtype = index.get(target) or index.get(target.split("/_history/")[0])
            if rtype is not None:
                _target_problems(ref, rtype, prefix, out)
                continue
            m = _ABSOLUTE.match(target)
            if m or target.startswith(("http://", "https://")):
                _target_problems(ref, m.group(1) if m else None, prefix, out)
                continue
            m = _CONDITIONAL.match(target)
            path = prefix + ref[0]
            if m:
                if conditional_ok:
                    _target_problems(ref, m.group(1), prefix, out)
                else:
                    out.append(("error", "unresolved-reference", f"conditional reference "
                                f"{target!r} is allowed only in a transaction or batch", path))
                continue
            if target.startswith(("urn:uuid:", "urn:oid:")) or not _RELATIVE.match(target):
                out.append(("error", "unresolved-reference",
                            f"reference {target!r} does not resolve inside the Bundle", path))
            elif not (server_bundle or _has_base(entries[i])):
                severity = "error" if bundle.get("type") == "document" else "warning"
                out.append((severity, "unresolved-reference", f"reference {target!r} does not "
                            "resolve inside the Bundle, and the entry's fullUrl names no server "
                            "it could resolve on", path))
            else:
                _target_problems(ref, _RELATIVE.match(target).group(1), prefix, out)
    return out


ENTRIES = [
    {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "id": "1"}},
    {"fullUrl": "#odd", "resource": {"resourceType": "Patient", "id": "2"}},
    {"fullUrl": "http://s/fhir/Practitioner/3", "resource": {"resourceType": "Practitioner",
                                                             "id": "3"}},
    {"fullUrl": "urn:uuid:g", "resource": {"resourceType": "Group", "id": "4"}},
    {"fullUrl": "urn:uuid:e", "resource": {"resourceType": "", "id": "5"}},
    {"fullUrl": "Device/6", "resource": {"resourceType": "Device", "id": "6"}},
    {"resource": {"resourceType": "Location", "id": "7"}},
    {"fullUrl": "urn:uuid:x"}, None, 5,
]
TARGETS = ["urn:uuid:p", "#odd", "#", "#c", "#nope", "http://s/fhir/Practitioner/3",
           "Practitioner/3", "Patient/1", "Patient/1/_history/2", "urn:uuid:g", "urn:uuid:e",
           "urn:uuid:none", "Device/6", "Location/7", "Location?name=x", "http://elsewhere/x",
           "https://other/fhir/Patient/9", "not a reference", "", "urn:oid:1.2.3"]
ALLOWED = [None, ("Patient",), ("Resource",), ("Group", "Practitioner"), ()]
GIVEN = [None, "Patient", "Group"]


def test_in_bundle_agrees_with_the_plain_resolution():
    refs = [(f".r[{n}].reference", target, targets, given) for n, (target, targets, given)
            in enumerate(itertools.product(TARGETS, ALLOWED, GIVEN))]
    found = {i: Findings([], refs[i::3], {"c": "Condition"}) for i in range(3)}
    found[3] = Findings([], [], {})
    found[7] = Findings([], refs[:20], {})  # an entry without fullUrl or resource
    for bundle_type in ("collection", "document", "transaction", "searchset", None, 5):
        for entries in (ENTRIES, ENTRIES[:1], ENTRIES[::-1], ENTRIES + ENTRIES):
            bundle = {"resourceType": "Bundle", "type": bundle_type, "entry": entries}
            by_entry = {i: f for i, f in found.items() if i < len(entries)}
            assert references.in_bundle(bundle, entries, by_entry) == \
                _plain_in_bundle(bundle, entries, by_entry), (bundle_type, len(entries))


def _plain_entry_keys(entries: list) -> list[str]:
    """bdl-7's first use of each (fullUrl, versionId), as entry_problems looked it up before."""
    seen: dict = {}
    out = []
    for i, entry in enumerate(entries):
        url = entry.get("fullUrl") if isinstance(entry, dict) else None
        if not isinstance(url, str):
            continue
        res = entry.get("resource")
        meta = res.get("meta") if isinstance(res, dict) else None
        key = (url, meta.get("versionId") if isinstance(meta, dict) else None)
        if key in seen:
            out.append(f"bdl-7: fullUrl {url} is also used by entry {seen[key]}")
        else:
            seen[key] = i
    return out


def test_duplicate_fullurls_found_as_before():
    patient = {"resourceType": "Patient", "id": "1"}
    versioned = [{"resourceType": "Patient", "id": "1", "meta": {"versionId": v}}
                 for v in ("1", "2", 1, None)]
    pool = [{"fullUrl": "urn:uuid:a", "resource": patient}, {"fullUrl": "urn:uuid:a"},
            {"fullUrl": "urn:uuid:b", "resource": patient}, None, {"fullUrl": 5},
            {"fullUrl": "urn:uuid:a", "resource": {"resourceType": "Patient", "meta": None}}] + \
        [{"fullUrl": "urn:uuid:a", "resource": r} for r in versioned]
    for n in range(1, 5):
        for entries in itertools.permutations(pool, n):
            found = [m for _, code, m, _ in references.entry_problems(list(entries))
                     if code == "duplicate-fullurl"]
            assert found == _plain_entry_keys(list(entries)), entries


def _plain_shell(bundle: dict, entries: list) -> dict:
    shell = {k: v for k, v in bundle.items() if k != "entry"}
    stripped = [{k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
                for e in entries]
    if stripped:
        shell["entry"] = stripped
    return shell


def test_shell_as_by_comprehension():
    odd = [{"fullUrl": "urn:uuid:a", "resource": {"resourceType": "Patient"}},
           {"resource": None, "fullUrl": "x", "search": {"mode": "match"}}, {"resource": 5},
           {"request": {"method": "POST"}}, {}, None, 5, "entry", [], {"resource": {}},
           {"fullUrl": "u", "resource": {"resourceType": "Patient"}, "response": {}}]
    for n in range(len(odd) + 1):
        entries = odd[:n]
        for head in ({"resourceType": "Bundle", "type": "collection", "entry": entries},
                     {"entry": entries, "resourceType": "Bundle", "id": "b"}):
            shell = validator._shell(head, entries)
            assert shell == _plain_shell(head, entries)
            assert [list(e) for e in shell.get("entry", []) if isinstance(e, dict)] == \
                [list(e) for e in _plain_shell(head, entries).get("entry", [])
                 if isinstance(e, dict)]  # (the same key order: the model reports in it)
            assert list(shell) == list(_plain_shell(head, entries))
    entry = odd[0]
    validator._shell({"resourceType": "Bundle", "entry": [entry]}, [entry])
    assert "resource" in entry  # the Bundle itself is left as it is


def test_cached_findings_follow_each_key_order():
    """The cache key is the resource's JSON in its own key order: the same content in another
    order is checked on its own, and its problems come in its order."""
    one = {"resourceType": "Observation", "status": "bogus", "code": {"text": "x"},
           "valueQuantity": {"value": Decimal("1.5"), "system": "urn:oid:1"},
           "subject": {"reference": "Patient/1", "type": "Group"}}
    other = {"resourceType": "Observation", "subject": one["subject"],
             "valueQuantity": one["valueQuantity"], "code": one["code"], "status": "bogus"}
    validator._cache.clear()
    first = validator.resource_findings(one)
    second = validator.resource_findings(other)
    # (cached: the same Findings; compiled with mypyc, the tuple holding it is made anew)
    assert first[1] is validator.resource_findings(one)[1]
    validator._cache.clear()
    assert validator.resource_findings(other) == second
    assert len(second[1].problems) > 1
    assert second[1].problems != first[1].problems
    assert sorted(second[1].problems) == sorted(first[1].problems)
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:0f6a3d2c-0b4b-4d4e-9d3c-3a9c1e0c7a11", "resource": one},
        {"fullUrl": "urn:uuid:0f6a3d2c-0b4b-4d4e-9d3c-3a9c1e0c7a12", "resource": other}]}
    validator._cache.clear()
    cold = [str(i) for i in validate_bundle(bundle)]
    assert [str(i) for i in validate_bundle(bundle)] == cold


def test_entry_prefixes_past_the_table():
    """Each entry's issues carry its own index, from the prefixes made in advance and past them."""
    entries = [{"fullUrl": f"urn:uuid:0f6a3d2c-0b4b-4d4e-9d3c-{i:012x}",
                "resource": {"resourceType": "Basic", "code": {"text": "x"}}}
               for i in range(validator._PREFIXES + 5)]
    issues = validate_bundle({"resourceType": "Bundle", "type": "collection", "entry": entries})
    dom6 = [i.location.expression for i in issues if i.message.startswith("dom-6")]
    assert dom6 == [f"Bundle.entry[{i}].resource" for i in range(len(entries))]
    assert all(i.location == validator.Location(expression=i.location.expression)
               for i in issues)


def test_cache_keeps_models_and_no_models_apart():
    """The cache key of a check with the models is the JSON, without them (JSON, False)."""
    resource = {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                "bogus": 1}
    validator._cache.clear()
    without = validator.resource_findings(resource, models=False)
    with_models = validator.resource_findings(resource)
    assert without[0] == [] and with_models[0] != []
    assert validator.resource_findings(resource, models=False)[1] is without[1]  # (cached)
    assert validator.resource_findings(resource)[1] is with_models[1]


def test_a_version_id_of_the_wrong_shape_is_reported_not_raised():
    """meta.versionId as a list or an object (hostile input): a structure error, and bdl-7 still
    tells two entries of the same fullUrl and version apart."""
    from converter.validate import validate_bundle

    def entry(version):
        return {"fullUrl": "urn:uuid:0b6f6c41-3b5c-4f8e-9b3e-5d3f0c1b2a11",
                "resource": {"resourceType": "Patient", "id": "p", "meta": {"versionId": version}}}

    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [entry(["1"]), entry(["1"]), entry({"v": 2})]}
    issues = validate_bundle(bundle)
    assert any(i.code == "structure" and "versionId" in (i.location.expression or "")
               for i in issues)
    dup = [i for i in issues if i.code == "duplicate-fullurl"]
    assert [i.location.expression for i in dup] == ["Bundle.entry[1].fullUrl"]


def test_a_bundle_type_of_the_wrong_shape_is_reported_not_raised():
    from converter.validate import validate_bundle

    for kind in ({"a": 1}, ["collection"], 5):
        bundle = {"resourceType": "Bundle", "type": kind, "entry": [
            {"fullUrl": "urn:uuid:0b6f6c41-3b5c-4f8e-9b3e-5d3f0c1b2a11",
             "resource": {"resourceType": "Patient", "id": "p",
                          "link": [{"other": {"reference": "Patient/q"}, "type": "seealso"}]}}]}
        assert any(i.code == "structure" for i in validate_bundle(bundle))


def test_shell_problems_as_the_whole_shell_gives():
    """_shell_problems decides the usual Bundle (entries of a fullUrl and a resource) on the Bundle
    without its entries: the same verdict as the model check of the whole shell, on odd fullUrls,
    odd entries and damaged Bundle heads."""
    from converter.validate.structure import model_problems

    resource = {"resourceType": "Patient", "id": "p"}
    urls = ["urn:uuid:0b6f6c41-3b5c-4f8e-9b3e-5d3f0c1b2a11", "a b", " a", "\x00", "\u2028x",
            "\u200b", "é" * 300, "", " ", "\xa0", "\x1c", "\t\n", 5, None, ["x"], {}]
    entries = [[{"fullUrl": u, "resource": resource}] for u in urls]
    entries += [[{"resource": resource, "fullUrl": "urn:uuid:x"}],
                [{"fullUrl": "urn:uuid:x", "resource": None}],
                [{"fullUrl": "urn:uuid:x", "resource": 5}],
                [{"fullUrl": "urn:uuid:x", "search": {"mode": "match"}}],
                [{"fullUrl": "urn:uuid:x", "resource": resource, "search": {}}],
                [{"fullUrl": "urn:uuid:x"}], [{"resource": resource}], [{}], [None], [5], [[]],
                [], [{"fullUrl": "urn:uuid:a", "resource": resource}] * 3]
    heads = [{"resourceType": "Bundle", "type": "collection"},
             {"resourceType": "Bundle", "type": "message", "id": "b", "timestamp": "2024-01-01"},
             {"resourceType": "Bundle"}, {"resourceType": "Bundle", "type": ""},
             {"resourceType": "Bundle", "type": "collection", "bogus": 1},
             {"resourceType": "Bundle", "type": "collection", "meta": {}},
             {"resourceType": "Bundle", "type": "collection", "total": "x"},
             {"resourceType": "Bundle", "type": 5, "link": []}]
    for head in heads:
        for group in entries:
            for bundle in ({**head, "entry": group}, {"entry": group, **head}):
                for es in (group, group + group[:1]):
                    assert validator._shell_problems(bundle, es) == \
                        model_problems(validator._shell(bundle, es)), (bundle, es)
        bundle = {**head, "entry": "not a list"}
        assert validator._shell_problems(bundle, []) == \
            model_problems(validator._shell(bundle, []))


def test_entry_problems_make_the_fullurl_index_as_index_does():
    """entry_problems(entries, urls) fills `urls` as _Index(entries) makes its fullUrl index, and
    in_bundle resolves the same with that index as with its own."""
    patient = {"resourceType": "Patient", "id": "1"}
    pool = ENTRIES + [{"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Group"}},
                      {"fullUrl": "urn:uuid:q", "resource": {"resourceType": 5}},
                      {"fullUrl": "urn:uuid:p", "resource": patient, "request": {}},
                      {"fullUrl": 5, "resource": patient},
                      {"fullUrl": "urn:uuid:v", "resource": {**patient, "meta": {"versionId": []}}}]
    refs = [(".r.reference", target, None, None) for target in TARGETS]
    for n in range(1, 4):
        for entries in itertools.permutations(pool, n):
            entries = list(entries)
            urls: dict = {}
            problems = references.entry_problems(entries, urls)
            assert problems == references.entry_problems(entries)
            assert urls == _Index(entries).urls
            assert list(urls) == list(_Index(entries).urls)
            found = {i: Findings([], refs, {}) for i in range(n)}
            for btype in ("document", "transaction"):
                bundle = {"resourceType": "Bundle", "type": btype, "entry": entries}
                assert references.in_bundle(bundle, entries, found, urls) == \
                    references.in_bundle(bundle, entries, found)

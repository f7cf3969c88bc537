"""Assembly's quicker forms decide exactly as the plain ones did: name normalising, a record sent
again, facts found by code, persons found by birth date, references rewritten in place."""
from __future__ import annotations

import random
import unicodedata
from decimal import Decimal

from converter.assemble import dedup
from converter.assemble.bundle import PatientGroup
from converter.assemble.merge import merge
from converter.assemble.patients import _TRANSLIT, match, normalise


def _plain_normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    return "".join(ch for ch in text if ch.isalnum() and not unicodedata.combining(ch)).casefold()


def test_normalise_ascii_like_the_general_form():
    rnd = random.Random(7)
    samples = ["O'Brien-Smith", "  van der Berg ", "DOE, JANE", "x_y", "", "Müller", "Ærø"]
    samples += ["".join(rnd.choice([chr(c) for c in range(128)] + ["é", "ß", "Å"])
                        for _ in range(rnd.randint(0, 12))) for _ in range(3000)]
    for text in samples:
        assert normalise(text) == _plain_normalise(text), repr(text)


def test_a_record_sent_again_is_kept_as_it_was():
    old = {"resourceType": "Practitioner", "id": "p", "name": [{"family": "House"}],
           "identifier": [{"system": "urn:npi", "value": "1"}]}
    again = {"resourceType": "Practitioner", "id": "p", "identifier": [{"system": "urn:npi",
             "value": "1"}], "name": [{"family": "House"}]}  # keys in another order
    group = PatientGroup("x")
    group.add(old, "a")
    group.add(again, "b")
    assert group.resources["p"] == merge(old, again) == old


def test_numbers_equal_but_written_differently_are_still_two_items():
    # `==` takes these for the same; merging did not, and does not
    old = {"resourceType": "Medication", "id": "m",
           "ingredient": [{"strength": {"numerator": {"value": Decimal("1.0")}}}]}
    new = {"resourceType": "Medication", "id": "m",
           "ingredient": [{"strength": {"numerator": {"value": Decimal("1.00")}}}]}
    assert old == new
    assert len(merge(old, new)["ingredient"]) == 2
    group = PatientGroup("x")
    group.add(old, "a")
    group.add(new, "b")
    assert len(group.resources["m"]["ingredient"]) == 2
    assert len(merge({"id": "d", "x": [1]}, {"id": "d", "x": [1.0]})["x"]) == 2


def _obs(rid: str, *codes: str) -> dict:
    return {"resourceType": "Observation", "id": rid,
            "code": {"coding": [{"system": "s", "code": c} for c in codes]},
            "valueString": "pos", "effectiveDateTime": "2024-01-01"}


def test_a_fact_joins_the_first_one_seen_that_shares_a_code():
    facts = [_obs("a", "1"), _obs("b", "2"), _obs("c", "2", "1"), _obs("d", "3"), _obs("e", "3")]
    assert dedup.duplicates(facts) == {"c": "a", "e": "d"}


def _patient(pid: str, system: str, value: str, birth: str = "") -> dict:
    out = {"resourceType": "Patient", "id": pid, "identifier": [{"system": system, "value": value}],
           "name": [{"family": "Doe", "given": ["Jane"]}], "gender": "female"}
    if birth:
        out["birthDate"] = birth
    return out


def test_a_birth_date_learnt_late_keeps_the_order_of_persons():
    first = _patient("a", "urn:s1", "1")  # no birth date yet
    second = _patient("b", "urn:s2", "2", "1980-01-01")
    first_again = _patient("c", "urn:s1", "1", "1980-01-01")  # joins `a`, which is now born
    newcomer = _patient("d", "urn:s3", "3", "1980-01-01")  # matches both: the first person wins
    _, owner, issues = match([(first, "w"), (second, "x"), (first_again, "y"), (newcomer, "z")])
    assert owner == {"a": "a", "b": "b", "c": "a", "d": "a"}
    assert [i.code for i in issues] == ["matched-by-demographics"]


def test_rewrite_references_copies_only_what_changes():
    untouched = {"code": {"text": "x"}}
    resource = {"resourceType": "Observation", "subject": {"reference": "urn:uuid:old"},
                "code": untouched, "performer": [{"reference": "urn:uuid:p"}]}
    out = dedup.rewrite_references(resource, {"old": "new"})
    assert out == {**resource, "subject": {"reference": "urn:uuid:new"}}
    assert resource["subject"] == {"reference": "urn:uuid:old"}  # the input is left alone
    assert out["code"] is untouched
    assert dedup.rewrite_references(resource, {"other": "new"}) is resource
    # a list naming one resource twice is still cut to one, whether or not a reference changed
    twice = {"result": [{"reference": "urn:uuid:r"}, {"reference": "urn:uuid:r"}, "x"]}
    assert dedup.rewrite_references(twice, {}) == {"result": [{"reference": "urn:uuid:r"}, "x"]}
    both = {"result": [{"reference": "urn:uuid:a"}, {"reference": "urn:uuid:b"}]}
    assert dedup.rewrite_references(both, {"a": "b"}) == {"result": [{"reference": "urn:uuid:b"}]}


def test_a_first_fragment_is_added_as_add_would():
    """PatientGroup.add_all stores a new group's fragment at once when no id comes twice; with a
    repeated id (a merged type, or a fact sent twice) or a group holding records, it adds each."""
    pat = {"resourceType": "Patient", "id": "p", "name": [{"family": "Doe"}]}
    pat2 = {"resourceType": "Patient", "id": "p", "gender": "female"}
    obs, obs2 = _obs("o", "1"), {**_obs("o", "2"), "valueString": "neg"}
    cases = [[], [pat, obs], [pat, obs, pat2], [obs, pat, obs2], [pat, pat], [obs, obs2, obs]]
    for resources in cases:
        for before in ([], [{"resourceType": "Patient", "id": "p", "birthDate": "2000"}]):
            quick, plain = PatientGroup("k"), PatientGroup("k")
            for r in before:
                quick.add(r, "a")
                plain.add(r, "a")
            quick.add_all(resources, "b")
            for r in resources:
                plain.add(r, "b")
            assert quick.resources == plain.resources
            assert list(quick.resources) == list(plain.resources)
            assert quick.origin == plain.origin

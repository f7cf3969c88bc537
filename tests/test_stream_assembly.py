"""Assembly of a stream (many messages of one person): the quicker forms decide exactly as the
plain ones did. A record of a form already merged is not merged again."""
from __future__ import annotations

import random
from decimal import Decimal

from converter.assemble.bundle import PatientGroup
from converter.assemble.merge import exact_form, merge


def _plain_kept(records: list[dict]) -> dict:
    """The record kept when every record whose form differs from it is merged into it."""
    kept = records[0]
    for record in records[1:]:
        if exact_form(record) != exact_form(kept):
            kept = merge(kept, record)
    return kept


def _random_record(rnd: random.Random) -> dict:
    def pick(*options):
        return rnd.choice(options)

    def identifier() -> dict:
        item = {"system": pick("urn:a", "urn:b"), "value": pick("1", "2", "3")}
        if rnd.random() < 0.4:
            item["type"] = {"coding": [{"code": pick("MR", "PI", "PT")}]}
        if rnd.random() < 0.2:
            item["period"] = {"start": pick("2020", "2021")}
        if rnd.random() < 0.2:
            item["assigner"] = {"display": pick("A", "B")}
        if rnd.random() < 0.2:
            item["extension"] = [{"url": pick("x", "y"), "valueString": pick("p", "q")}]
        return dict(rnd.sample(sorted(item.items()), len(item)))  # keys in any order

    record: dict = {"resourceType": "Patient", "id": "p"}
    if rnd.random() < 0.8:
        record["identifier"] = [identifier() for _ in range(rnd.randint(0, 4))]
    if rnd.random() < 0.6:
        record["name"] = [{"family": pick("Doe", "Roe"), "given": [pick("J", "Jane")]}
                          for _ in range(rnd.randint(1, 2))]
    if rnd.random() < 0.4:
        record["telecom"] = [pick({"value": "1"}, {"value": "2", "use": "home"}, "odd", 1, 1.0)
                             for _ in range(rnd.randint(0, 3))]
    if rnd.random() < 0.3:
        record[pick("deceasedBoolean", "deceasedDateTime", "_deceasedBoolean")] = pick(True, "2020")
    if rnd.random() < 0.3:
        record["multipleBirthInteger"] = pick(1, 1.0, Decimal("1.0"), Decimal("1.00"), True)
    if rnd.random() < 0.3:
        record["extension"] = [{"url": "u", "valueQuantity": {"value": pick(
            1, 1.0, Decimal("1.0"), Decimal("1.00"))}} for _ in range(rnd.randint(1, 2))]
    if rnd.random() < 0.2:
        record["gender"] = pick("female", "male", ["female"])
    return dict(rnd.sample(sorted(record.items(), key=str), len(record)))


def test_a_record_of_a_form_already_merged_adds_nothing():
    rnd = random.Random(11)
    for _ in range(3000):
        versions = [_random_record(rnd) for _ in range(rnd.randint(1, 4))]
        # a stream: the versions sent again and again, in any order
        records = [rnd.choice(versions) for _ in range(rnd.randint(1, 10))]
        group = PatientGroup("k")
        for record in records:
            group.add(record, "stream")
        assert exact_form(group.resources["p"]) == exact_form(_plain_kept(records)), records


def test_a_record_replaced_behind_the_groups_back_is_compared_afresh():
    first = {"resourceType": "Organization", "id": "o", "name": "Lab"}
    other = {"resourceType": "Organization", "id": "o", "name": "Lab", "alias": ["L"]}
    group = PatientGroup("k")
    group.add(first, "a")
    group.add(dict(first), "b")  # its form is noted
    group.resources["o"] = other  # (deduplicate() replaces records so)
    group.add(dict(first), "c")
    assert group.resources["o"] == other
    group.add({**first, "alias": ["M"]}, "d")
    assert group.resources["o"]["alias"] == ["L", "M"]

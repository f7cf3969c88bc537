"""The per-call quicker forms (one message per convert() call) decide exactly as the plain ones:
group_fragments (its own source listing and one-patient shortcut), deduplicate's early return for one source, _order_key's table,
sniff's DICOMDIR test, and the hl7v2 segment table that replaced the chain of tests."""
from __future__ import annotations

import copy

from converter import convert
from converter.assemble import bundle as bundle_mod
from converter.assemble.bundle import (LEADING, TRAILING, PatientGroup, _order_key, build_bundle,
                                       deduplicate, group_fragments)
from converter.assemble.chronology import clinical_date, sort_key
from converter.fragment import Fragment
from converter.sources import sniff


def _fragments() -> list[Fragment]:
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01"}
    org = {"resourceType": "Organization", "id": "o1", "name": "Lab"}
    org_again = {"resourceType": "Organization", "id": "o1", "name": "Lab",
                 "alias": ["the lab"]}  # the same id within one fragment: merged
    obs = {"resourceType": "Observation", "id": "x1", "subject": {"reference": "urn:uuid:p1"},
           "effectiveDateTime": "2024-01-01T10:00:00+02:00"}
    obs_again = {"resourceType": "Observation", "id": "x1", "subject": {"reference":
                 "urn:uuid:p1"}, "valueString": "corrected"}  # a later statement wins
    return [Fragment("a", "hl7v2", "ADT^A01", 1, [patient, org, org_again, obs, obs_again]),
            Fragment("b", "hl7v2", "ORU^R01", 1, [copy.deepcopy(patient), copy.deepcopy(org),
                                                   {**obs, "id": "x2"}])]


def _plain_groups(fragments: list[Fragment]) -> list[PatientGroup]:
    """group_fragments without patients to rename: every resource through PatientGroup.add."""
    groups: dict[str, PatientGroup] = {}
    for frag in fragments:
        pids = [r["id"] for r in frag.resources if r["resourceType"] == "Patient"]
        key = pids[0] if pids else ""
        group = groups.setdefault(key, PatientGroup(key))
        if frag.source not in group.sources:
            group.sources.append(frag.source)
        for r in frag.resources:
            group.add(r, frag.source)
    return list(groups.values())


def test_group_fragments_keeps_what_the_plain_grouping_keeps():
    for fragments in (_fragments(), _fragments()[:1], _fragments()[1:]):
        got, _ = group_fragments(copy.deepcopy(fragments))
        want = _plain_groups(copy.deepcopy(fragments))
        assert [(g.key, g.sources, g.resources, g.origin) for g in got] == \
               [(g.key, g.sources, g.resources, g.origin) for g in want]


def test_one_source_returns_early_as_the_full_pass_would():
    group = _plain_groups(_fragments()[:1])[0]
    before = dict(group.resources)
    assert deduplicate(group, None) == []
    assert group.resources == before
    no_sources = PatientGroup("k", resources=dict(before))  # no source at all: the full pass
    assert deduplicate(no_sources, None) == [] and no_sources.resources == before
    # one source, but patients merged: not the early return, the merge is recorded
    merged = _plain_groups(_fragments()[:1])[0]
    merged.merged_patients.append(("p0", "a"))
    deduplicate(merged, None)
    assert any(r["resourceType"] == "Provenance" for r in merged.resources.values())


def test_order_key_table_agrees_with_the_plain_rule():
    def plain(resource: dict) -> tuple:
        rtype = resource["resourceType"]
        if rtype in LEADING:
            return (0, LEADING[rtype], "", "")
        if rtype in TRAILING:
            return (2, TRAILING[rtype], "", "")
        date = clinical_date(resource)
        return (1, 0 if date else 1, sort_key(date), rtype)

    types = list(LEADING) + list(TRAILING) + ["Observation", "Encounter", "Basic", ""]
    for rtype in types:
        for extra in ({}, {"effectiveDateTime": "2024-01-01"}, {"period": {"start": "2023"}}):
            resource = {"resourceType": rtype, "id": "i", **extra}
            assert _order_key(resource) == plain(resource), resource


def test_transaction_entries_carry_their_request():
    group = _plain_groups(_fragments())[0]
    tx = build_bundle(group, "transaction")
    assert all(e["request"] == bundle_mod._request(e["resource"]) for e in tx["entry"])
    assert [e["resource"] for e in tx["entry"]] == \
           [e["resource"] for e in build_bundle(group)["entry"]]


def test_sniff_names_a_dicomdir_by_its_file_name_only():
    for name in ("DICOMDIR", "disc/DICOMDIR", "disc/dicomdir", "disc/DICOMDIR/"):
        assert sniff(b"anything", name) == "dicom", name
    for name in ("DICOMDIR.txt", "disc/DICOMDIR/readme", "<bytes 1>", "", "dicomdir2"):
        assert sniff(b"MSH|^~\\&|", name) == "hl7v2", name


def test_segments_without_a_map_are_reported_and_mapped_ones_still_map():
    message = (b"MSH|^~\\&|APP|FAC|||20240101120000+0100||ADT^A01|1|P|2.5\r"
               b"EVN|A01|20240101120000+0100\r"
               b"PID|1||12345^^^HOSP^MR||DOE^JOHN||19700101|M\r"
               b"PRT|1|AD\r"
               b"ZZZ|hello\r"
               b"PV1|1|I\r"
               b"AL1|1||^Penicillin\r"
               b"NTE|1||a note under the allergy\r")
    result = convert(message, validate=False)
    types = [e["resource"]["resourceType"] for e in result.bundle["entry"]]
    assert {"Patient", "Encounter", "AllergyIntolerance", "MessageHeader", "Provenance"} <= \
        set(types)
    allergy = next(e["resource"] for e in result.bundle["entry"]
                   if e["resource"]["resourceType"] == "AllergyIntolerance")
    assert allergy["note"] == [{"text": "a note under the allergy"}]
    unmapped = [str(i) for i in result.issues if i.code == "unmapped-segment"]
    assert any("PRT segment has no mapping" in text for text in unmapped)
    assert any("Z-segment has no mapping" in text for text in unmapped)

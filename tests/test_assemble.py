"""Assembly across sources: patient matching, conflicts, de-duplication, order, determinism."""
from __future__ import annotations

from typer.testing import CliRunner

from converter import convert
from converter.assemble.patients import match, normalise
from converter.cli import app
from converter.writers.json import dumps

from conftest import ROOT, by_ref, one, resources

SAMPLES = ROOT / "samples"


def _adt(n: int, mrn: str, name: str, birth: str, sex: str, extra: str = "") -> bytes:
    return (f"MSH|^~\\&|ADT|HOSP|EHR|HOSP|202401011200+0000||ADT^A04|{n}|P|2.5\r"
            f"PID|1||{mrn}^^^HOSP&1.2.3.4&ISO^MR||{name}||{birth}|{sex}\r"
            f"PV1|1|O\r{extra}").encode()


def test_same_identifier_merges_into_one_patient():
    a = _adt(1, "77", "Doe^Jane", "19800101", "F", "AL1|1|DA|70618^Penicillin^RXNORM\r")
    b = _adt(2, "77", "DOE^JANE^Q", "19800101", "F", "AL1|1|DA|70618^Penicillin^RXNORM\r")
    result = convert([a, b])
    assert len(result.bundles) == 1
    bundle = result.bundle
    patient = one(bundle, "Patient")
    assert {n["family"] for n in patient["name"]} == {"Doe", "DOE"}  # both spellings kept
    # the same allergy from both sources: one resource, both Provenances point at it
    allergy = one(bundle, "AllergyIntolerance")
    provs = [p for p in resources(bundle, "Provenance")
             if {"reference": f"urn:uuid:{allergy['id']}"} in p["target"]]
    assert len(provs) >= 2


def test_identifier_conflict_keeps_records_apart():
    a = _adt(1, "77", "Doe^Jane", "19800101", "F")
    b = _adt(2, "77", "Doe^Jane", "19750505", "F")
    result = convert([a, b])
    assert len(result.bundles) == 2
    conflict = [i for i in result.issues if i.code == "identity-conflict"]
    assert conflict and conflict[0].severity == "error"
    assert result.exit_code == 1


def test_two_patients_split():
    result = convert([_adt(1, "1", "Doe^Jane", "19800101", "F"),
                      _adt(2, "2", "Roe^Rick", "19700101", "M")])
    assert [one(b, "Patient")["name"][0]["family"] for b in result.bundles] == ["Doe", "Roe"]


def test_demographic_match_with_a_differently_written_name():
    a = _adt(1, "77", "Müller^José", "19800101", "F")
    b = ("MSH|^~\\&|LAB|OTHER|EHR|HOSP|202401011200+0000||ADT^A04|9|P|2.5\r"
         "PID|1||X-9^^^OTHERLAB^MR||MUELLER^JOSE MARIA||19800101|F\rPV1|1|O\r").encode()
    result = convert([a, b])
    assert len(result.bundles) == 1
    assert any(i.code == "matched-by-demographics" for i in result.issues)
    ids = {i["value"] for i in one(result.bundle, "Patient")["identifier"]}
    assert ids == {"77", "X-9"}


def test_same_system_different_number_is_not_matched_by_demographics():
    result = convert([_adt(1, "77", "Doe^Jane", "19800101", "F"),
                      _adt(2, "78", "Doe^Jane", "19800101", "F")])
    assert len(result.bundles) == 2


def test_normalise_names():
    assert normalise("Müller-Lüdenscheidt") == normalise("MUELLER LUEDENSCHEIDT")
    assert normalise("José") == "jose"


def test_match_without_birth_date_never_matches_by_name():
    p1 = {"resourceType": "Patient", "id": "a", "name": [{"family": "Doe", "given": ["J"]}]}
    p2 = {"resourceType": "Patient", "id": "b", "name": [{"family": "Doe", "given": ["J"]}]}
    persons, _, _ = match([(p1, "x"), (p2, "y")])
    assert len(persons) == 2


def test_samples_are_one_person_in_chronological_order():
    result = convert(SAMPLES / "hl7v2")
    assert len(result.bundles) == 1
    entries = [e["resource"] for e in result.bundle["entry"]]
    assert entries[0]["resourceType"] == "Patient"
    from converter.assemble.chronology import clinical_date, sort_key

    dated = [sort_key(clinical_date(r)) for r in entries if clinical_date(r) and
             r["resourceType"] not in ("Provenance", "Coverage")]
    assert dated == sorted(dated)


def test_byte_identical_reruns_and_pinned_timestamp(tmp_path, monkeypatch):
    runner = CliRunner()
    args = ["convert", str(SAMPLES / "hl7v2"), "--timestamp", "2024-05-01T12:00:00Z"]
    first, second = runner.invoke(app, args), runner.invoke(app, args)
    assert first.exit_code == 0 and first.stdout == second.stdout
    assert '"timestamp": "2024-05-01T12:00:00Z"' in first.stdout
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1714564800")
    assert convert(SAMPLES / "hl7v2").bundle["timestamp"] == "2024-05-01T12:00:00Z"
    assert runner.invoke(app, ["convert", str(SAMPLES), "--timestamp", "yesterday"]).exit_code == 2


def test_patient_option_picks_one(tmp_path):
    src = tmp_path / "two.hl7"
    src.write_bytes(_adt(1, "1", "Doe^Jane", "19800101", "F") +
                    _adt(2, "2", "Roe^Rick", "19700101", "M"))
    runner = CliRunner()
    res = runner.invoke(app, ["convert", str(src), "--patient", "2"])
    assert res.exit_code == 0 and '"family": "Roe"' in res.stdout and "Doe" not in res.stdout
    assert runner.invoke(app, ["convert", str(src), "--patient", "3"]).exit_code == 2


def test_merged_practitioners_keep_references_resolving():
    a = _adt(1, "77", "Doe^Jane", "19800101", "F").replace(
        b"PV1|1|O\r", b"PV1|1|O|||||123^House^Greg^^^^^^NPI&2.16.840.1.113883.4.6&ISO\r")
    b = _adt(2, "77", "Doe^Jane", "19800101", "F").replace(
        b"PV1|1|O\r", b"PV1|1|I|||||123^HOUSE^GREGORY^^^^^^NPI&2.16.840.1.113883.4.6&ISO\r")
    result = convert([a, b])
    assert result.ok, [str(i) for i in result.issues if i.is_error]
    doctors = resources(result.bundle, "Practitioner")
    assert len(doctors) == 1
    for enc in resources(result.bundle, "Encounter"):
        assert by_ref(result.bundle, enc["participant"][0]["individual"]) is doctors[0]
    assert dumps(result.bundle) == dumps(convert([a, b]).bundle)


def test_different_numbers_without_a_system_block_a_demographic_match():
    p1 = {"resourceType": "Patient", "id": "a", "identifier": [{"value": "A1"}],
          "name": [{"family": "Doe", "given": ["Jane"]}], "birthDate": "1980-01-01"}
    p2 = {"resourceType": "Patient", "id": "b", "identifier": [{"value": "B2"}],
          "name": [{"family": "Doe", "given": ["Jane"]}], "birthDate": "1980-01-01"}
    p3 = {"resourceType": "Patient", "id": "c", "identifier": [{"value": "A1"}],
          "name": [{"family": "DOE", "given": ["J"]}], "birthDate": "1980-01-01"}
    persons, owner, _ = match([(p1, "x"), (p2, "y"), (p3, "z")])
    assert len(persons) == 2 and owner["c"] == "a" and owner["b"] == "b"


def test_parallel_conversion_gives_the_same_bytes():
    from conftest import HL7_CORPUS

    inputs = sorted((HL7_CORPUS / "ms-fhir-converter").glob("ADT-A0*.hl7")) + [
        SAMPLES / "cross-source"]
    serial, parallel = convert(inputs), convert(inputs, workers=2)
    assert [dumps(b) for b in serial.bundles] == [dumps(b) for b in parallel.bundles]
    assert [str(i) for i in serial.issues] == [str(i) for i in parallel.issues]


def test_parallel_conversion_of_one_stream_gives_the_same_bytes():
    """One stream of many messages (`cat feed.hl7 | medbundle convert - --jobs 2`) is framed here
    and mapped by this process and a worker; Bundles, issues and their order are those of a serial
    run (that the worker does take a share: tests/test_parallel.py)."""
    from conftest import HL7_CORPUS

    files = sorted(HL7_CORPUS.rglob("*.hl7"))
    stream = b"\r".join(p.read_bytes() for p in files)
    serial = convert(stream)
    parallel = convert(stream, workers=2)
    assert serial.fragments == parallel.fragments >= 40
    assert [dumps(b) for b in serial.bundles] == [dumps(b) for b in parallel.bundles]
    assert [str(i) for i in serial.issues] == [str(i) for i in parallel.issues]


def test_conversion_pauses_the_cycle_collector_only_while_it_runs():
    import gc

    data = (SAMPLES / "cross-source" / "adt.hl7").read_bytes()
    assert gc.isenabled()
    seen = []
    convert(data, on_fragment=lambda frag: seen.append(gc.isenabled()))
    assert seen == [False] and gc.isenabled()
    gc.disable()  # a caller's own choice is kept
    try:
        convert(data)
        assert not gc.isenabled()
    finally:
        gc.enable()

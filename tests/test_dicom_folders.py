"""DICOM folders made with pydicom: patients and studies kept apart, the completeness report, bad
files among good ones, DICOMDIR file-sets (missing, lower-case and unlisted files), zip archives."""
from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pydicom
import pytest
from pydicom.fileset import FileSet

from converter import convert
from converter.writers.json import dumps
from test_dicom_make import (instance, issues, structure_errors, to_bytes, uid, write)
from conftest import by_ref, one, resources


def patients_of(result) -> list[dict]:
    return [p for b in result.bundles for p in resources(b, "Patient")]


def studies_of(result) -> list[dict]:
    return [s for b in result.bundles for s in resources(b, "ImagingStudy")]


def test_two_patients_in_one_folder_are_kept_apart(tmp_path):
    for n in (1, 2):
        write(instance(patient_id="A100", name="Alpha^Anna", sex="F", study=1, number=n),
              tmp_path / "a" / f"{n}.dcm")
    write(instance(patient_id="B200", name="Beta^Bob", birth="19800505", study=2, number=1),
          tmp_path / "b.dcm")
    result = convert(str(tmp_path))
    assert result.ok and not structure_errors(result)
    assert len(result.bundles) == 2
    by_id = {p["identifier"][0]["value"]: p for p in patients_of(result)}
    assert set(by_id) == {"A100", "B200"}
    assert by_id["A100"]["name"][0] == {"family": "Alpha", "given": ["Anna"]}
    assert by_id["A100"]["gender"] == "female" and by_id["B200"]["birthDate"] == "1980-05-05"
    assert by_id["A100"]["id"] != by_id["B200"]["id"]
    for bundle in result.bundles:  # each study points at the Patient of its own Bundle
        study = one(bundle, "ImagingStudy")
        assert by_ref(bundle, study["subject"]) is one(bundle, "Patient")
    counts = {one(b, "Patient")["identifier"][0]["value"]:
              one(b, "ImagingStudy")["numberOfInstances"] for b in result.bundles}
    assert counts == {"A100": 2, "B200": 1}
    [warning] = issues(result, "multiple-patients")
    assert warning.severity == "warning"
    assert "2 different patients" in warning.message
    assert "Anna Alpha (ID A100)" in warning.message and "Bob Beta (ID B200)" in warning.message


def test_two_studies_of_one_patient_share_one_patient(tmp_path):
    write(instance(study=1, number=1, study_date="20230101", modality="CT"), tmp_path / "1.dcm")
    write(instance(study=2, number=1, study_date="20240202", modality="MR", body_part="HEAD",
                   description="MR head"), tmp_path / "2.dcm")
    result = convert(str(tmp_path))
    assert result.ok and not structure_errors(result)
    [bundle] = result.bundles
    assert len(resources(bundle, "Patient")) == 1
    studies = resources(bundle, "ImagingStudy")
    assert sorted(s["description"] for s in studies) == ["CT chest", "MR head"]
    assert {s["identifier"][0]["value"] for s in studies} == {f"urn:oid:{uid(1)}",
                                                             f"urn:oid:{uid(2)}"}
    mr = next(s for s in studies if s["description"] == "MR head")
    assert mr["modality"] == [{"system": "http://dicom.nema.org/resources/ontology/DCM",
                               "code": "MR", "display": "Magnetic Resonance"}]
    assert mr["series"][0]["bodySite"] == {"system": "http://snomed.info/sct",
                                           "code": "69536005", "display": "Head"}
    assert not issues(result, "multiple-patients")


def test_instance_number_gap_is_reported(tmp_path):
    for n in (1, 2, 5, 6, 9):
        write(instance(number=n), tmp_path / f"{n}.dcm")
    result = convert(str(tmp_path))
    assert not structure_errors(result)
    study = one(result.bundle, "ImagingStudy")
    assert study["numberOfInstances"] == 5
    assert [i["number"] for i in study["series"][0]["instance"]] == [1, 2, 5, 6, 9]
    [gap] = issues(result, "instance-gap")
    assert gap.severity == "warning" and gap.location.tag == "(0020,0013)"
    assert "Instance Numbers 3-4, 7-8 are missing (4 of 9 between 1 and 9)" in gap.message
    summary = [i.message for i in issues(result, "completeness")]
    assert any("5 instances, Instance Numbers 1-2, 5-6, 9" in m for m in summary)


def test_duplicate_instance_is_listed_once_and_reported(tmp_path):
    data = to_bytes(instance(number=1))
    (tmp_path / "a.dcm").write_bytes(data)
    (tmp_path / "copy of a.dcm").write_bytes(data)
    write(instance(number=2), tmp_path / "b.dcm")
    result = convert(str(tmp_path))
    assert result.ok and not structure_errors(result)
    study = one(result.bundle, "ImagingStudy")
    assert study["numberOfInstances"] == 2
    assert [i["uid"] for i in study["series"][0]["instance"]] == [uid(1, 1, 1), uid(1, 1, 2)]
    [dup] = issues(result, "duplicate-instance")
    assert dup.location.source == str(tmp_path / "copy of a.dcm")
    assert str(tmp_path / "a.dcm") in dup.message and uid(1, 1, 1) in dup.message


def test_same_study_uid_for_two_patients_is_not_merged(tmp_path):
    write(instance(patient_id="X1", name="One^Ann", number=1), tmp_path / "1.dcm")
    write(instance(patient_id="X2", name="Two^Ben", number=2), tmp_path / "2.dcm")
    result = convert(str(tmp_path))
    assert not structure_errors(result)
    studies = studies_of(result)
    assert len(studies) == 2 and studies[0]["id"] != studies[1]["id"]
    assert all(s["numberOfInstances"] == 1 for s in studies)
    conflicts = [i for i in issues(result, "identity-conflict") if i.severity == "error"]
    assert len(conflicts) == 2 and all(uid(1) in i.message for i in conflicts)


def test_same_patient_id_with_another_birth_date_is_another_patient(tmp_path):
    write(instance(patient_id="SAME", name="Lee^Kim", birth="19500101", study=1),
          tmp_path / "1.dcm")
    write(instance(patient_id="SAME", name="Park^Min", birth="19990909", study=2),
          tmp_path / "2.dcm")
    write(instance(patient_id="SAME", name="Lee^Kim", birth="", study=3), tmp_path / "3.dcm")
    result = convert(str(tmp_path))
    assert not structure_errors(result)
    assert len(result.bundles) == 2
    births = sorted(p.get("birthDate", "") for p in patients_of(result))
    assert births == ["1950-01-01", "1999-09-09"]
    lee = next(b for b in result.bundles if one(b, "Patient").get("birthDate") == "1950-01-01")
    assert len(resources(lee, "ImagingStudy")) == 2  # the file without a birth date joins Lee
    [conflict] = issues(result, "identity-conflict")
    assert "SAME" in conflict.message and conflict.severity == "warning"


def test_chinese_name_in_gb18030(tmp_path):
    write(instance(name="Wang^XiaoDong=王^小东=", charset="GB18030", patient_id="CN1"),
          tmp_path / "cn.dcm")
    assert "王".encode("gb18030") in (tmp_path / "cn.dcm").read_bytes()
    result = convert(str(tmp_path))
    assert result.ok and not structure_errors(result)
    names = one(result.bundle, "Patient")["name"]
    rep = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"
    assert names == [
        {"family": "Wang", "given": ["XiaoDong"], "extension": [{"url": rep, "valueCode": "ABC"}]},
        {"family": "王", "given": ["小东"], "extension": [{"url": rep, "valueCode": "IDE"}]}]
    text = dumps(result.bundle).decode("utf-8")
    assert "王" in text and "\\u738b" not in text


def test_name_without_character_set_in_utf8_is_read_and_reported(tmp_path):
    write(instance(name="Müller^Jörg", charset="ISO_IR 192", patient_id="DE1"),
          tmp_path / "x.dcm")
    data = (tmp_path / "x.dcm").read_bytes()
    charset = b"\x08\x00\x05\x00CS\x0a\x00ISO_IR 192"
    assert charset in data and "Jörg".encode() in data
    (tmp_path / "x.dcm").write_bytes(data.replace(charset, b""))  # UTF-8, but not declared
    result = convert(str(tmp_path))
    family = one(result.bundle, "Patient")["name"][0]["family"]
    assert family == "Müller"
    [note] = [i for i in issues(result, "bad-encoding") if "UTF-8" in i.message]
    assert note.location.tag == "(0010,0010)"


def test_truncated_and_non_dicom_files_do_not_stop_the_folder(tmp_path):
    for n in (1, 2, 3):
        write(instance(number=n, pixels=64), tmp_path / f"{n}.dcm")
    whole = (tmp_path / "3.dcm").read_bytes()
    (tmp_path / "3.dcm").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "viewer.exe").write_bytes(b"MZ\x90\x00" + b"\x00" * 200)
    (tmp_path / "readme.txt").write_text("Open the viewer to see the images")
    result = convert(str(tmp_path))
    assert not structure_errors(result)
    [cut] = issues(result, "truncated")
    assert cut.severity == "error" and cut.location.source == str(tmp_path / "3.dcm")
    assert f"of {len(whole) // 2}" in cut.message
    skipped = {Path(i.location.source).name for i in issues(result, "skipped-file")}
    assert {"viewer.exe", "readme.txt"} <= skipped
    study = one(result.bundle, "ImagingStudy")
    assert study["numberOfInstances"] == 2
    assert [i["number"] for i in study["series"][0]["instance"]] == [1, 2]


def test_empty_folder_is_reported(tmp_path):
    result = convert(str(tmp_path))
    assert not result.bundles
    [empty] = issues(result, "empty-input")
    assert empty.location.source == str(tmp_path) and empty.severity == "fatal"


def test_times_keep_the_dicom_offset_or_are_cut_to_the_date(tmp_path):
    write(instance(study=1, tz="+0800", study_time="093015.25"), tmp_path / "tz.dcm")
    write(instance(study=2, study_time="093015"), tmp_path / "notz.dcm")
    result = convert(str(tmp_path))
    assert result.ok and not structure_errors(result)
    started = {s["identifier"][0]["value"]: s["started"] for s in studies_of(result)}
    assert started == {f"urn:oid:{uid(1)}": "2024-01-02T09:30:15.25+08:00",
                       f"urn:oid:{uid(2)}": "2024-01-02"}
    [cut] = issues(result, "timezone-assumed")
    assert cut.severity == "information" and "20240102 093015" in cut.message
    assert cut.location.source == str(tmp_path / "notz.dcm")


def test_series_attributes_and_people(tmp_path):
    write(instance(number=1, laterality="L", body_part="BREAST", modality="MG",
                   ReferringPhysicianName="Smith^Jane^^Dr",
                   NameOfPhysiciansReadingStudy=["Reader^Rita", "Second^Sam"],
                   PerformingPhysicianName="Tech^Tom", InstitutionName="General Hospital",
                   InstitutionalDepartmentName="Radiology", ReasonForTheRequestedProcedure="lump",
                   tz="-0500"),
          tmp_path / "mg.dcm")
    result = convert(str(tmp_path))
    assert result.ok and not structure_errors(result)
    bundle = result.bundle
    study = one(bundle, "ImagingStudy")
    series = study["series"][0]
    assert series["laterality"] == {"system": "http://snomed.info/sct", "code": "419161000",
                                     "display": "Unilateral left"}
    assert series["bodySite"]["code"] == "76752008"
    assert by_ref(bundle, study["referrer"])["name"] == [{"family": "Smith", "given": ["Jane"],
                                                          "prefix": ["Dr"]}]
    assert [by_ref(bundle, r)["name"][0]["family"] for r in study["interpreter"]] == \
        ["Reader", "Second"]
    [performer] = series["performer"]
    assert performer["function"]["coding"][0]["code"] == "PRF"
    assert by_ref(bundle, performer["actor"])["name"][0]["family"] == "Tech"
    location = by_ref(bundle, study["location"])
    assert location["name"] == "Radiology"
    assert by_ref(bundle, location["managingOrganization"])["name"] == "General Hospital"
    assert study["reasonCode"] == [{"text": "lump"}]
    assert study["identifier"][1]["value"] == "ACC1"
    assert study["identifier"][1]["type"]["coding"][0]["code"] == "ACSN"
    assert series["started"] == "2024-01-02T10:15:00-05:00"


def _write_fileset(folder: Path, count: int = 3) -> list[Path]:
    fs = FileSet()
    for n in range(1, count + 1):
        fs.add(instance(number=n))
    fs.write(folder)
    return sorted(p for p in folder.rglob("IM*"))


def test_dicomdir_missing_referenced_file(tmp_path):
    files = _write_fileset(tmp_path)
    gone = files[1]
    gone_id = str(gone.relative_to(tmp_path)).replace("\\", "/")
    gone.unlink()
    result = convert(str(tmp_path / "DICOMDIR"))
    assert not structure_errors(result)
    [missing] = issues(result, "not-found")
    assert missing.severity == "error"
    assert missing.location.source == str(tmp_path / "DICOMDIR")
    assert gone_id in missing.message and uid(1) in missing.message
    study = one(result.bundle, "ImagingStudy")
    assert study["numberOfInstances"] == 2


def test_dicomdir_references_are_case_insensitive_and_followed_from_the_dicomdir(tmp_path):
    disc = tmp_path / "disc"
    _write_fileset(disc)
    lower = tmp_path / "copy"
    for path in sorted(disc.rglob("*")):
        if path.is_file():
            target = lower / str(path.relative_to(disc)).lower()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    dicomdir = lower / "dicomdir"
    assert (lower / "pt000000/st000000/se000000/im000000").exists()
    result = convert(str(dicomdir))  # only the DICOMDIR is named: the files are found from it
    assert result.ok and not structure_errors(result)
    study = one(result.bundle, "ImagingStudy")
    assert study["numberOfInstances"] == 3
    assert not issues(result, "not-found") and not issues(result, "unreferenced-file")
    provenance = one(result.bundle, "Provenance")
    shown = [e["what"]["display"] for e in provenance["entity"]]
    assert str(dicomdir) in shown
    assert str(lower / "pt000000/st000000/se000000/im000002") in shown


def test_dicomdir_record_not_in_use_and_unreferenced_files(tmp_path):
    files = _write_fileset(tmp_path)
    raw = bytearray((tmp_path / "DICOMDIR").read_bytes())
    ds = pydicom.dcmread(tmp_path / "DICOMDIR")
    record = next(r for r in ds.DirectoryRecordSequence
                  if "ReferencedFileID" in r and r.ReferencedFileID[-1] == files[0].name)
    flag = raw.index(b"\x04\x00\x10\x14US\x02\x00\xff\xff", record.seq_item_tell)
    raw[flag + 8: flag + 10] = b"\x00\x00"  # In-use Flag 0000H: the record is not in use
    (tmp_path / "DICOMDIR").write_bytes(bytes(raw))
    write(instance(number=7), tmp_path / "EXTRA" / "IM7")
    result = convert(str(tmp_path))
    assert result.ok and not structure_errors(result)
    [skipped] = issues(result, "dicomdir-record")
    assert "1 directory records are marked not in use" in skipped.message
    unlisted = sorted(Path(i.location.source).name for i in issues(result, "unreferenced-file"))
    assert unlisted == sorted([files[0].name, "IM7"])
    assert one(result.bundle, "ImagingStudy")["numberOfInstances"] == 4  # converted all the same


def test_zip_of_a_disc(tmp_path):
    disc = tmp_path / "disc"
    files = _write_fileset(disc, count=4)
    files[3].unlink()
    (disc / "AUTORUN.INF").write_text("[autorun]\nopen=viewer.exe\n")
    archive = tmp_path / "disc.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(disc.rglob("*")):
            if path.is_file():
                zf.write(path, "CD/" + str(path.relative_to(disc)))
    result = convert(str(archive))
    assert not structure_errors(result)
    study = one(result.bundle, "ImagingStudy")
    assert study["numberOfInstances"] == 3
    [missing] = issues(result, "not-found")
    assert missing.location.source == f"{archive}!CD/DICOMDIR"
    assert files[3].name in missing.message
    assert not issues(result, "unreferenced-file")


def test_same_input_same_output(tmp_path):
    for n in (1, 2):
        write(instance(number=n, tz="+0100"), tmp_path / f"{n}.dcm")
    write(instance(patient_id="P2", study=2, number=1), tmp_path / "p2.dcm")
    first = [dumps(b) for b in convert(str(tmp_path)).bundles]
    second = [dumps(b) for b in convert(str(tmp_path)).bundles]
    assert first == second
    assert json.loads(first[0])["entry"][0]["resource"]["resourceType"] == "Patient"


@pytest.mark.parametrize("pixels", [8, 1024])
def test_pixel_data_is_never_read(tmp_path, pixels):
    import tracemalloc

    from converter.readers.dicom import read
    from converter.sources import discover

    write(instance(number=1, pixels=pixels), tmp_path / "big.dcm")
    assert (tmp_path / "big.dcm").stat().st_size > pixels * pixels * 2
    sources, _ = discover(str(tmp_path))
    tracemalloc.start()
    fragments = list(read(sources))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert fragments[0].resources
    assert peak < 1_500_000  # a 2 MiB image costs what an 8x8 one costs


def test_same_patient_from_hl7_and_dicom_lands_in_one_bundle(tmp_path):
    """Patient ID + issuer key the Patient as PID-3 value + authority does in the HL7 v2 reader."""
    write(instance(patient_id="12345", issuer="HOSP", name="Doe^Jane", sex="F",
                   birth="19800101"), tmp_path / "img.dcm")
    (tmp_path / "adt.hl7").write_text(
        "MSH|^~\\&|HIS|HOSP|MB|MB|20240102101500+0100||ADT^A01^ADT_A01|MSG1|P|2.5\r"
        "EVN|A01|20240102101500+0100\rPID|1||12345^^^HOSP^MR||Doe^Jane||19800101|F\rPV1|1|O\r")
    result = convert(str(tmp_path))
    assert result.ok and not structure_errors(result)
    [bundle] = result.bundles
    assert len(resources(bundle, "Patient")) == 1
    assert {r["resourceType"] for r in resources(bundle)} >= {"ImagingStudy", "Encounter"}
    assert one(bundle, "ImagingStudy")["subject"]["reference"] == \
        f"urn:uuid:{one(bundle, 'Patient')['id']}"


def test_files_that_name_no_patient_stay_one_patient_per_study(tmp_path):
    for study in (1, 2):
        write(instance(patient_id="", name="", birth="", study=study), tmp_path / f"{study}.dcm")
    result = convert(str(tmp_path))
    assert not structure_errors(result)
    assert len(result.bundles) == 2  # nothing says the two studies are one person's
    assert len(issues(result, "missing-field")) == 2


def test_provenance_time_is_pinned_or_absent_never_the_clock_or_file_time(tmp_path, monkeypatch):
    import os

    path = write(instance(number=1), tmp_path / "a.dcm")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    provenance = one(convert(str(tmp_path)).bundle, "Provenance")
    assert "recorded" not in provenance  # file times change with every copy: not used
    assert provenance["_recorded"]["extension"][0]["valueCode"] == "unknown"
    assert provenance["entity"][0]["what"]["display"] == str(path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert one(convert(str(tmp_path)).bundle, "Provenance")["recorded"] == "1970-01-01T00:00:00Z"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    from_bytes = convert(path.read_bytes())  # bytes: the same Provenance, files named as given
    assert len(resources(from_bytes.bundle, "Provenance")) == 1


def test_patient_id_issuers(tmp_path):
    from pydicom.dataset import Dataset

    qualifier = Dataset()
    qualifier.UniversalEntityID, qualifier.UniversalEntityIDType = "2.16.840.1.113883.4.1", "ISO"
    qualifier.IdentifierTypeCode = "SS"
    other = Dataset()
    other.PatientID, other.IssuerOfPatientID = "998877", "1.2.3.4.5"
    write(instance(patient_id="123-45-6789", IssuerOfPatientIDQualifiersSequence=[qualifier],
                   OtherPatientIDsSequence=[other]), tmp_path / "a.dcm")
    write(instance(patient_id="H77", issuer="St Elsewhere", study=2), tmp_path / "b.dcm")
    result = convert(str(tmp_path))
    assert result.ok and not structure_errors(result)
    identifiers = sorted((i.get("system", ""), i["value"], i.get("assigner", {}).get("display"))
                         for p in patients_of(result) for i in p["identifier"])
    assert identifiers == [
        ("", "H77", "St Elsewhere"),  # a named issuer with no URI: the assigner
        ("http://hl7.org/fhir/sid/us-ssn", "123-45-6789", None),  # OID -> canonical URI
        ("urn:oid:1.2.3.4.5", "998877", None)]
    ssn = next(i for p in patients_of(result) for i in p["identifier"] if "us-ssn" in
               i.get("system", ""))
    assert ssn["type"]["coding"][0]["code"] == "SS"


def test_unknown_character_set_is_reported_on_the_file(tmp_path):
    ds = instance(name="Jose^Maria", charset="ISO_IR 100", patient_id="ES1")
    path = write(ds, tmp_path / "es.dcm")
    data = path.read_bytes().replace(b"ISO_IR 100", b"ISO_IR 999")
    path.write_bytes(data)
    result = convert(str(tmp_path))
    assert not structure_errors(result)
    assert one(result.bundle, "Patient")["name"][0]["family"] == "Jose"
    [bad] = [i for i in issues(result, "bad-encoding") if "ISO_IR 999" in i.message]
    assert bad.location.source == str(path) and bad.location.tag == "(0008,0005)"

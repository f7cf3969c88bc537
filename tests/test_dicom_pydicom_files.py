"""The DICOM files that ship with pydicom, read offline: DICOMDIR file-sets (every variant under
dicomdirtests/), character sets, Structured Reports, single images and truncated files."""
from __future__ import annotations

import base64
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from converter import convert
from test_dicom_make import issues, structure_errors
from conftest import by_ref, one, resources

TEST_FILES = Path(get_testdata_file("CT_small.dcm", download=False)).parent
DICOMDIRS = TEST_FILES / "dicomdirtests"
CHARSETS = TEST_FILES.parent / "charset_files"
REP = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"

# What the file-set under dicomdirtests/ holds: patient -> {study description: instances}.
FILESET = {
    "77654033": {"CT, HEAD/BRAIN WO CONTRAST": 4, "XR C Spine Comp Min 4 Views": 3},
    "98890234": {None: 7, "Brain": 4, "Brain-MRA": 11, "Carotids": 2},
}


def _fileset_summary(result) -> dict:
    out = {}
    for bundle in result.bundles:
        pid = one(bundle, "Patient")["identifier"][0]["value"]
        out[pid] = {s.get("description"): s["numberOfInstances"]
                    for s in resources(bundle, "ImagingStudy")}
    return out


def _instance_uids(result) -> set[str]:
    return {i["uid"] for b in result.bundles for s in resources(b, "ImagingStudy")
            for series in s["series"] for i in series["instance"]}


@pytest.mark.parametrize("variant", ["DICOMDIR", "DICOMDIR-bigEnd", "DICOMDIR-implicit",
                                     "DICOMDIR-nooffset", "DICOMDIR-reordered",
                                     "DICOMDIR-nopatient"])
def test_every_dicomdir_variant_finds_the_same_31_instances(tmp_path, variant):
    # Copy the file-set with only this DICOMDIR, named DICOMDIR as on a disc.
    disc = tmp_path / "disc"
    for folder in ("77654033", "98890001", "98892001", "98892003"):
        if (DICOMDIRS / folder).exists():
            shutil.copytree(DICOMDIRS / folder, disc / folder)
    shutil.copy(DICOMDIRS / variant, disc / "DICOMDIR")
    result = convert(str(disc / "DICOMDIR"))
    assert result.ok and not structure_errors(result)
    assert _fileset_summary(result) == FILESET
    assert len(_instance_uids(result)) == 31
    assert not issues(result, "not-found") and not issues(result, "unreferenced-file")
    assert not issues(result, "uid-mismatch")
    [many] = issues(result, "multiple-patients")
    assert "Archibald Doe (ID 77654033)" in many.message
    assert "Peter Doe (ID 98890234)" in many.message


def test_dicomdir_mapped_values():
    result = convert(str(DICOMDIRS / "DICOMDIR"))
    archibald = next(b for b in result.bundles
                     if one(b, "Patient")["identifier"][0]["value"] == "77654033")
    patient = one(archibald, "Patient")
    assert patient["name"] == [{"family": "Doe", "given": ["Archibald"]}]
    assert patient["_birthDate"]["extension"][0]["valueCode"] == "unknown"  # empty in the files
    spine = next(s for s in resources(archibald, "ImagingStudy")
                 if s["description"] == "XR C Spine Comp Min 4 Views")
    assert spine["started"] == "2001-01-01T00:00:00+00:00"  # Timezone Offset From UTC +0000
    assert spine["numberOfSeries"] == 3
    assert [s["number"] for s in spine["series"]] == [1, 2, 3]
    assert {s["bodySite"]["code"] for s in spine["series"]} == {"122494005"}  # CSPINE
    assert spine["modality"][0]["code"] == "CR"
    assert spine["series"][0]["instance"][0]["sopClass"] == {
        "system": "urn:ietf:rfc:3986", "code": "urn:oid:1.2.840.10008.5.1.4.1.1.1"}
    ct = next(s for s in resources(archibald, "ImagingStudy") if s["description"].startswith("CT"))
    assert [i["number"] for i in ct["series"][0]["instance"]] == [18, 180, 181, 182]
    gaps = [i for i in issues(result, "instance-gap") if "Routine Brain" in i.message]
    assert len(gaps) == 1 and "Instance Numbers 19-179 are missing" in gaps[0].message
    assert any("de-identified" in i.message for i in issues(result, "completeness"))


def test_folder_with_several_file_sets():
    result = convert(str(DICOMDIRS))
    assert result.ok and not structure_errors(result)
    assert len(result.bundles) == 3  # the two Doe patients and TINY_ALPHA's Jan Citizen
    assert len(_instance_uids(result)) == 31 + 50
    assert not issues(result, "unreferenced-file") and not issues(result, "not-found")
    assert "3 different patients" in issues(result, "multiple-patients")[0].message


def test_tiny_alpha_file_set():
    result = convert(str(DICOMDIRS / "TINY_ALPHA" / "DICOMDIR"))
    assert result.ok and not structure_errors(result)
    study = one(result.bundle, "ImagingStudy")
    assert study["numberOfInstances"] == 50 and study["description"] == "Testing File-set"
    assert [i["number"] for i in study["series"][0]["instance"]] == list(range(50))
    assert not issues(result, "instance-gap")
    assert study["started"] == "2020-09-13"  # no Timezone Offset From UTC: date only
    assert issues(result, "timezone-assumed")
    [empty] = issues(result, "truncated")  # the TINY_ALPHA images were written without pixels
    assert empty.severity == "warning" and "50 image instances without Pixel Data" in empty.message
    assert one(result.bundle, "Patient")["name"] == [{"family": "Citizen", "given": ["Jan"]}]


def test_empty_dicomdir():
    result = convert(str(DICOMDIRS / "DICOMDIR-empty.dcm"))
    assert not result.bundles and result.ok


@pytest.mark.parametrize("name, groups", [
    # ISO 2022 IR 87; ISO 2022 IR 13 + IR 87; ISO_IR 192; GB18030; ISO 2022 IR 149
    ("chrH31.dcm", [("Yamada", "Tarou"), ("山田", "太郎"), ("やまだ", "たろう")]),
    ("chrH32.dcm", [("ﾔﾏﾀﾞ", "ﾀﾛｳ"), ("山田", "太郎"), ("やまだ", "たろう")]),
    ("chrX1.dcm", [("Wang", "XiaoDong"), ("王", "小東")]),
    ("chrX2.dcm", [("Wang", "XiaoDong"), ("王", "小东")]),
    ("chrI2.dcm", [("Hong", "Gildong"), ("洪", "吉洞"), ("홍", "길동")]),
])
def test_names_in_every_character_set(name, groups):
    result = convert(str(CHARSETS / name))
    assert not structure_errors(result)
    names = one(result.bundle, "Patient")["name"]
    assert [(n["family"], n["given"][0]) for n in names] == groups
    assert [n["extension"][0]["valueCode"] for n in names] == ["ABC", "IDE", "SYB"][:len(groups)]
    assert not issues(result, "bad-encoding")


@pytest.mark.parametrize("name, family", [
    ("chrArab.dcm", "قباني"), ("chrGreek.dcm", "Διονυσιος"), ("chrRuss.dcm", "Люкceмбypг"),
    ("chrGerm.dcm", "Äneas"), ("chrHbrw.dcm", "שרון"), ("chrKoreanMulti.dcm", "김희중")])
def test_single_byte_and_korean_names(name, family):
    result = convert(str(CHARSETS / name))
    assert not structure_errors(result)
    assert one(result.bundle, "Patient")["name"][0]["family"] == family


def test_comprehensive_sr_to_diagnostic_report():
    result = convert(get_testdata_file("test-SR.dcm", download=False))
    assert result.ok and not structure_errors(result)
    bundle = result.bundle
    report = one(bundle, "DiagnosticReport")
    assert report["status"] == "final"  # COMPLETE + VERIFIED
    assert report["code"]["coding"][0] == {"code": "1111", "display": "Diagnosis"}  # scheme TEST
    assert by_ref(bundle, report["imagingStudy"][0])["resourceType"] == "ImagingStudy"
    observations = [by_ref(bundle, r) for r in report["result"]]
    assert len(observations) == 7
    values = [o.get("valueString") or o["valueQuantity"]["value"] for o in observations]
    assert values == ["A mass of", Decimal("3"), "was detected.", "A mass of", Decimal("3"),
                      "was detected.", "Sample Text\rA\nB\r\nC"]
    # The private unit scheme 99_OFFIS_DCMTK is named by its Coding Scheme UID in the item
    assert observations[1]["valueQuantity"] == {
        "value": Decimal("3"), "unit": "Length Unit",
        "system": "urn:oid:1.2.276.0.7230010.3.0.0.1", "code": "cm"}
    assert [c["valueCodeableConcept"]["coding"][0]["display"]
            for c in observations[0]["component"]] == ["Sample Code 1", "Sample Code 2"]
    assert all(o["status"] == "final" and o["subject"] == report["subject"] for o in observations)
    text = base64.b64decode(report["presentedForm"][0]["data"]).decode("utf-8")
    assert "CONTAINS IMAGE 1.2.3.4.5.0" in text and "HAS PROPERTIES SCOORD" in text
    [rest] = [i for i in issues(result, "unmapped-field") if "SR content items" in i.message]
    assert "1 SCOORD" in rest.message and "2 IMAGE" in rest.message


def test_basic_text_sr_partial_and_unverified():
    result = convert(get_testdata_file("reportsi.dcm", download=False))
    assert result.ok and not structure_errors(result)
    report = one(result.bundle, "DiagnosticReport")
    assert report["status"] == "partial"
    # The scheme is declared by the file itself (Coding Scheme Identification Sequence).
    assert report["code"]["coding"][0]["system"] == "urn:oid:1.2.276.0.7230010.3.0.0.1"
    [obs] = resources(result.bundle, "Observation")
    assert obs["status"] == "preliminary" and obs["valueString"] == "Enter text"


@pytest.mark.parametrize("name, cut_at", [("MR_truncated.dcm", 9630),
                                          ("rtplan_truncated.dcm", 2129)])
def test_truncated_files(name, cut_at):
    path = get_testdata_file(name, download=False)
    result = convert(path)
    assert not result.bundles
    [cut] = issues(result, "truncated")
    assert cut.severity == "error" and cut.location.source == path
    assert f"at byte {cut_at} of {cut_at}" in cut.message


@pytest.mark.parametrize("name, expected", [
    ("CT_small.dcm", ("CT", "2004-01-19T07:27:30-05:00", 1)),
    ("MR_small.dcm", ("MR", "2004-08-26T18:50:59-04:00", 1)),
    ("JPEG2000.dcm", ("NM", "2004-08-26T18:50:59-04:00", 1)),
    ("rtplan.dcm", ("RTPLAN", "2003-07-16", 1)),
    ("ExplVR_LitEndNoMeta.dcm", ("RTPLAN", "2015-05-15", 1)),  # no preamble, no meta
    ("waveform_ecg.dcm", ("ECG", "2013-01-25", 1)),
])
def test_single_files(name, expected):
    result = convert(get_testdata_file(name, download=False))
    assert result.ok and not structure_errors(result)
    study = one(result.bundle, "ImagingStudy")
    modality, started, count = expected
    assert (study["series"][0]["modality"]["code"], study.get("started"),
            study["numberOfInstances"]) == (modality, started, count)


def test_whole_test_folder_converts_what_it_can():
    """Every shipped file in one folder: bad ones are reported, the others converted."""
    result = convert(str(TEST_FILES))
    assert not structure_errors(result)
    bad = {Path(i.location.source).name for i in result.issues
           if i.code in ("truncated", "unreadable") and i.is_error}
    assert {"MR_truncated.dcm", "rtplan_truncated.dcm"} <= bad
    assert "CT_small.dcm" not in bad and "MR_small_RLE.dcm" not in bad
    assert len(result.bundles) > 20
    assert not issues(result, "internal")

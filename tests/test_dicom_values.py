"""DICOM values in FHIR form: dates, times and offsets, Person Names, numbering gaps, file keys."""
from __future__ import annotations

import pytest

from converter.readers.dicom.completeness import missing_numbers, ranges
from converter.readers.dicom.dicomdir import source_key, under
from converter.readers.dicom.names import DecodedName, display, human_names
from converter.readers.dicom.values import (fhir_date, fhir_datetime, fhir_dt, fhir_offset,
                                            fhir_time, is_uid)
from converter.sources import Source


@pytest.mark.parametrize("da, tm, tz, expected", [
    ("20240102", "101500", "+0800", ("2024-01-02T10:15:00+08:00", "")),
    ("20240102", "1015", "-0330", ("2024-01-02T10:15:00-03:30", "")),
    ("20240102", "10", "+0000", ("2024-01-02T10:00:00+00:00", "")),
    ("20240102", "101500.123456", "+0100", ("2024-01-02T10:15:00.123456+01:00", "")),
    ("20240102", "10:15:00", "+0100", ("2024-01-02T10:15:00+01:00", "")),  # ACR-NEMA style
    ("2024.01.02", "", "", ("2024-01-02", "")),
    ("20240102", "101500", "", ("2024-01-02", "cut")),  # never the host's zone
    ("20240102", "101500", "0800", ("2024-01-02", "cut")),  # an offset without its sign
    ("20241302", "101500", "+0100", (None, "invalid")),
    ("20240102", "251500", "+0100", ("2024-01-02", "invalid")),
    ("", "101500", "+0100", (None, "none")),
])
def test_date_and_time(da, tm, tz, expected):
    assert fhir_datetime(da, tm, tz) == expected


@pytest.mark.parametrize("dt, tz, expected", [
    ("20240102101500+0900", "", ("2024-01-02T10:15:00+09:00", "")),
    ("20240102101500", "-0500", ("2024-01-02T10:15:00-05:00", "")),
    ("20240102101500", "", ("2024-01-02", "cut")),
    ("2024", "", ("2024", "")),
    ("202401", "", ("2024-01", "")),
    ("20240102", "", ("2024-01-02", "")),
    ("garbage", "", (None, "invalid")),
])
def test_dicom_dt(dt, tz, expected):
    assert fhir_dt(dt, tz) == expected


def test_small_value_helpers():
    assert fhir_date("19991231") == "1999-12-31" and fhir_date("1999") is None
    assert fhir_offset("+1400") == "+14:00" and fhir_offset("+1500") is None
    assert fhir_time("0930") == "09:30:00" and fhir_time("9") is None
    assert is_uid("1.2.840.10008.5.1.4.1.1.2") and not is_uid("1.2 3") and not is_uid("1" * 65)


def test_person_name_groups_and_components():
    name = DecodedName(("Yamada^Tarou^^Dr^Jr", "山田^太郎", "やまだ^たろう", "extra"))
    human = human_names(name)
    assert human[0] == {"family": "Yamada", "given": ["Tarou"], "prefix": ["Dr"],
                        "suffix": ["Jr"], "extension": [
                            {"url": "http://hl7.org/fhir/StructureDefinition/"
                                    "iso21090-EN-representation", "valueCode": "ABC"}]}
    assert [h["extension"][0]["valueCode"] for h in human[:3]] == ["ABC", "IDE", "SYB"]
    assert human[3] == {"family": "extra"}  # a fourth group: another name, not labelled
    assert display(name) == "Tarou Yamada"
    assert display(DecodedName(("", "王^小东"))) == "王小东"
    single = human_names(DecodedName(("Smith^John^Paul",)))
    assert single == [{"family": "Smith", "given": ["John", "Paul"]}]  # one group: no label


def test_number_ranges_and_gaps():
    assert ranges([1, 2, 3, 7, 9, 10]) == "1-3, 7, 9-10"
    assert missing_numbers([5, 1, 2, 9]) == [3, 4, 6, 7, 8]
    assert missing_numbers([]) == [] and missing_numbers([4]) == []


def test_file_keys_ignore_case_and_iso9660_versions(tmp_path):
    upper = source_key(Source("a", "dicom", path=tmp_path / "DISC" / "IM000001;1"))
    lower = source_key(Source("b", "dicom", path=tmp_path / "disc" / "im000001"))
    assert upper == lower
    member = source_key(Source(f"{tmp_path}/cd.zip!CD/PT0/IM1", "dicom", data=b""))
    root = source_key(Source(f"{tmp_path}/cd.zip!CD/DICOMDIR", "dicom", data=b""))
    assert member is not None and root is not None
    assert under(member, root.rsplit("/", 1)[0])
    assert source_key(Source("<bytes 1>", "dicom", data=b"")) is None

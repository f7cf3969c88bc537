"""Conventional -> SI conversion: factors derived from molar masses agree with published SI tables,
and the values a clinician abroad reads are the right ones."""
from __future__ import annotations

from decimal import Decimal

import pytest

from converter.summary import units
from converter.summary.units import to_si


def q(value: str, unit: str, code: str | None = None) -> dict:
    return {"value": Decimal(value), "unit": unit, "system": "http://unitsofmeasure.org",
            "code": code or unit}


def test_every_row_derives_a_factor_that_matches_the_published_one():
    rows = units.all_rows()
    assert len(rows) >= 28  # every analyte of STANDARDS.md section 5
    for row in rows:
        assert row.published_factor is not None, row.loinc
        assert abs(row.factor / row.published_factor - 1) < Decimal("0.005"), \
            (row.loinc, row.analyte, row.factor, row.published_factor)


@pytest.mark.parametrize("loinc,value,unit,si,si_unit,si_loinc", [
    ("2345-7", "126", "mg/dL", "7.0", "mmol/L", "14749-6"),      # glucose: 126 / 18.016
    ("2345-7", "100", "mg/dl", "5.6", "mmol/L", "14749-6"),      # lower-case dl as some labs send it
    ("2339-0", "90", "mg/dL", "5.0", "mmol/L", "15074-8"),       # blood glucose has its own codes
    ("2160-0", "1.10", "mg/dL", "97", "µmol/L", "14682-9"),     # creatinine x 88.4
    ("2093-3", "200", "mg/dL", "5.17", "mmol/L", "14647-2"),     # cholesterol
    ("2571-8", "150", "mg/dL", "1.69", "mmol/L", "14927-8"),     # triglycerides
    ("3094-0", "14", "mg/dL", "5.0", "mmol/L", "22664-7"),       # BUN -> urea: x 0.357, not 0.714
    ("3091-6", "30", "mg/dL", "5.0", "mmol/L", "22664-7"),       # urea as urea
    ("17861-6", "9.5", "mg/dL", "2.37", "mmol/L", "2000-8"),     # calcium
    ("1975-2", "1.2", "mg/dL", "21", "µmol/L", "14631-6"),      # bilirubin
    ("3084-1", "6.0", "mg/dL", "357", "µmol/L", "14933-6"),     # uric acid
    ("2498-4", "100", "ug/dL", "17.9", "µmol/L", "14798-3"),    # iron
    ("2132-9", "400", "pg/mL", "295", "pmol/L", "14685-2"),      # vitamin B12
    ("1989-3", "30", "ng/mL", "75", "nmol/L", "14635-7"),        # 25-OH vitamin D3
    ("3024-7", "1.2", "ng/dL", "15.4", "pmol/L", "14920-3"),     # free T4
    ("2951-2", "140", "mEq/L", "140", "mmol/L", ""),             # sodium: same code, same number
])
def test_conversions(loinc, value, unit, si, si_unit, si_loinc):
    got = to_si({loinc}, q(value, unit))
    assert got is not None
    assert (got.value, got.unit, got.loinc) == (si, si_unit, si_loinc)


def test_hemoglobin_is_a_scale_change_and_keeps_its_code():
    got = to_si({"718-7"}, q("13.5", "g/dL"))
    assert (got.value, got.unit, got.loinc) == ("135", "g/L", "")


def test_hba1c_uses_the_ifcc_master_equation():
    # IFCC = (NGSP - 2.15) x 10.929: 6.5 % is the diagnostic threshold of 48 mmol/mol
    assert to_si({"4548-4"}, q("6.5", "%")).value == "48"
    assert to_si({"4548-4"}, q("7.2", "%")).value == "55"
    assert to_si({"17856-6"}, q("5.0", "%")).value == "31"
    assert to_si({"4548-4"}, q("6.5", "%")).loinc == "59261-8"


def test_reference_range_and_comparator_are_converted_too():
    got = to_si({"2345-7"}, q("70", "mg/dL") | {"comparator": "<"},
                [{"low": q("70", "mg/dL"), "high": q("99", "mg/dL")}])
    assert (got.value, got.low, got.high) == ("<3.9", "3.9", "5.5")


def test_no_conversion_for_si_units_unknown_codes_or_other_units():
    assert to_si({"2345-7"}, q("5.5", "mmol/L")) is None      # already SI
    assert to_si({"6153-1"}, q("3.9", "kU/L")) is None        # not in the table
    assert to_si({"2160-0"}, q("88", "umol/L")) is None
    assert to_si(set(), q("126", "mg/dL")) is None             # no LOINC code
    assert to_si({"2345-7"}, {"unit": "mg/dL"}) is None        # no value


def test_alternative_rows_are_kept_but_not_used_by_default():
    alternative = [r for r in units.all_rows() if r.use == "alternative"]
    assert [(r.loinc, r.si_loinc) for r in alternative] == [("718-7", "59260-0")]
    assert alternative[0].apply(Decimal("13.5")) == Decimal("8.4")  # Dutch mmol/L hemoglobin


def test_unit_scale_parses_ucum_concentrations():
    assert units.unit_scale("mg/dL") == ("g", Decimal("0.01"))
    assert units.unit_scale("µmol/L") == ("mol", Decimal("0.000001"))
    with pytest.raises(ValueError):
        units.unit_scale("mm[Hg]")

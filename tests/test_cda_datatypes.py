"""CDA datatypes: TS precision and offsets, IVL_PQ comparators, II, CD with translations."""
from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree

from converter.fragment import Fragment
from converter.readers.cda.context import Context
from converter.readers.cda.datatypes import (concept, date_time, identifier, interval_quantity,
                                             quantity, telecom, value)

NS = 'xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def _ctx(root_xml: str = f"<ClinicalDocument {NS}/>") -> Context:
    root = etree.fromstring(root_xml)
    return Context("t.xml", root, Fragment(source="t.xml", format="cda"))


def _el(xml: str) -> etree._Element:
    return etree.fromstring(f"<x {NS}" + xml[2:])  # every test element is an <x> in urn:hl7-org:v3


@pytest.mark.parametrize("raw,expected", [
    ("2023", "2023"),
    ("202305", "2023-05"),
    ("20230531", "2023-05-31"),
    ("202305312205-0500", "2023-05-31T22:05:00-05:00"),
    ("20230531220510+0130", "2023-05-31T22:05:10+01:30"),
    ("20230531220510.123-0500", "2023-05-31T22:05:10.123-05:00"),
    ("2023053122Z", "2023-05-31T22:00:00Z"),
])
def test_timestamps_keep_precision_and_offset(raw: str, expected: str) -> None:
    assert date_time(_el(f'<x value="{raw}"/>'), _ctx()) == expected


def test_a_time_without_offset_is_cut_to_the_date_and_recorded() -> None:
    ctx = _ctx()
    assert date_time(_el('<x value="202305312205"/>'), ctx) == "2023-05-31"
    assert len(ctx.untimed) == 1


@pytest.mark.parametrize("raw", ["20230231", "2023133", "20231301", "abc", "0000"])
def test_invalid_timestamps_are_reported(raw: str) -> None:
    ctx = _ctx()
    assert date_time(_el(f'<x value="{raw}"/>'), ctx) is None
    assert [i.code for i in ctx.fragment.issues] == ["invalid-date"]


def test_quantity_keeps_decimal_precision_and_fixes_units() -> None:
    q = quantity(_el('<x value="1.50" unit="mg/dL"/>'), _ctx())
    assert q == {"value": Decimal("1.50"), "unit": "mg/dL", "system": "http://unitsofmeasure.org",
                 "code": "mg/dL"}
    assert str(q["value"]) == "1.50"
    assert quantity(_el('<x value="2" unit="mcg"/>'), _ctx())["code"] == "ug"


def test_quantity_with_a_unit_that_is_not_ucum() -> None:
    pytest.importorskip("converter.validate.ucum", reason="UCUM check lands with the validator")
    ctx = _ctx()
    odd = quantity(_el('<x value="2" unit="spoonful"/>'), ctx)
    assert odd == {"value": Decimal("2"), "unit": "spoonful"}
    assert ctx.fragment.issues[0].code == "unknown-code"


@pytest.mark.parametrize("xml,kind,expected", [
    ('<x><low value="4" unit="mg"/><high value="10" unit="mg"/></x>', "Range",
     {"low": {"value": Decimal(4)}, "high": {"value": Decimal(10)}}),
    ('<x><high value="10" unit="mg"/></x>', "Quantity", {"comparator": "<=", "value": Decimal(10)}),
    ('<x><high value="10" unit="mg" inclusive="false"/></x>', "Quantity", {"comparator": "<"}),
    ('<x><low nullFlavor="NINF"/><high value="10" unit="mg"/></x>', "Quantity",
     {"comparator": "<="}),
    ('<x><low value="60" unit="mg"/><high nullFlavor="PINF"/></x>', "Quantity",
     {"comparator": ">=", "value": Decimal(60)}),
])
def test_interval_quantities(xml: str, kind: str, expected: dict) -> None:
    got = interval_quantity(_el(xml), _ctx())
    assert got[0] == kind
    for k, v in expected.items():
        if isinstance(v, dict):
            assert got[1][k]["value"] == v["value"]
        else:
            assert got[1][k] == v


def test_identifiers() -> None:
    assert identifier(_el('<x root="2.16.840.1.113883.4.1" extension="123-45-6789"/>')) == {
        "system": "http://hl7.org/fhir/sid/us-ssn", "value": "123-45-6789"}
    assert identifier(_el('<x root="1.2.3.4" extension="A1"/>')) == {
        "system": "urn:oid:1.2.3.4", "value": "A1"}
    assert identifier(_el('<x root="2D9E6D1E-0AC7-4B2A-9B4B-6F0F6D0B1C2A"/>')) == {
        "system": "urn:ietf:rfc:3986", "value": "urn:uuid:2d9e6d1e-0ac7-4b2a-9b4b-6f0f6d0b1c2a"}
    assert identifier(_el('<x nullFlavor="NI"/>')) is None


def test_coded_value_with_translation_and_narrative_original_text() -> None:
    ctx = _ctx(f'<ClinicalDocument {NS}><text><content ID="p1">High  blood\n pressure</content>'
               "</text></ClinicalDocument>")
    cd = _el('<x code="38341003" codeSystem="2.16.840.1.113883.6.96" displayName="HTN">'
             '<originalText><reference value="#p1"/></originalText>'
             '<translation code="I10" codeSystem="2.16.840.1.113883.6.90"/></x>')
    assert concept(cd, ctx) == {"coding": [
        {"system": "http://snomed.info/sct", "code": "38341003", "display": "HTN"},
        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I10"}],
        "text": "High blood pressure"}


def test_typed_values_and_null_flavor() -> None:
    ctx = _ctx()
    assert value(_el('<x xsi:type="INT" value="3"/>'), ctx) == ("Integer", 3)
    assert value(_el('<x xsi:type="ST">positive</x>'), ctx) == ("String", "positive")
    assert value(_el('<x xsi:type="BL" value="true"/>'), ctx) == ("Boolean", True)
    kind, dar = value(_el('<x xsi:type="PQ" nullFlavor="ASKU"/>'), ctx)
    assert kind == "dataAbsentReason" and dar["coding"][0]["code"] == "asked-unknown"
    assert value(_el('<x xsi:type="GLIST_PQ"/>'), ctx) is None
    assert ctx.fragment.issues[-1].code == "unmapped-datatype"


def test_telecom_schemes() -> None:
    assert telecom(_el('<x value="tel:+1(555)555-1212" use="HP"/>')) == {
        "system": "phone", "value": "+1(555)555-1212", "use": "home"}
    assert telecom(_el('<x value="mailto:a@b.example"/>')) == {"system": "email",
                                                             "value": "a@b.example"}

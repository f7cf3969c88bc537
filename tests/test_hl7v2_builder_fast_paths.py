"""The HL7 v2 datatype builders' faster forms agree with the plain forms they replace, on odd
input: cwe() spelled out against codeable() over coding(), components() against c() per
component, the cached screen verdicts of fixed_coding / mapped_coding / identifier_type against
screen() on the element handed out, and the segment maps' early returns against the full map."""
from __future__ import annotations

import itertools

import pytest

from converter.fhir.datatypes import codeable, coding, screen, screen_quantity, verdict
from converter.fhir.terminology import BUILT, needs_repair, quantity_needs_repair
from converter.readers.hl7v2 import datatypes as dt
from converter.readers.hl7v2.context import Context
from converter.readers.hl7v2.message import decode_message
from converter.readers.hl7v2.framing import split_messages
from converter.fragment import Fragment

_PARTS = ["", " ", "A", " a b ", "2345-7", "LN", "HL70005", "urn:oid:1.2", "2.16.840.1.113883.6.1",
          "99LOCAL", "x\n"]


def _odd_reps():
    """Reps of many shapes: empty, short, long, with empty component lists (as a map may build
    them) and several subcomponents."""
    yield []
    yield [[]]
    yield [[], [""], []]
    for n in (1, 2, 3, 6, 9, 12, 13, 14, 20):
        for start in range(0, len(_PARTS), 3):
            yield [[_PARTS[(start + i) % len(_PARTS)]] for i in range(n)]
            yield [[_PARTS[(start + i) % len(_PARTS)], "sub"] if i % 2 else []
                   for i in range(n)]
    for combo in itertools.product(["", "C", " "], ["", "Text"], ["", "LN", "L"]):
        yield [[x] for x in combo]
        yield [[x] for x in combo] * 3 + [[""], [" txt "]]


def _plain_cwe(rep):
    """cwe() as it was written before it was spelled out."""
    if not rep:
        return None
    (code1, text1, system1, code2, text2, system2, version1, version2, text,
     code3, text3, system3, version3) = [dt.c(rep, i) for i in range(1, 14)]
    triplets = ((code1, text1, system1, version1), (code2, text2, system2, version2),
                (code3, text3, system3, version3))
    codings = [coding(dt.system_uri(system), code, display, version)
               for code, display, system, version in triplets if code or display]
    return codeable(*codings, text=text or None)


def test_components_agree_with_c():
    for rep in _odd_reps():
        for count in (1, 3, 4, 8, 9, 12, 13, 20):
            assert dt.components(rep, count) == [dt.c(rep, i) for i in range(1, count + 1)]


def test_cwe_agrees_with_codeable_over_coding():
    for rep in _odd_reps():
        assert dt.cwe(rep) == _plain_cwe(rep), rep


def _marks(build) -> tuple[object, bool]:
    BUILT.reset()
    out = build()
    marked = BUILT.unsettled
    BUILT.reset()
    return out, marked


def _screened(element) -> bool:
    _, marked = _marks(lambda: screen(element))
    return marked


@pytest.mark.parametrize("code", ["MR", "mr", "QQ", "SS", "DL", "VN", "AN", " MR", "X Y"])
def test_identifier_type_marks_as_screen_would(code):
    found, marked = _marks(lambda: dt.identifier_type(code))
    assert marked == _screened(found["coding"][0])


@pytest.mark.parametrize("table, code", [("0004-encounter-class", c) for c in "IOEPRBQ"] + [
    ("0002-marital-status", c) for c in ("M", "S", "QQ", "", " M")] + [
    ("0063-relationship", c) for c in ("MTH", "ZZZ", "SPO")])
def test_mapped_coding_marks_as_screen_would(table, code):
    found, marked = _marks(lambda: dt.mapped_coding(table, code))
    assert marked == (found is not None and _screened(found))


@pytest.mark.parametrize("system, code", [
    ("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "ATND"),
    ("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "NOPE"),
    ("http://terminology.hl7.org/CodeSystem/v2-0203", "VN"),
    ("http://terminology.hl7.org/CodeSystem/v2-0203", "QQ"),
    ("urn:oid:2.16.840.1.113883.6.1", "2345-7"),
    ("http://loinc.org", "1234-5"),
])
def test_fixed_coding_marks_as_screen_would(system, code):
    found, marked = _marks(lambda: dt.fixed_coding(system, code))
    assert marked == _screened(found)
    # and each call hands out its own dict, marked each time
    again, marked_again = _marks(lambda: dt.fixed_coding(system, code))
    assert again == found and again is not found and marked_again == marked


@pytest.mark.parametrize("element", [
    {}, {"system": "http://loinc.org", "code": "2345-7"}, {"system": "http://loinc.org",
                                                           "code": "1234-5"},
    {"system": "urn:oid:2.4", "value": "1"}, {"system": "urn:oid:2.16.840.1.113883.6.1"},
    {"system": 3, "code": "x"}, {"system": "http://loinc.org", "code": 5}, {"code": "mg"},
    {"system": "http://unitsofmeasure.org", "code": "caps"}])
def test_screens_follow_the_verdicts(element):
    system, code = element.get("system"), element.get("code")
    text = (type(system) is str or system is None) and (type(code) is str or code is None)
    assert _screened(element) == verdict(element) == (not text or needs_repair(system, code))
    _, marked = _marks(lambda: screen_quantity(element))
    assert marked == (not text or quantity_needs_repair(system, code))


def _segment(text: str, name: str):
    raw = ("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5.1\r" + text + "\r").encode()
    msg = decode_message(split_messages(raw, "t")[0][0], "t")
    ctx = Context(source="t", message=msg, fragment=Fragment(source="t", format="hl7v2"),
                  key="k")
    return next(s for s in msg.segments if s.name == name), ctx


@pytest.mark.parametrize("field", ["", " ", "^", "^^^", "&", "~", "^^^&", " ^ ^ ", "\"\"",
                                   "W1", "^R1", "^^B1", "^^^F1", "^^^&2.4&ISO", "W^R^B^F"])
def test_location_of_an_empty_or_odd_field_is_what_the_full_read_gives(field):
    from converter.readers.hl7v2.pv1 import location

    seg, ctx = _segment(f"PV1|1|I|{field}", "PV1")
    pl = seg.rep(3)
    poc, room, bed = dt.c(pl, 1), dt.c(pl, 2), dt.c(pl, 3)
    facility = dt.hd_label(dt.sub(pl, 4))
    found = location(pl, ctx)
    assert (found is None) == (not (poc or room or bed or facility))


@pytest.mark.parametrize("field", ["", " ", "^", "^^^", "&", "~", "^^^&", " ^ ^ ", "\"\"",
                                   "^^^F1", "^^^&2.4&ISO", "^^^ & 2.4 ", "^^^ &&", "W^R^B^F&U&L",
                                   "C&D", "&Home", " C & D ~E&F", "^^^\\T\\x&y"])
def test_components_read_in_place_are_what_sub_gives(field):
    """location() and _discharged_to() read PL.4 (an HD) and DLD.1 in place, not through sub()."""
    seg, _ = _segment(f"PV1|1|I|{field}", "PV1")
    rep = seg.rep(3)
    assert (dt.c(rep, 4) or dt.c(rep, 4, 2)) == dt.hd_label(dt.sub(rep, 4))
    assert (dt.c(rep, 1), dt.c(rep, 1, 2)) == (dt.c(dt.sub(rep, 1), 1), dt.c(dt.sub(rep, 1), 2))


@pytest.mark.parametrize("field", ["^PRN^PH^^1^555^5551234^12", "5551234", "^NET^Internet^a@b.c",
                                   "^^^^^^^^^^^", "^^^^^^^^^^^12345", "^^CP^^^^ ", "^^^x@y",
                                   "^^^^1^^^9", " ^ ^ ^ ^ ^ ^ ^ "])
def test_telecom_number_built_from_parts_only_when_needed(field):
    seg, _ = _segment(f"PID|1||1||D^J||||||||{field}", "PID")
    rep = seg.rep(13)
    (number, use_code, equip, email, country, area, local, extension, _, _, _,
     unformatted) = [dt.c(rep, i) for i in range(1, 13)]
    point = dt.xtn(rep, "home")
    if equip in ("Internet", "X.400") or use_code == "NET":
        expected = email or number
    else:
        built = " ".join(x for x in (f"+{country}" if country else "",
                                     f"({area})" if area else "", local,
                                     f"ext. {extension}" if extension else "") if x)
        expected = number or unformatted or built or email
    assert (point or {}).get("value") == (expected or None)


_SYSTEM_URIS = [None, "http://loinc.org", "urn:oid:2.16.840.1.113883.6.1", "urn:oid:2.4",
                "http://terminology.hl7.org/CodeSystem/v2-0203", "local-uri:x"]
_TEXTS = ["", "2345-7", "1234-5", "MR", "QQ", "a b", "a\tb\nc", "a  b", "x\x1cy", "Glucose"]


def test_read_coding_agrees_with_coding():
    for system in _SYSTEM_URIS:
        for code, display, version in itertools.product(_TEXTS, ["", "Disp"], ["", "2.5"]):
            if not (code or display):
                continue  # cwe() asks for a coding only then
            built, marked = _marks(lambda: dt._read_coding(system, code, display, version))
            plain, plain_marked = _marks(lambda: coding(system, code, display, version))
            assert (built, marked) == (plain, plain_marked)
            assert list(built) == list(plain)  # the same key order, for the same bytes


@pytest.mark.parametrize("units", [[], [["mg"]], [["mg"], ["milligram"], ["UCUM"]],
                                   [["mg"], ["milligram"], ["99LOCAL"]], [[""], ["text only"]],
                                   [["caps"], [""], ["UCUM"]], [["u"], [""], [""], ["mg"], [""],
                                                                ["UCUM"]], [[" "], [" x "]]])
@pytest.mark.parametrize("comparator", [None, "<", ">="])
def test_quantities_are_built_clean(units, comparator):
    """map_obx keeps a valueQuantity as quantity() built it, without the prune other values get."""
    from decimal import Decimal

    from converter.fhir.datatypes import prune
    from converter.readers.hl7v2.obx import quantity

    for value in (Decimal("0"), Decimal("1.50"), Decimal("-3")):
        found = quantity(value, units, comparator)
        assert prune(found) == found and list(prune(found)) == list(found)


@pytest.mark.parametrize("system", _SYSTEM_URIS + [""])
@pytest.mark.parametrize("label", ["", "HOSP"])
def test_identifier_marks_as_screen_would(system, label):
    ident, marked = _marks(lambda: dt.identifier("42", system, label))
    assert marked == _screened(ident)


@pytest.mark.parametrize("vtype", ["TX", "ST", "FT", "NM"])
@pytest.mark.parametrize("field", ["", " ", "~", " ~ ", "a~", "~b", "a^b~c&d", "\\H\\", "\\H\\~x",
                                   "x\\R\\y", "^~^", "&&~", "line one~~line three"])
def test_text_values_need_no_split_of_obx5(vtype, field):
    """map_obx reads a text OBX-5 from its raw repetitions without splitting the field: it has as
    many repetitions as the split, and the values and issues of the full read."""
    from converter.readers.hl7v2.obx import map_obx

    seg, ctx = _segment(f"OBX|1|{vtype}|C^Code^L||{field}||||||F", "OBX")
    raw = seg.raw(5)
    assert len(seg.reps(5)) == len(raw.split("~") if raw else [])
    fresh, ctx = _segment(f"OBX|1|{vtype}|C^Code^L||{field}||||||F", "OBX")
    obs = map_obx(fresh, ctx, "k", None, None)
    texts = [text for text in (seg.unescape(r).strip() for r in raw.split("~"))
             if text] if raw else []
    if vtype != "NM":
        got = [obs["valueString"]] if "valueString" in obs else [
            c["valueString"] for c in obs.get("component", [])]
        assert got == texts
        unread = [r for r in (raw.split("~") if raw else [])
                  if r.strip() and not seg.unescape(r).strip()]
        assert len([i for i in ctx.fragment.issues if i.code == "invalid-value"]) == len(unread)

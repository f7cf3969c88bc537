"""The faster forms of shared helpers give exactly what the plain forms gave."""
from __future__ import annotations

import random
import re
import uuid

from converter.fhir.datatypes import coding, prune
from converter.fhir.ids import NAMESPACE, resource_id
from converter.fhir.terminology import repair
from converter.readers.hl7v2.framing import _lines


def test_resource_id_is_uuid5():
    rnd = random.Random(7)
    for _ in range(2000):
        key = [rnd.choice([None, 3, " a b ", "ü|x", str(rnd.random())])
               for _ in range(rnd.randint(0, 4))]
        text = "Patient|" + "|".join("" if k is None else str(k).strip() for k in key)
        assert resource_id("Patient", *key) == str(uuid.uuid5(NAMESPACE, text))


def test_lines_split_like_the_regex():
    rnd = random.Random(7)
    pattern = re.compile(rb"\r\n|\r|\n")
    samples = [b"", b"\r", b"\n\r", b"a\r\nb", b"a\x0b\x1c\x85\x0c"]
    samples += [bytes(rnd.choice(b"ab\r\n\x0b\x1c\x85\x0c") for _ in range(rnd.randint(0, 9)))
                for _ in range(2000)]
    for data in samples:
        assert _lines(data) == pattern.split(data), data


class _Str(str):
    pass


def _plain_coding(system, code, display=None, version=None):
    """coding() as it was first written, the reference for the faster one."""
    if not code and not display:
        return None
    if code and any(ch.isspace() for ch in code):
        code = " ".join(code.split())
    return prune({"system": system, "version": version, "code": code, "display": display}) or None


def test_coding_as_before():
    values = [None, "", " ", "a", " b ", "c  d", "x\u00a0y", _Str("q"), _Str("r s"), 0, {}, ["z"]]
    for system in values:
        for code in values:
            for display in values[:6]:
                try:
                    expected = _plain_coding(system, code, display, " v ")
                except TypeError:
                    continue  # a code that is no text made the plain form fail
                got = coding(system, code, display, " v ")
                assert got == expected
                if got:
                    assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]


def test_repair_notes_name_the_first_occurrence():
    bad = {"system": "http://loinc.org", "code": "1234-5"}  # wrong check digit
    resource = {"resourceType": "Observation",
                "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}, bad]},
                "component": [{"code": {"coding": [bad]}}]}
    notes: list[str] = []
    repair(resource, notes)
    assert notes == ["code.coding[1]: LOINC code '1234-5' has check digit 5, expected 4; kept "
                     "without the system"]
    assert bad == {"code": "1234-5"}


# -- the code repairs: screened at build, walked only when a builder says so --------------------

_SYSTEMS = [None, "http://loinc.org", "http://unitsofmeasure.org",
            "http://terminology.hl7.org/CodeSystem/v2-0203", "http://snomed.info/sct",
            "urn:oid:2.16.840.1.113883.6.1", "urn:oid:2.16.840.1.113883.19.5", "urn:oid:2.4",
            "urn:oid:1.2", "urn:oid:x", "urn:uuid:0", "local"]
_CODES = [None, "2345-7", "2345-8", "MR", "mr", "XX", "mg", "mg/dL", "caps", "d", "", " ", "a b"]


def _repaired(element: dict) -> tuple[dict, list[str]]:
    copy_ = dict(element)
    notes: list[str] = []
    repair(copy_, notes)
    return copy_, notes


def test_the_build_time_verdicts_agree_with_the_repair_walk():
    from converter.fhir.terminology import needs_repair, quantity_needs_repair

    for system in _SYSTEMS:
        for code in _CODES:
            element = {k: v for k, v in (("system", system), ("code", code)) if v is not None}
            for extra in ({"display": "x"}, {"value": "v"}):  # a Coding, an Identifier
                el = {**element, **extra}
                changed = _repaired(el) != (el, [])
                assert needs_repair(system, code) == changed, el
            for extra in ({"value": 1}, {"value": 1, "unit": "u"}, {"unit": "u"},
                          {"comparator": "<"}):
                el = {**element, **extra}
                changed = _repaired(el) != (el, [])
                assert quantity_needs_repair(system, code) == changed, el


def _hl7(*segments: str) -> bytes:
    return "\r".join(segments).encode() + b"\r"


_MSH = "MSH|^~\\&|LAB|HOSP|EHR|HOSP|202401021030+0100||{}|MSG1|P|2.5.1"
_PID = "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F"


def _odd(event: str, *segments: str) -> bytes:
    return _hl7(_MSH.format(event), *segments)


# Messages with one element each that the repairs change (or nearly): each builder's screen
# must mark it, or the walk would not run.
_ODD_MESSAGES = [
    _odd("ADT^A01^ADT_A01", "PID|1||42^^^HOSP&2.4&ISO^MR||Doe^Jane"),  # identifier: bad OID
    _odd("ADT^A01^ADT_A01", "PID|1||42^^^HOSP^GOOD HEALTH||Doe^Jane"),  # identifier type
    _odd("ADT^A01^ADT_A01", _PID + "|||||||ara^Arabic^HL70296~zz^^ISO6392|S^Single"),  # none
    _odd("ADT^A01^ADT_A01", _PID + "||||||||QQ^Odd"),  # marital status
    _odd("ADT^A01^ADT_A01", _PID, "PV1|1|Q"),  # encounter class
    _odd("ADT^A01^ADT_A01", _PID, "PV1|1|I||||||1^Doc^A^^^^^^&urn:oid:2.4&ISO"),  # XCN.9
    _odd("ADT^A01^ADT_A01", _PID, "PV1|1|I||||||1^Doc^A^^^^^^H^^^^QQ"),  # XCN.13
    _odd("ADT^A01^ADT_A01", _PID, "PV1|1|I|||||||||||||||||V9^^^&2.4&ISO"),  # visit number
    _odd("ADT^A01^ADT_A01", _PID, "PV1|1|I", "PV2|||R^Reason^LN||||||||3"),  # reason, length
    _odd("ADT^A01^ADT_A01", _PID, "NK1|1|Doe^J|ZZZ^Odd^HL70063"),  # relationship
    _odd("ADT^A01^ADT_A01", _PID, "IN1|1|P^Plan|PAYER^^^&2.4&ISO|Payer|||||G^Group"),
    _odd("ADT^Q99^ADT_A01", _PID),  # trigger event no code of table 0003
    _odd("ORU^R01^ORU_R01", _PID, "OBR|1|P1|F1|1234-5^Bad^LN"),  # LOINC check digit
    _odd("ORU^R01^ORU_R01", _PID, "OBR|1|P1|F1|2345-7^Glucose^LN",
         "OBX|1|NM|2345-7^Glucose^LN||5|caps^capsules^UCUM|1-10||||F"),  # no UCUM unit
    _odd("ORU^R01^ORU_R01", _PID, "OBR|1|P1|F1|2345-7^Glucose^LN",
         "OBX|1|NM|2345-7^Glucose^LN||5|mg^milligram^99LOCAL|<3||||F"),  # built without code
    _odd("ORU^R01^ORU_R01", _PID, "OBR|1|P1|F1|2345-7^Glucose^LN",
         "OBX|1|SN|2345-7^^2.16.840.1.113883.6.1||>^7|mg/dL^^UCUM||||F"),  # OID read as LOINC
    _odd("ORU^R01^ORU_R01", _PID, "OBR|1|P1|F1|2345-7^Glucose^LN",
         "OBX|1|CWE|2345-7^^urn:oid:2.16.840.1.113883.6.1||X^Y^urn:oid:1.2|||H~ZZ^^HL70078|||F"),
    _odd("VXU^V04^VXU_V04", _PID, "ORC|RE|P2|F2^^2.4^ISO",
         "RXA|0|1|20240101||08^HepB^CVX|0.5|mL^^UCUM"),  # filler number: bad OID
    _odd("VXU^V04^VXU_V04", _PID,
         "RXA|0|1|20240101||08^HepB^CVX|0.5|mL^^UCUM||||||||||MSD^Merck^urn:oid:2.4"),
]


def test_messages_the_screen_passes_need_no_repair(monkeypatch):
    """Every message converts to the same bytes whether the repair walk runs always or only when
    a builder marked an element (the fast path), and the fast path skips some messages."""
    from pathlib import Path

    from converter import convert
    from converter.fhir.terminology import BuiltElements
    from converter.writers.json import dumps

    from conftest import HL7_CORPUS

    messages = [p.read_bytes() for p in sorted(Path(HL7_CORPUS).rglob("*")) if p.is_file()]
    messages += _ODD_MESSAGES
    real_reset = BuiltElements.reset

    def out(data):
        r = convert(data, timestamp="2026-01-01T00:00:00Z")
        return dumps({"bundles": r.bundles, "issues": [str(i) for i in r.issues]})

    fast = [out(m) for m in messages]
    walked = []
    real_stop = BuiltElements.stop

    def stop(self):  # Context.repair_codes asks it whether to walk (recorded here: a compiled
        # Context's methods cannot be replaced, BuiltElements is a Python class)
        unsettled = real_stop(self)
        walked.append(unsettled)
        return unsettled

    monkeypatch.setattr(BuiltElements, "stop", stop)
    monkeypatch.setattr(BuiltElements, "reset", lambda self: setattr(self, "unsettled", True))
    assert [out(m) for m in messages] == fast  # the walk always
    assert all(walked) and len(walked) >= len(messages)
    walked.clear()
    monkeypatch.setattr(BuiltElements, "reset", real_reset)
    [out(m) for m in _ODD_MESSAGES]
    assert [i for i, w in enumerate(walked) if not w] == [2, 14, 15]  # nothing to repair there
    walked.clear()
    [out(m) for m in messages]
    assert not all(walked)  # the fast path was taken


def test_the_repair_mark_is_per_thread():
    """A conversion starting in another thread (a Context reset) does not clear this thread's
    mark, so an embedding application's threads cannot skip each other's repairs."""
    import threading

    from converter.fhir.terminology import BUILT

    BUILT.unsettled = True
    seen = []

    def other():
        seen.append(BUILT.unsettled)
        BUILT.reset()

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert seen == [False] and BUILT.unsettled
    BUILT.reset()


def test_people_keys_are_the_identity_keys_of_their_identifiers():
    """Context.practitioner / organization key a person by system-or-label|value before building
    the identifier (built only for a new one): the key identity_key() gives that identifier."""
    from converter.readers.hl7v2.datatypes import authority, identifier, identifier_type, \
        identity_key

    parts = ["", " ", "H", "2.16.840.1.113883.19.5", "2.4", "urn:x:y", "ISO", "UUID", "L"]
    for ns in parts:
        for uid in parts:
            for kind in parts[:3] + ["ISO", "UUID"]:
                rep = [[""]] * 8 + [[ns, uid, kind]]
                system, label = authority(rep, 9)
                ident = identifier("7", system, label, identifier_type("MR"))
                assert f"{system or label}|7" == identity_key(ident)


def test_builders_screen_only_inside_an_hl7v2_message():
    """Outside an HL7 v2 message (the CDA and DICOM readers use the same builders) a coding that
    would need repair is not screened: no mark, and no definitions loaded for a verdict."""
    from pathlib import Path

    from conftest import HL7_CORPUS

    from converter import convert
    from converter.fhir.terminology import BUILT

    convert(sorted(Path(HL7_CORPUS).glob("*.hl7"))[0], validate=False)
    assert not BUILT.screening and not BUILT.unsettled
    coding("urn:oid:2.16.840.1.113883.6.1", "2345-7")  # LOINC by OID: the walk would rewrite it
    assert not BUILT.unsettled
    BUILT.reset()
    coding("urn:oid:2.16.840.1.113883.6.1", "2345-7")
    assert BUILT.stop() and not BUILT.screening
    BUILT.reset()
    BUILT.stop()

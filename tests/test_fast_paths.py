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

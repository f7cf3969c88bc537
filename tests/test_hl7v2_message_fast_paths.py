"""The HL7 v2 message layer's fast paths agree with the slow, general ones on odd input."""
from __future__ import annotations

import itertools

from converter.readers.hl7v2.message import Delimiters, Segment

ODD_TEXTS = ["", " ", "plain", "  padded  ", "a^b", "^", "^^x", "a~b", "~", "a&b^c&d~e",
             "x\\F\\y", "\\", "\\T\\^\\S\\", "a^b&c~d", "&&", "a^^^", "é^ü", "\\X41\\^B",
             "a|b", "\x00^x"]
DELIMITER_SETS = [
    Delimiters(),
    Delimiters(escape=""),  # MSH-2 of two or three characters: no escape character
    Delimiters(field="#", component="$", repetition="*", escape="!", subcomponent="%"),
    Delimiters(component="^", repetition="^"),  # malformed MSH-2 repeating a character
    Delimiters(component="&", subcomponent="&"),
    Delimiters(escape="^"),
]


def _slow_value(seg: Segment, n: int, comp: int, sub: int) -> str:
    """value() as the general path computes it: from the split, unescaped lists."""
    reps = seg._split(n)
    if not reps or len(reps[0]) < comp or len(reps[0][comp - 1]) < sub:
        return ""
    return reps[0][comp - 1][sub - 1].strip()


def _segment(name: str, texts: list[str], delims: Delimiters) -> Segment:
    fields = [name] + texts if name != "MSH" else ["MSH", delims.field] + texts[1:]
    return Segment(name, fields, 1, 1, delims, "utf-8")


def test_value_fast_path_agrees_with_split():
    for delims, name in itertools.product(DELIMITER_SETS, ("PID", "MSH")):
        seg = _segment(name, ODD_TEXTS, delims)
        for n in range(len(seg.fields) + 2):
            for comp, sub in itertools.product((1, 2, 3), (1, 2)):
                fresh = _segment(name, ODD_TEXTS, delims)  # nothing cached
                assert fresh.value(n, comp, sub) == _slow_value(seg, n, comp, sub), (
                    delims, name, n, comp, sub)


def test_accessors_agree_in_any_order():
    """A field read first by value() and then by reps()/rep(), or the other way, reads the same."""
    for delims in DELIMITER_SETS:
        for n in range(1, len(ODD_TEXTS) + 2):
            a, b = _segment("OBX", ODD_TEXTS, delims), _segment("OBX", ODD_TEXTS, delims)
            first = [a.value(n, 2), a.value(n), a.reps(n), a.rep(n)]
            second = [b.reps(n), b.rep(n), b.value(n, 2), b.value(n)]
            assert first == [second[2], second[3], second[0], second[1]]
            assert a.reps(n) == a._split(n)
            assert a.rep(n) == (a._split(n)[0] if a._split(n) else [])


def test_read_tracking_by_every_accessor():
    seg = _segment("PID", ["1", "", "x^y", "plain", "", "z"], Delimiters())
    seg.value(1)
    seg.value(2)  # empty: still read
    seg.rep(3)
    seg.reps(4)
    assert seg.unread() == [6]
    seg.touch(6)
    assert seg.unread() == []

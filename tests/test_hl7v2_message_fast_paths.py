"""The HL7 v2 message layer's fast paths agree with the slow, general ones on odd input."""
from __future__ import annotations

import itertools

from converter.readers.hl7v2.message import _WHOLE_DECODE as WHOLE_DECODE
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


def test_unread_is_the_valued_fields_not_read():
    """unread() in one pass agrees with valued_fields() less the fields read (white space only,
    MSH's own delimiter fields, fields read and touched)."""
    texts = ["", " ", "x", "\t", "y ", "", "  ", "z", "\x00", "w"]
    for name in ("PID", "MSH"):
        for read in itertools.chain.from_iterable(
                itertools.combinations(range(12), k) for k in (0, 1, 2, 3)):
            seg = _segment(name, texts, Delimiters())
            seg.touch(*read)
            assert seg.unread() == [i for i in seg.valued_fields() if i not in read], (name, read)


# -- decoding a message as a whole ---------------------------------------------------------------

def _decoded(raw, monkeypatch, whole: bool):
    from converter.readers.hl7v2 import message

    monkeypatch.setattr(message, "_WHOLE_DECODE", WHOLE_DECODE if whole else frozenset())
    msg = message.decode_message(raw, "src")
    return ([(s.name, s.fields, s.line, s.position) for s in msg.segments],
            [str(i) for i in msg.issues], msg.codec)


def test_whole_message_decode_agrees_with_segment_by_segment(monkeypatch):
    import random

    from converter.readers.hl7v2.framing import RawMessage

    rng = random.Random(7)
    charsets = {"": "utf-8", "UNICODE UTF-8": "utf-8", "ASCII": "ascii", "8859/1": "latin-1",
                "WINDOWS-1252": "cp1252", "8859/5": "iso8859-5", "UNICODE UTF-16": "utf-16"}
    for msh18, codec in charsets.items():
        assert codec in WHOLE_DECODE or codec == "utf-16"  # utf-16: the slow path both times
        for _ in range(60):
            segments = [f"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5||||||{msh18}".encode()]
            for _ in range(rng.randint(0, 4)):
                # valid text, stray high bytes, cut UTF-8 sequences, NULs inside
                body = bytes(rng.choice(b"AZaz09|^~&\\ \x00\x80\x81\xc3\xa9\xe2\x82\xac\xff")
                             for _ in range(rng.randint(0, 12)))
                segments.append(b"OBX|" + body)
            raw = RawMessage(1, segments, list(range(1, len(segments) + 1)))
            whole = _decoded(raw, monkeypatch, True)
            assert whole[2] == codec
            assert whole == _decoded(raw, monkeypatch, False), segments


# -- placing segments in groups ------------------------------------------------------------------

def _reference_grouping(segments, root):
    """The placement as first written: every child of every open group scanned in order."""
    from converter.readers.hl7v2.structure import Group, first_set

    class Frame:
        def __init__(self, node, group):
            self.node, self.group, self.pos = node, group, 0
            self.counts = [0] * len(node.children or [])

    def place_into(stack, seg):
        frame = stack[-1]
        for i in range(frame.pos, len(frame.node.children)):
            child = frame.node.children[i]
            if not child.is_group and child.name == seg.name:
                frame.pos, frame.counts[i] = i, frame.counts[i] + 1
                frame.group.items.append(seg)
                return True
            if child.is_group and seg.name in first_set(child):
                frame.pos, frame.counts[i] = i, frame.counts[i] + 1
                new = Group(child.name)
                frame.group.items.append(new)
                stack.append(Frame(child, new))
                return place_into(stack, seg)
            if child.min >= 1:
                return False
        return False

    def place(stack, seg):
        for level in range(len(stack) - 1, -1, -1):
            frame = stack[level]
            for i in range(frame.pos, len(frame.node.children)):
                child = frame.node.children[i]
                full = child.max != -1 and frame.counts[i] >= child.max
                if not child.is_group:
                    if child.name != seg.name or full:
                        continue
                    del stack[level + 1:]
                    frame.pos, frame.counts[i] = i, frame.counts[i] + 1
                    frame.group.items.append(seg)
                    return True
                if seg.name not in first_set(child) or full:
                    continue
                del stack[level + 1:]
                frame.pos, frame.counts[i] = i, frame.counts[i] + 1
                new = Group(child.name)
                frame.group.items.append(new)
                stack.append(Frame(child, new))
                if place_into(stack, seg):
                    return True
                stack.pop()
                frame.group.items.pop()
                frame.counts[i] -= 1
        return False

    top = Group(root.name)
    stack, misplaced = [Frame(root, top)], []
    for seg in segments:
        if not place(stack, seg):
            misplaced.append(seg)
            stack[-1].group.items.append(seg)
    return top, misplaced


def _names(node):
    out = set()
    for child in node.children or []:
        out |= _names(child) if child.is_group else {child.name}
    return out


def test_grouping_agrees_with_scanning_every_child():
    import random

    from converter.readers.hl7v2.structure import definition, group_segments

    rng = random.Random(11)
    for version, structure in (("2.5.1", "ORU_R01"), ("2.5", "ADT_A01"), ("2.5.1", "OML_O21"),
                               ("2.5", "SIU_S12"), ("2.5.1", "VXU_V04"), ("2.3", "MDM_T02"),
                               ("2.4", "ORM_O01"), ("2.5", "ADT_A39"), ("2.8", "RDE_O11")):
        root = definition(version, structure)
        assert root is not None, structure
        names = sorted(_names(root)) + ["ZXY", "NTE", "OBX"]
        for _ in range(150):
            count = rng.randint(1, 25)
            segments = [_segment("MSH", ["", ""], Delimiters())] + [
                _segment(rng.choice(names), [], Delimiters()) for _ in range(count)]
            got, got_misplaced = group_segments(segments, root)
            want, want_misplaced = _reference_grouping(segments, root)
            assert got == want and [id(s) for s in got_misplaced] == [
                id(s) for s in want_misplaced], (structure, [s.name for s in segments])


# -- framing -------------------------------------------------------------------------------------

def test_segment_start_by_head_agrees_with_the_regex_on_the_line():
    import random

    from converter.readers.hl7v2.framing import _SEGMENT_START, _segment_start

    rng = random.Random(3)
    alphabet = b"AZaz09|^ \t\x00\x0b\xc3\xa9-_"
    lines = [b"", b"P", b"PI", b"PID", b"PID|", b"PIDX", b"PID1", b"ZZ9|", b"pid|", b"1AB|", b"OBX\t"]
    lines += [bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 7))) for _ in range(3000)]
    for line in lines:
        assert _segment_start(line[:4]) == (_SEGMENT_START.match(line) is not None), line

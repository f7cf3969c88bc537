"""A decoded HL7 v2 message: delimiters from MSH, character set from MSH-18, segments split into
fields, repetitions, components and subcomponents, with every escape sequence decoded.

Hand-written rather than hl7apy's parser: hl7apy takes about 21 ms per ORU message and drops
Z-segments or whole messages on LF line endings (DESIGN.md, measured); this splits in microseconds.
Segments remember which fields a mapper read, so unread valued fields can be reported as unmapped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import compress

from ...issues import Issue, Location
from ...vocabulary import table
from .framing import RawMessage

Rep = list[list[str]]  # one repetition: components, each a list of subcomponents


@dataclass(frozen=True, slots=True)
class Delimiters:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"
    truncation: str = ""  # v2.7+: a fifth encoding character


def charset_codec(msh18: str) -> str | None:
    """The Python codec for an MSH-18 value, or None when unknown."""
    row = table("hl7v2/charsets.csv").get(msh18.strip().upper()) or table(
        "hl7v2/charsets.csv").get(msh18.strip())
    return row["codec"] if row else None


# An escape sequence (\F\, \X0D0A\...). At module level: a class attribute of Segment would be
# compiled by mypyc into each instance, a re.compile() call per segment.
_ESCAPE = re.compile(r"\\([^\\]*)\\")


class Segment:
    """One segment: name, raw fields, 1-based field access with unescaping, and read tracking."""

    __slots__ = ("name", "fields", "line", "position", "delims", "message", "_read", "_codec",
                 "_reps")

    def __init__(self, name: str, fields: list[str], line: int, position: int,
                 delims: Delimiters, codec: str) -> None:
        self.name = name
        self.fields = fields  # fields[n] is field n (for MSH, fields[1] is MSH-1)
        self.line = line
        self.position = position  # 1-based index of the segment in its message
        self.delims = delims
        self._codec = codec
        self._read: set[int] = set()
        self._reps: dict[int, list[Rep]] = {}  # split fields, cached: maps read a field often

    def __repr__(self) -> str:
        return f"<{self.name} line {self.line}>"

    def raw(self, n: int) -> str:
        """The raw (still escaped) text of field n, '' when absent."""
        self._read.add(n)
        return self.fields[n] if n < len(self.fields) else ""

    def has(self, n: int) -> bool:
        """True when field n holds a value (HL7 null `""` counts as a value: an explicit delete)."""
        return n < len(self.fields) and self.fields[n] != ""

    def reps(self, n: int) -> list[Rep]:
        """Field n split into repetitions -> components -> subcomponents, unescaped.

        The lists are shared between calls: callers must not change them.
        """
        self._read.add(n)
        found = self._reps.get(n)
        if found is None:
            fields = self.fields
            if n >= len(fields) or not fields[n]:
                return []  # an empty field (a third of those read): no split, nothing cached
            found = self._reps[n] = self._split(n)
        return found

    def _split(self, n: int) -> list[Rep]:
        fields = self.fields
        text = fields[n] if n < len(fields) else ""
        if not text:
            return []
        if n < 3 and self.name == "MSH":
            return [[[text]]]  # MSH-1 and MSH-2 hold the delimiters themselves
        d = self.delims
        comp, sub, repetition, escape = d.component, d.subcomponent, d.repetition, d.escape
        # fast paths first: most fields are one value, or components without subcomponents
        if sub in text:
            out = [[c.split(sub) for c in rep.split(comp)] for rep in text.split(repetition)]
        elif repetition in text:
            out = [[[c] for c in rep.split(comp)] for rep in text.split(repetition)]
        elif comp in text:
            out = [[[c] for c in text.split(comp)]]
        else:
            out = [[[text]]]
        if escape and escape in text:
            unescape = self.unescape
            out = [[[unescape(s) for s in c] for c in rep] for rep in out]
        return out

    def rep(self, n: int) -> Rep:
        """The first repetition of field n ([] when empty)."""
        r = self.reps(n)
        return r[0] if r else []

    def value(self, n: int, comp: int = 1, sub: int = 1) -> str:
        """Field n, component, subcomponent (1-based) of the first repetition, '' when absent."""
        self._read.add(n)
        r = self._reps.get(n)  # reps() inlined: the most called accessor
        if r is None:
            fields = self.fields
            text = fields[n] if n < len(fields) else ""
            if not text:
                return ""
            d = self.delims
            if not (d.component in text or d.repetition in text or d.subcomponent in text
                    or d.escape and d.escape in text):
                # a plain value (about half the fields read here): what _split() would give,
                # [[[text]]], without building and caching the lists
                return text.strip() if comp == 1 and sub == 1 else ""
            r = self._reps[n] = self._split(n)
        if not r:
            return ""
        r0 = r[0]
        if len(r0) < comp:
            return ""
        c = r0[comp - 1]
        if len(c) < sub:
            return ""
        return c[sub - 1].strip()

    def text(self, n: int) -> str:
        """Field n as text: repetitions joined by newlines, components kept with their delimiter.

        For ST/TX/FT fields, where a component separator is ordinary text to the sender.
        """
        raw = self.raw(n)
        if not raw:
            return ""
        d = self.delims
        return "\n".join(self.unescape(r) for r in raw.split(d.repetition)).strip()

    def valued_fields(self) -> list[int]:
        """Numbers of the fields that hold a value."""
        fields = self.fields
        start = 3 if self.name == "MSH" else 1
        # compress() skips the empty fields in C: about half of them
        return [i for i in compress(range(start, len(fields)), fields[start:])
                if fields[i].strip()]

    def unread(self) -> list[int]:
        """Valued fields that no mapper read."""
        read, fields = self._read, self.fields
        start = 3 if self.name == "MSH" else 1
        # valued_fields() and the read test in one pass, the set test first: most valued fields
        # were read, and their text need not be stripped (once per mapped segment)
        return [i for i in compress(range(start, len(fields)), fields[start:])
                if i not in read and fields[i].strip()]

    def touch(self, *ns: int) -> None:
        """Mark fields as handled without reading them (e.g. set ids, fields folded elsewhere)."""
        self._read.update(ns)

    def unescape(self, s: str) -> str:
        """Decode \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh\\ \\.br\\ and drop formatting escapes."""
        d = self.delims
        if d.escape not in s or not d.escape:
            return s
        if d.escape != "\\":
            s = s.replace("\\", "\x00bs\x00").replace(d.escape, "\\")
        s = _ESCAPE.sub(self._escape_value, s)
        return s.replace("\x00bs\x00", "\\")

    def _escape_value(self, m: re.Match) -> str:
        d = self.delims
        code = m.group(1)
        if code == "F":
            return d.field
        if code == "S":
            return d.component
        if code == "T":
            return d.subcomponent
        if code == "R":
            return d.repetition
        if code == "E":
            return d.escape
        if code == "P" and d.truncation:
            return d.truncation
        if code in (".br", ".sp") or code.startswith(".sp"):
            return "\n"
        if code.startswith("X") and len(code) > 1:
            try:
                raw = bytes.fromhex(code[1:])
            except ValueError:
                return m.group(0)
            try:
                return raw.decode(self._codec)
            except (UnicodeDecodeError, LookupError):
                return raw.decode("latin-1")
        if code in ("H", "N") or code.startswith((".", "C", "M", "Z")):
            return ""  # highlighting, formatting, charset switches: no plain-text meaning
        return m.group(0)


@dataclass
class Message:
    """A decoded message: its segments, delimiters, charset, and header facts."""

    index: int
    segments: list[Segment]
    delims: Delimiters
    codec: str
    issues: list[Issue] = field(default_factory=list)
    terminated: bool = True

    @property
    def msh(self) -> Segment:
        return self.segments[0]


def _delimiters(msh: str) -> Delimiters | None:
    if len(msh) < 8 or msh[3] in "\r\n":
        return None
    f = msh[3]
    enc_end = msh.find(f, 4)
    enc = msh[4:enc_end] if enc_end > 0 else msh[4:]
    if len(enc) < 2:
        return None
    return _delimiter_set(f, enc)


@lru_cache(maxsize=64)
def _delimiter_set(f: str, enc: str) -> Delimiters:
    # cached: a feed uses one or two sets, and a frozen dataclass is slow to make (once a message)
    return Delimiters(
        field=f, component=enc[0], repetition=enc[1] if len(enc) > 1 else "~",
        escape=enc[2] if len(enc) > 2 else "", subcomponent=enc[3] if len(enc) > 3 else "&",
        truncation=enc[4] if len(enc) > 4 else "")


# Codecs in which a message decodes as a whole exactly as segment by segment: stateless, and
# a CR byte is always a CR character, never part of another character (so a segment cannot
# borrow bytes from the next). Not UTF-16/32, ISO-2022 (stateful) or the double-byte sets.
_WHOLE_DECODE = frozenset({"utf-8", "ascii", "latin-1", "cp1252", "iso8859-2", "iso8859-3",
                           "iso8859-4", "iso8859-5", "iso8859-6", "iso8859-7", "iso8859-8",
                           "iso8859-9", "iso8859-15"})


def decode_message(raw: RawMessage, source: str) -> Message | None:
    """Decode a raw message (charset from MSH-18) and split its segments; None if MSH is unusable."""
    first = raw.segments[0].decode("latin-1")
    delims = _delimiters(first)
    issues: list[Issue] = []
    if delims is None:
        issues.append(Issue("fatal", "not-hl7", "MSH without field separator and encoding "
                            "characters (MSH-1, MSH-2)", Location(
                                source=source, line=raw.lines[0], message=raw.index,
                                segment="MSH")))
        return Message(raw.index, [], Delimiters(), "ascii", issues, raw.terminated)
    fsep = delims.field
    msh_fields = first.split(fsep)
    msh18 = msh_fields[17].split(delims.repetition)[0].split(delims.component)[0] \
        if len(msh_fields) > 17 else ""
    codec = "utf-8"
    if msh18.strip():
        found = charset_codec(msh18)
        if found is None:
            issues.append(Issue("warning", "bad-encoding",
                                f"unknown character set {msh18!r} in MSH-18; read as UTF-8",
                                Location(source=source, line=raw.lines[0], message=raw.index,
                                         segment="MSH", field="MSH-18")))
        else:
            codec = found
    texts = None
    if codec in _WHOLE_DECODE:
        # one decode for the message instead of one per segment (segments hold no CR: framing
        # split at them); a message with bad bytes is decoded again segment by segment below,
        # which reports each bad segment
        try:
            texts = b"\r".join(raw.segments).decode(codec).split("\r")
        except UnicodeDecodeError:
            pass
    if texts is None:
        texts = [_decode(data, codec, issues, source, line, raw.index)
                 for data, line in zip(raw.segments, raw.lines)]
    segments: list[Segment] = []
    for pos, (text, line) in enumerate(zip(texts, raw.lines), 1):
        parts = text.split(fsep)
        name = parts[0].strip()
        if name == "MSH":
            parts[:1] = ("MSH", fsep)  # MSH-1 is the field separator itself
        segments.append(Segment(name, parts, line, pos, delims, codec))
    return Message(raw.index, segments, delims, codec, issues, raw.terminated)


def _decode(data: bytes, codec: str, issues: list[Issue], source: str, line: int,
            message: int) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        fallback = "utf-8" if codec in ("ascii", "latin-1") else "latin-1"
        try:
            text = data.decode(fallback)
        except UnicodeDecodeError:
            fallback = "latin-1"
            text = data.decode("latin-1")
        issues.append(Issue("warning", "bad-encoding",
                            f"bytes not valid in the declared character set ({codec}) at "
                            f"column {exc.start + 1}; read as {fallback}",
                            Location(source=source, line=line, message=message)))
        return text

"""Bytes of a file or stream -> the messages it holds, each with its segments and line numbers.

Handles any line ending (CR, LF, CRLF, mixed), a byte-order mark, MLLP framing (0x0B ... 0x1C 0x0D),
FHS/BHS batch envelopes and many messages per input. Works on bytes so that each message can be
decoded with its own MSH-18 character set.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...issues import Issue, Location

MLLP_START, MLLP_END = b"\x0b", b"\x1c"
UTF8_BOM = b"\xef\xbb\xbf"
_SEGMENT_START = re.compile(rb"^[A-Z][A-Z0-9]{2}(?=[^A-Za-z0-9\r\n]|$)")
BATCH_SEGMENTS = (b"FHS", b"FTS", b"BHS", b"BTS")


_STARTS: dict[bytes, bool] = {}


def _segment_start(head: bytes) -> bool:
    """True when a line beginning with `head` (its first four bytes) starts with a segment name.
    Remembered per head: a stream has a few dozen kinds of segment, and the regex is most of the
    cost of a line."""
    found = _STARTS.get(head)
    if found is None:
        found = _SEGMENT_START.match(head) is not None
        if len(_STARTS) < 4096:  # hostile input must not grow it without bound
            _STARTS[head] = found
    return found


@dataclass(slots=True)
class RawMessage:
    """One message's segments as bytes, with the 1-based line where each starts."""

    index: int
    segments: list[bytes] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    terminated: bool = True  # False when the input ended without a segment terminator


def _to_utf8_if_utf16(data: bytes) -> bytes:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16").encode("utf-8")
    return data


def _lines(data: bytes) -> list[bytes]:
    r"""The pieces of re.split(rb"\r\n|\r|\n", data), five times faster: bytes.splitlines()
    breaks at exactly CR, LF and CRLF, but drops the empty piece after a final line end (which
    counts as a line number)."""
    pieces = data.splitlines()
    if not data or data.endswith((b"\r", b"\n")):
        pieces.append(b"")
    return pieces


def split_messages(data: bytes, source: str) -> tuple[list[RawMessage], list[Issue]]:
    """The messages of an input, and issues about its framing (MLLP, batches, stray lines)."""
    issues: list[Issue] = []
    data = _to_utf8_if_utf16(data)
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    if MLLP_START in data or MLLP_END in data:
        opened = data.count(MLLP_START)
        closed = data.count(MLLP_END)
        if opened != closed:
            issues.append(Issue("error", "truncated",
                                f"MLLP framing: {opened} frame start(s) but {closed} end(s); the "
                                "stream was cut inside a message", Location(source=source)))
        data = data.replace(MLLP_START, b"").replace(MLLP_END, b"\r")
    ends_terminated = data.rstrip(b" \t\x00").endswith((b"\r", b"\n")) or not data.strip()
    messages: list[RawMessage] = []
    current: RawMessage | None = None
    batch = {"BHS": 0, "BTS": 0, "FHS": 0, "FTS": 0}
    bts_counts: list[tuple[int, int]] = []  # (declared count, line)
    counted_since_bhs = 0
    line_no = 0
    pieces = _lines(data)
    for raw in pieces:
        line_no += 1
        line = raw.strip(b"\x00")
        if line.startswith(UTF8_BOM):
            # files joined into one stream (`cat *.hl7`) keep each file's byte-order mark; left in,
            # it hides the MSH and the whole message would be folded into the one before
            line = line[len(UTF8_BOM):]
            issues.append(Issue("information", "invalid-value",
                                "byte-order mark inside the stream (joined files?), ignored",
                                Location(source=source, line=line_no)))
        if not line.strip():
            continue
        head = line[:3]
        if head in BATCH_SEGMENTS:
            name = head.decode()
            batch[name] += 1
            if head == b"BHS":
                counted_since_bhs = 0
            elif head == b"BTS":
                sep = line[3:4] or b"|"
                count = line.split(sep)[1].strip() if line.count(sep) >= 1 else b""
                if count.isdigit():
                    bts_counts.append((int(count), line_no))
                    if int(count) != counted_since_bhs:
                        issues.append(Issue(
                            "error", "truncated",
                            f"batch trailer says {int(count)} message(s), the batch holds "
                            f"{counted_since_bhs}", Location(source=source, line=line_no,
                                                             segment="BTS", field="BTS-1")))
            current = None
            continue
        if head == b"MSH":
            current = RawMessage(index=len(messages) + 1)
            messages.append(current)
            counted_since_bhs += 1
        if current is None:
            issues.append(Issue("error", "not-hl7", "text outside any message (no MSH before it)",
                                Location(source=source, line=line_no)))
            continue
        if current.segments and not _segment_start(line[:4]):
            # A line break inside a field (seen from some vendors): keep the text, joined.
            issues.append(Issue("warning", "invalid-value",
                                "line does not start with a segment name; joined to the previous "
                                "segment as a line break inside its last field",
                                Location(source=source, line=line_no, message=current.index)))
            current.segments[-1] += b"\\.br\\" + line
            continue
        current.segments.append(line)
        current.lines.append(line_no)
    if messages and not ends_terminated:
        messages[-1].terminated = False
    for opener, closer in (("BHS", "BTS"), ("FHS", "FTS")):
        if batch[opener] > batch[closer]:
            issues.append(Issue("error", "truncated",
                                f"{opener} batch header without its {closer} trailer: the batch "
                                "may be cut", Location(source=source, line=line_no)))
    return messages, issues

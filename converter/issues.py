"""Issues: every problem met while converting, as values with a location (never log lines)."""
from __future__ import annotations

from operator import attrgetter
from typing import Literal

import msgspec

Severity = Literal["fatal", "error", "warning", "information"]
SEVERITY_RANK = {"fatal": 0, "error": 1, "warning": 2, "information": 3}


# Issue and Location are values: frozen (hashable, never changed once made). msgspec Structs, not
# dataclasses: a reader makes about sixty per HL7 v2 message and the validator twenty more, and
# a Struct is made and pickled in C (the process pool sends them back), at less than half the
# cost of a slots dataclass (bench/bench_hl7v2.py).
class Location(msgspec.Struct, frozen=True):
    """Where in the input an issue was found; only the parts that apply are set."""

    source: str = ""
    line: int | None = None
    message: int | None = None  # 1-based index of the message inside a file or stream
    segment: str | None = None  # e.g. "OBX" (with its repetition, "OBX[3]")
    field: str | None = None  # e.g. "OBX-5.1"
    xpath: str | None = None
    tag: str | None = None  # DICOM tag "(0010,0010)"
    expression: str | None = None  # FHIRPath of an output element

    def __str__(self) -> str:
        parts = [self.source or "<input>"]
        if self.line is not None:
            parts[0] += f":{self.line}"
        if self.message is not None:
            parts.append(f"message {self.message}")
        if self.segment:
            parts.append(f"segment {self.segment}")
        if self.field:
            parts.append(f"field {self.field}")
        if self.xpath:
            parts.append(self.xpath)
        if self.tag:
            parts.append(f"tag {self.tag}")
        if self.expression:
            parts.append(self.expression)
        return ", ".join(parts)

    def as_strings(self) -> list[str]:
        """The location as OperationOutcome.issue.location strings."""
        return [str(self)]


class Issue(msgspec.Struct, frozen=True):
    """One problem: severity, a short code, where, and a plain message."""

    severity: Severity
    code: str
    message: str
    location: Location = Location()

    def __str__(self) -> str:
        return f"{self.severity}: {self.location}: {self.message} [{self.code}]"

    @property
    def is_error(self) -> bool:
        return self.severity in ("fatal", "error")


_ERRORS = frozenset(("fatal", "error"))
_severity = attrgetter("severity")


def has_errors(issues: list[Issue]) -> bool:
    """True when any issue is an error or worse."""
    # (map/isdisjoint run in C: asked of every conversion's ~70 issues, a few microseconds less
    # than a generator over is_error)
    return not _ERRORS.isdisjoint(map(_severity, issues))

"""Terminology sanity: UCUM units, LOINC check digits, OIDs where a canonical URI exists.

These are checks a terminology server would make: a code of a complete HL7 code system (R4 core or
HL7 Terminology) must exist in it, UCUM units must parse, LOINC codes must carry their check digit,
and an OID must not stand for a code system that has a canonical URI.
"""
from __future__ import annotations

import re
from functools import lru_cache

from . import ucum
from .definitions import definitions

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
_LOINC_CODE = re.compile(r"^(\d{1,7})-(\d)$")
_LOINC_OTHER = re.compile(r"^L[APGL]\d+-\d$")  # answer lists and parts: no check digit defined here

Problem = tuple[str, str, str, str]  # severity, code, message, relative path


_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
# matched from position 9, after urn:uuid: (without copying the rest of the string)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@lru_cache(maxsize=4096)  # every Bundle entry's fullUrl: the same resources recur in a feed
def uri_problem(uri: str) -> str | None:
    """What is wrong with an `urn:oid:` or `urn:uuid:` URI (the rules of the HL7 validator)."""
    if uri.startswith("urn:uuid:"):  # (first: every fullUrl medbundle writes is one)
        if not _UUID.match(uri, 9):
            return f"{uri!r} is not a valid UUID URI (urn:uuid: and a lowercase UUID)"
    elif uri.startswith("urn:oid:"):
        oid = uri[8:]
        if not _OID.match(oid) or (oid.rfind(".") < 4 and not oid.startswith("1.3")):
            return f"{uri!r} is not a valid OID URI (urn:oid: and an OID of several arcs)"
    return None


def loinc_check_digit(digits: str) -> int:
    """The LOINC mod-10 check digit of the numeric part of a LOINC code."""
    rev = digits[::-1]
    doubled = str(int(rev[0::2][::-1]) * 2) if rev[0::2] else ""
    total = sum(int(c) for c in doubled) + sum(int(c) for c in rev[1::2])
    return (10 - total % 10) % 10


def loinc_problem(code: str) -> str | None:
    """Why `code` is not a LOINC code, or None when it is well formed with the right check digit."""
    m = _LOINC_CODE.match(code)
    if m:
        expected = loinc_check_digit(m.group(1))
        if int(m.group(2)) != expected:
            return f"LOINC code {code!r} has check digit {m.group(2)}, expected {expected}"
        return None
    if _LOINC_OTHER.match(code):
        return None
    return f"{code!r} is not a LOINC code (digits, a dash and a check digit)"


def system_problem(system: str) -> str | None:
    """An `urn:oid:` system for which the code system has a canonical URI."""
    if system.startswith("urn:oid:"):
        uri = definitions().oids.get(system[8:])
        if uri:
            return f"code system {system} has the canonical URI {uri}: use it"
    return None


def coding_problems(coding: dict, path: str, out: list[Problem]) -> None:
    """Append to `out` the terminology problems of one Coding, or of a Quantity's unit (whose
    system and code are a coding too)."""
    system = coding.get("system")
    if not isinstance(system, str):
        return
    code = coding.get("code")
    key = (system, code if isinstance(code, str) else None)
    found = _by_coding.get(key)
    if found is None:
        if len(_by_coding) >= _CACHE_SIZE:
            _by_coding.clear()
        found = _by_coding[key] = _coding_findings(*key)
    for severity, kind, message, where in found:
        out.append((severity, kind, message, path + where))


# The findings depend on the system and code only, and a feed repeats the same few codings:
# cached (called for every Coding and Quantity).
_CACHE_SIZE = 8192
_by_coding: dict[tuple[str, str | None], tuple[tuple[str, str, str, str], ...]] = {}


def _coding_findings(system: str, code: str | None) -> tuple[tuple[str, str, str, str], ...]:
    """(severity, code, message, ".system" or ".code") of a coding's system and code."""
    out = []
    why = system_problem(system)
    if why:
        out.append(("error", "oid-for-uri", why, ".system"))
    known = definitions().code_system(system)
    if known is not None and code is not None and not known(code):
        out.append(("error", "code-not-in-system", f"{code!r} is not a code of {system}", ".code"))
    elif system == LOINC and code is not None:
        why = loinc_problem(code)
        if why:
            out.append(("error", "loinc-check-digit", why, ".code"))
    elif system == UCUM and code is not None and not ucum.is_valid(code):
        out.append(("error", "ucum", f"{code!r} is not a valid UCUM unit", ".code"))
    return tuple(out)

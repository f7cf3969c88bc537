"""Terminology sanity: UCUM units, LOINC check digits, OIDs where a canonical URI exists.

These are checks a terminology server would make: a code of a complete HL7 code system (R4 core or
HL7 Terminology) must exist in it, UCUM units must parse, LOINC codes must carry their check digit,
and an OID must not stand for a code system that has a canonical URI.
"""
from __future__ import annotations

import re
from typing import Iterator

from . import ucum
from .definitions import definitions

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
_LOINC_CODE = re.compile(r"^(\d{1,7})-(\d)$")
_LOINC_OTHER = re.compile(r"^L[APGL]\d+-\d$")  # answer lists and parts: no check digit defined here

Problem = tuple[str, str, str, str]  # severity, code, message, relative path


_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def uri_problem(uri: str) -> str | None:
    """What is wrong with an `urn:oid:` or `urn:uuid:` URI (the rules of the HL7 validator)."""
    if uri.startswith("urn:oid:"):
        oid = uri[8:]
        if not _OID.match(oid) or (oid.rfind(".") < 4 and not oid.startswith("1.3")):
            return f"{uri!r} is not a valid OID URI (urn:oid: and an OID of several arcs)"
    elif uri.startswith("urn:uuid:") and not _UUID.match(uri[9:]):
        return f"{uri!r} is not a valid UUID URI (urn:uuid: and a lowercase UUID)"
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


def coding_problems(coding: dict, path: str) -> Iterator[Problem]:
    """Terminology problems of one Coding."""
    system, code = coding.get("system"), coding.get("code")
    if isinstance(system, str):
        why = system_problem(system)
        if why:
            yield "error", "oid-for-uri", why, path + ".system"
        known = definitions().code_system(system)
        if known is not None and isinstance(code, str) and not known(code):
            yield "error", "code-not-in-system", f"{code!r} is not a code of {system}", \
                path + ".code"
        elif system == LOINC and isinstance(code, str):
            why = loinc_problem(code)
            if why:
                yield "error", "loinc-check-digit", why, path + ".code"
        elif system == UCUM and isinstance(code, str) and not ucum.is_valid(code):
            yield "error", "ucum", f"{code!r} is not a valid UCUM unit", path + ".code"


def quantity_problems(quantity: dict, path: str) -> Iterator[Problem]:
    """Terminology problems of one Quantity (or Age, Duration...): its unit is a coding too."""
    if isinstance(quantity.get("system"), str):
        yield from coding_problems(quantity, path)

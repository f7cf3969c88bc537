"""Codes that a terminology check would reject, made honest before they leave a reader.

A sender may put a local code under an HL7 table's system, a LOINC code with a wrong check digit, a
unit that is not UCUM under the UCUM system, or an OID where a code system has a canonical URI.
Passing those on would make the Bundle invalid; silently dropping them would lose data. So the code
and display are kept and only the false claim goes: the system of a code its system does not hold,
the `code` of a unit that is not UCUM (the unit text stays). Each repair is returned as a note for
the reader to report with its location. The checks are the validator's own (converter.validate),
so reader and validator agree.

The walk over every element of every resource is most of the cost, while most messages need no
repair at all. So the builders of elements with a system (codings, identifiers, quantities) ask
`needs_repair` / `quantity_needs_repair` whether the walk would change what they built, and mark
`BUILT` when it would; a reader that resets `BUILT` before mapping a message walks it only when
marked (converter/readers/hl7v2/context.py). Both verdicts mirror `_repair_element` exactly
(tests/test_fast_paths.py compares them).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..validate.definitions import definitions
from ..validate.terminology import loinc_problem, uri_problem
from ..validate.ucum import is_valid as ucum_valid
from .screening import BUILT, BuiltElements  # noqa: F401 (exported here)

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"


@lru_cache(maxsize=8192)  # pure; asked for every coding and identifier a reader builds
def needs_repair(system: str | None, code: str | None) -> bool:
    """True when `_repair_element` would change (or report) a Coding or Identifier, no Quantity,
    with this system and code (None: the element has no such key)."""
    if system is None:
        return False
    if _oid_needs_repair(system, code):
        return True
    return code is not None and _coding_problem(system, code) is not None


@lru_cache(maxsize=1024)  # pure; asked for every Quantity a reader builds
def quantity_needs_repair(system: str | None, code: str | None) -> bool:
    """needs_repair() for a Quantity (an element with a unit, comparator or numeric value)."""
    if system is None:
        return code is not None  # qty-3: the code goes, the unit stays
    if _oid_needs_repair(system, code):
        return True
    return code is not None and system == UCUM and not ucum_valid(code)


def _oid_needs_repair(system: str, code: str | None) -> bool:
    """The `urn:oid:` part of _repair_element, shared by both verdicts: an OID with a canonical
    URI gets the URI; an invalid OID on an element without a code is kept as assigner."""
    if not system.startswith("urn:oid:"):
        return False
    return bool(definitions().oids.get(system[8:])) or (code is None and bool(uri_problem(system)))


def _is_quantity(d: dict) -> bool:
    return "value" in d and not isinstance(d.get("value"), str) or "unit" in d or \
        "comparator" in d


def repair(value: Any, notes: list[str], path: str = "") -> None:
    """Fix codings, quantities and identifier systems in place, appending a note per repair.

    `value` is JSON-like (plain dicts and lists, scalars). The walk runs over every element of every
    resource while repairs are rare, so it carries no path: a repair looks its element's path up
    from the root (`_path_to`), in the walk's own order.
    """
    root = (value, path)
    if type(value) is dict:
        _walk(value, notes, root)
    elif type(value) is list:
        _walk_list(value, notes, root)


def _walk(value: dict, notes: list[str], root: tuple) -> None:
    if "system" in value or "code" in value:
        _repair_element(value, notes, root)
    for v in value.values():
        t = type(v)
        if t is dict:
            _walk(v, notes, root)
        elif t is list:
            _walk_list(v, notes, root)


def _walk_list(value: list, notes: list[str], root: tuple) -> None:
    for item in value:
        t = type(item)
        if t is dict:
            _walk(item, notes, root)
        elif t is list:
            _walk_list(item, notes, root)


def _path_to(root: tuple, target: dict) -> str:
    """The path (`code.coding[0]`) of `target` in the root value: its first occurrence in walk
    order, which is where the walk repairs it (a second occurrence finds it repaired)."""
    value, path = root
    return _find(value, target, path) or path


def _find(value: Any, target: dict, path: str) -> str | None:
    if value is target:
        return path
    if type(value) is dict:
        for k, v in value.items():
            if type(v) is dict or type(v) is list:
                found = _find(v, target, f"{path}.{k}" if path else k)
                if found is not None:
                    return found
    elif type(value) is list:
        for i, v in enumerate(value):
            if type(v) is dict or type(v) is list:
                found = _find(v, target, f"{path}[{i}]")
                if found is not None:
                    return found
    return None


def _repair_element(value: dict, notes: list[str], root: tuple) -> None:
    """One element holding a system or a code: a Coding, Identifier or Quantity."""
    system = value.get("system")
    if isinstance(system, str):
        if system.startswith("urn:oid:"):
            canonical = definitions().oids.get(system[8:])
            if canonical:
                value["system"] = system = canonical
            elif uri_problem(system) and "code" not in value:
                # an identifier system that is no OID: keep who assigned it as text
                del value["system"]
                value.setdefault("assigner", {"display": system[8:]})
                notes.append(f"{_path_to(root, value)}.system: {system!r} is not a valid OID; "
                             "kept as assigner")
                system = None
        code = value.get("code")
        if isinstance(system, str) and isinstance(code, str):
            if _is_quantity(value):
                if system == UCUM and not ucum_valid(code):
                    del value["system"], value["code"]
                    value.setdefault("unit", code)
                    notes.append(f"{_path_to(root, value)}: unit {code!r} is not UCUM; kept as "
                                 "text")
            else:
                why = _coding_problem(system, code)
                if why:
                    _drop_system(value, notes, _path_to(root, value), why)
    elif "code" in value and _is_quantity(value):
        # qty-3: a unit code needs its system; with none known the unit text says it all
        value.setdefault("unit", value.pop("code"))


@lru_cache(maxsize=8192)  # pure (the definitions are read once per process); asked per coding
def _coding_problem(system: str, code: str) -> str | None:
    """Why `code` is no code of `system` (a complete code system, LOINC or UCUM), or None."""
    known = definitions().code_system(system)
    if known is not None and not known(code):
        return f"{code!r} is not a code of {system}"
    if system == LOINC:
        return loinc_problem(code)
    if system == UCUM and not ucum_valid(code):
        return f"{code!r} is not a valid UCUM unit"
    return None


def _drop_system(coding: dict, notes: list[str], path: str, why: str) -> None:
    coding.pop("system", None)
    coding.pop("version", None)
    notes.append(f"{path}: {why}; kept without the system")

"""Codes that a terminology check would reject, made honest before they leave a reader.

A sender may put a local code under an HL7 table's system, a LOINC code with a wrong check digit, a
unit that is not UCUM under the UCUM system, or an OID where a code system has a canonical URI.
Passing those on would make the Bundle invalid; silently dropping them would lose data. So the code
and display are kept and only the false claim goes: the system of a code its system does not hold,
the `code` of a unit that is not UCUM (the unit text stays). Each repair is returned as a note for
the reader to report with its location. The checks are the validator's own (converter.validate),
so reader and validator agree.
"""
from __future__ import annotations

from typing import Any

from ..validate.definitions import definitions
from ..validate.terminology import loinc_problem, uri_problem
from ..validate.ucum import is_valid as ucum_valid

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"


def _is_quantity(d: dict) -> bool:
    return "value" in d and not isinstance(d.get("value"), str) or "unit" in d or \
        "comparator" in d


def repair(value: Any, notes: list[str], path: str = "") -> None:
    """Fix codings, quantities and identifier systems in place, appending a note per repair.

    `value` is JSON-like (dicts, lists, scalars). The walk runs over every element of every
    resource while repairs are rare, so it uses type() checks and carries the path as a chain of
    (parent, key) tuples, formatted only when a note needs it.
    """
    if type(value) is dict:
        _walk(value, notes, path)
    elif type(value) is list:
        _walk_list(value, notes, path)


def _walk(value: dict, notes: list[str], where: Any) -> None:
    if "system" in value or "code" in value:
        _repair_element(value, notes, where)
    for k, v in value.items():
        t = type(v)
        if t is dict:
            _walk(v, notes, (where, k))
        elif t is list:
            # inline rather than _walk_list: most lists hold dicts or strings, one call saved
            for i, item in enumerate(v):
                t = type(item)
                if t is dict:
                    _walk(item, notes, ((where, k), i))
                elif t is list:
                    _walk_list(item, notes, ((where, k), i))


def _walk_list(value: list, notes: list[str], where: Any) -> None:
    for i, item in enumerate(value):
        t = type(item)
        if t is dict:
            _walk(item, notes, (where, i))
        elif t is list:
            _walk_list(item, notes, (where, i))


def _path(where: Any) -> str:
    """The FHIRPath-like text of a (parent, key) chain: `code.coding[0]`."""
    keys = []
    while type(where) is tuple:
        where, key = where
        keys.append(key)
    path = where
    for key in reversed(keys):
        if type(key) is int:
            path = f"{path}[{key}]"
        else:
            path = f"{path}.{key}" if path else key
    return path


def _repair_element(value: dict, notes: list[str], where: Any) -> None:
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
                notes.append(f"{_path(where)}.system: {system!r} is not a valid OID; kept as "
                             "assigner")
                system = None
        code = value.get("code")
        if isinstance(system, str) and isinstance(code, str):
            if _is_quantity(value):
                if system == UCUM and not ucum_valid(code):
                    del value["system"], value["code"]
                    value.setdefault("unit", code)
                    notes.append(f"{_path(where)}: unit {code!r} is not UCUM; kept as text")
            else:
                known = definitions().code_system(system)
                if known is not None and not known(code):
                    _drop_system(value, notes, _path(where), f"{code!r} is not a code of {system}")
                elif system == LOINC and loinc_problem(code):
                    _drop_system(value, notes, _path(where), loinc_problem(code))
                elif system == UCUM and not ucum_valid(code):
                    _drop_system(value, notes, _path(where), f"{code!r} is not a valid UCUM unit")
    elif "code" in value and _is_quantity(value):
        # qty-3: a unit code needs its system; with none known the unit text says it all
        value.setdefault("unit", value.pop("code"))


def _drop_system(coding: dict, notes: list[str], path: str, why: str) -> None:
    coding.pop("system", None)
    coding.pop("version", None)
    notes.append(f"{path}: {why}; kept without the system")

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
    """Fix codings, quantities and identifier systems in place, appending a note per repair."""
    if isinstance(value, list):
        for i, v in enumerate(value):
            repair(v, notes, f"{path}[{i}]")
        return
    if not isinstance(value, dict):
        return
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
                notes.append(f"{path}.system: {system!r} is not a valid OID; kept as assigner")
                system = None
        code = value.get("code")
        if isinstance(system, str) and isinstance(code, str):
            if _is_quantity(value):
                if system == UCUM and not ucum_valid(code):
                    del value["system"], value["code"]
                    value.setdefault("unit", code)
                    notes.append(f"{path}: unit {code!r} is not UCUM; kept as text")
            else:
                known = definitions().code_system(system)
                if known is not None and not known(code):
                    _drop_system(value, notes, path, f"{code!r} is not a code of {system}")
                elif system == LOINC and loinc_problem(code):
                    _drop_system(value, notes, path, loinc_problem(code))
                elif system == UCUM and not ucum_valid(code):
                    _drop_system(value, notes, path, f"{code!r} is not a valid UCUM unit")
    elif "code" in value and _is_quantity(value):
        # qty-3: a unit code needs its system; with none known the unit text says it all
        value.setdefault("unit", value.pop("code"))
    for k, v in value.items():
        if isinstance(v, (dict, list)):
            repair(v, notes, f"{path}.{k}" if path else k)


def _drop_system(coding: dict, notes: list[str], path: str, why: str) -> None:
    coding.pop("system", None)
    coding.pop("version", None)
    notes.append(f"{path}: {why}; kept without the system")

"""Builders for FHIR datatypes as dicts, and `prune` which removes empty values."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from .terminology import BUILT, needs_repair, quantity_needs_repair

UCUM = "http://unitsofmeasure.org"
DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"


def prune(value: Any) -> Any:
    """Drop None, empty strings, lists and dicts recursively (FHIR forbids empty elements).

    Strings are stripped. Written with type() checks and no helper calls: it runs over every
    element of every resource, and was the reader's largest single cost when profiled.
    """
    t = type(value)
    if t is dict:
        out = {}
        for k, v in value.items():
            tv = type(v)
            if tv is str:
                v = v.strip()
                if not v:
                    continue
            elif tv is dict or tv is list:
                v = prune(v)
                if not v:
                    continue
            elif v is None:
                continue
            out[k] = v
        return out
    if t is list:
        out_list = []
        for v in value:
            tv = type(v)
            if tv is str:
                v = v.strip()
                if not v:
                    continue
            elif tv is dict or tv is list:
                v = prune(v)
                if not v:
                    continue
            elif v is None:
                continue
            out_list.append(v)
        return out_list
    if t is str:
        return value.strip() or None
    return value


def coding(system: Any, code: Any, display: Any = None, version: Any = None) -> dict | None:
    """A Coding, or None when it would hold neither code nor display. A code's inner white space is
    folded to single spaces (FHIR's code type allows no other). Each value is text or None, but
    one that is not text takes prune()'s general rule."""
    if not code and not display:
        return None
    if code and isinstance(code, str):
        words = code.split()
        if words != [code]:  # it holds white space
            code = " ".join(words)
    # prune() spelled out for four flat values: a Coding is built for nearly every code read
    out = {}
    for key, value in (("system", system), ("version", version), ("code", code),
                       ("display", display)):
        if type(value) is str:
            value = value.strip()
            if value:
                out[key] = value
        elif value is not None:
            out.update(prune({key: value}))  # not text: the general rule
    if not out:
        return None
    screen(out)
    return out


def screen(element: dict) -> None:
    """Tell the code repairs about a Coding or Identifier (no Quantity) just built: mark `BUILT`
    when the repair walk would change it (see converter/fhir/terminology.py). Every builder of
    such an element calls it, or marks `BUILT` from the verdict it cached with the element; a copy
    of a screened element needs no second call."""
    if BUILT.screening and verdict(element):
        BUILT.unsettled = True


def screen_quantity(quantity: dict) -> None:
    """screen() for a Quantity."""
    if BUILT.screening and _verdict(quantity, quantity_needs_repair):
        BUILT.unsettled = True


def verdict(element: dict) -> bool:
    """Whether screen() would mark `BUILT` for this Coding or Identifier: for a builder that
    caches an element it makes from constants or tables, and marks `BUILT` from the cached
    verdict each time it hands out a copy."""
    return _verdict(element, needs_repair)


def _verdict(element: dict, needs: Callable[[str | None, str | None], bool]) -> bool:
    system, code = element.get("system"), element.get("code")
    # a system or code that is no text is left to the walk (the verdicts are memoised on text)
    return not (type(system) is str or system is None) or \
        not (type(code) is str or code is None) or needs(system, code)


def codeable(*codings: dict | None, text: str | None = None) -> dict | None:
    """A CodeableConcept from codings (None entries skipped) and optional text."""
    cs = [c for c in codings if c]
    if not cs and not text:
        return None
    out: dict[str, Any] = {}
    if cs:
        out["coding"] = cs
    if text:
        out["text"] = text
    return out


def decimal_or_none(text: str | None) -> Decimal | None:
    """A Decimal keeping the written precision ("1.50" stays 1.50), or None if not a number."""
    if text is None:
        return None
    t = text.strip()
    if not t:
        return None
    if t.startswith("+"):
        t = t[1:]
    if t.startswith("."):
        t = "0" + t
    elif t.startswith("-."):
        t = "-0" + t[1:]
    try:
        d = Decimal(t)
    except InvalidOperation:
        return None
    if not d.is_finite():
        return None
    # FHIR decimals are plain numbers: no exponent notation in the JSON.
    if "e" in t.lower():
        d = Decimal(format(d, "f"))
    return d


def absent(reason: str = "unknown") -> dict:
    """The data-absent-reason extension holder for a `_element`."""
    return {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": reason}]}

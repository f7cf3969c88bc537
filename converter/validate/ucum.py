"""UCUM unit expressions: is a code a valid case-sensitive UCUM unit?

The grammar of the UCUM specification (section 2.1): a term is components joined by `.` and `/`,
a component is a unit atom (optionally with a metric prefix when the atom is metric) with an optional
integer exponent, an integer factor, an annotation `{...}`, or a parenthesised term. The atoms and
prefixes come from the UCUM essence (via @lhncbc/ucum-lhc, in the definitions artifact).
"""
from __future__ import annotations

import re
from functools import lru_cache

from .definitions import data

_EXPONENT = re.compile(r"^(.*?)([+-]?\d+)$")
_ANNOTATION = re.compile(r"\{[^{}]*\}")


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, int], tuple[str, ...]]:
    u = data()["ucum"]
    return u["atoms"], tuple(sorted(u["prefixes"], key=len, reverse=True))


@lru_cache(maxsize=4096)
def is_valid(code: str) -> bool:
    """True when `code` is a valid UCUM expression (case-sensitive form)."""
    if not code or code != code.strip() or any(c.isspace() for c in code):
        return False
    if not all(32 < ord(c) < 127 for c in code):
        return False
    text = code[1:] if code.startswith("/") else code
    return _term(text)


def _split(term: str) -> list[str] | None:
    """Split a term at its top-level `.` and `/` operators (not inside () [] {})."""
    parts, depth, cur = [], 0, ""
    for ch in term:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                return None
        if depth == 0 and ch in "./":
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    if depth != 0:
        return None
    parts.append(cur)
    return parts


def _term(term: str) -> bool:
    parts = _split(term)
    return parts is not None and all(_component(p) for p in parts)


def _component(comp: str) -> bool:
    if not comp:
        return False
    if comp.startswith("(") and comp.endswith(")"):
        return _term(comp[1:-1])
    annotation = re.search(r"\{[^{}]*\}$", comp)
    if annotation:
        if "{" in annotation.group(0)[1:-1]:
            return False
        comp = comp[:annotation.start()]
        if not comp:
            return True  # an annotation alone stands for the unity
    if comp.isdigit():
        return True  # an integer factor
    return _annotatable(comp)


def _annotatable(comp: str) -> bool:
    if _simple_unit(comp):
        return True
    m = _EXPONENT.match(comp)
    return bool(m and m.group(1) and _simple_unit(m.group(1)))


def _simple_unit(unit: str) -> bool:
    atoms, prefixes = _tables()
    if unit in atoms:
        return True
    for p in prefixes:
        if unit.startswith(p) and atoms.get(unit[len(p):]) == 1:
            return True
    return False

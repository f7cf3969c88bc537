"""Conventional -> SI lab units, driven by the LOINC-keyed table mappings/summary/si-units.csv.

The factor of each row is derived here from its molar mass and its two units (STANDARDS.md 5:
mass -> substance concentration needs the molar mass and changes the LOINC property MCnc -> SCnc,
so the code changes too; a scale change such as g/dL -> g/L keeps it). The table's
`published_factor` is only there so a test can check the derivation against published SI tables.
HbA1c is not a unit change but a re-standardisation: IFCC = (NGSP - 2.15) x 10.929.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from ..vocabulary import rows
from .fhirtext import number, plain

TABLE = "summary/si-units.csv"

PREFIXES = {"": Decimal(1), "d": Decimal("1e-1"), "c": Decimal("1e-2"), "m": Decimal("1e-3"),
            "u": Decimal("1e-6"), "n": Decimal("1e-9"), "p": Decimal("1e-12"),
            "f": Decimal("1e-15")}
_UNIT = re.compile(r"^(?P<p>[dcmunpf]?)(?P<base>g|mol|eq)/(?P<vp>[dcmunpf]?)l$")


@dataclass(frozen=True)
class Conversion:
    """One row of the table: how a conventional result of one LOINC code becomes SI."""

    loinc: str
    analyte: str
    unit: str
    si_loinc: str
    si_unit: str
    si_display: str
    method: str
    factor: Decimal
    offset: Decimal
    published_factor: Decimal | None
    decimals: int
    use: str  # "default", or "alternative" (e.g. molar hemoglobin, used in the Netherlands)

    @property
    def code_changes(self) -> bool:
        """True when the SI result has another LOINC code (the property changed, e.g. MCnc -> SCnc)."""
        return self.si_loinc != self.loinc

    def apply(self, value: Decimal) -> Decimal:
        """`value` in the SI unit, rounded to the usual number of decimals for this analyte."""
        result = (value - self.offset) * self.factor
        return result.quantize(Decimal(1).scaleb(-self.decimals), rounding=ROUND_HALF_UP)


def normal_unit(unit: str) -> str:
    """A unit folded for matching: UCUM and common spellings alike (mg/dl, mEq/L, µmol/L)."""
    return unit.strip().replace("µ", "u").replace("μ", "u").lower()


def unit_scale(unit: str) -> tuple[str, Decimal]:
    """(g | mol | eq, how many base units per litre one unit is), e.g. mg/dL -> ("g", 0.01)."""
    m = _UNIT.match(normal_unit(unit))
    if not m:
        raise ValueError(f"not a concentration unit this table can scale: {unit!r}")
    return m["base"], PREFIXES[m["p"]] / PREFIXES[m["vp"]]


def derive_factor(row: dict[str, str]) -> Decimal:
    """The multiplier from the row's conventional unit to its SI unit, from molar mass or valence."""
    method = row["method"]
    if method == "linear":
        return Decimal(row["factor"])
    base, scale = unit_scale(row["unit"])
    si_base, si_scale = unit_scale(row["si_unit"])
    if method == "scale" and base == si_base:
        return scale / si_scale
    if method == "molar" and base == "g" and si_base == "mol":
        return scale / Decimal(row["molar_mass"]) / si_scale
    if method == "equivalents" and base == "eq" and si_base == "mol":
        return scale / Decimal(row["valence"]) / si_scale
    raise ValueError(f"{row['loinc']}: method {method} cannot take {row['unit']} to {row['si_unit']}")


@lru_cache(maxsize=1)
def conversions() -> dict[tuple[str, str], Conversion]:
    """The default conversion for each (LOINC code, folded conventional unit)."""
    out: dict[tuple[str, str], Conversion] = {}
    for row in all_rows():
        if row.use == "default":
            out.setdefault((row.loinc, normal_unit(row.unit)), row)
    return out


@lru_cache(maxsize=1)
def all_rows() -> tuple[Conversion, ...]:
    """Every row of the table (alternatives included), with derived factors."""
    out = []
    for row in rows(TABLE):
        published = number(row.get("published_factor") or None)
        out.append(Conversion(
            loinc=row["loinc"], analyte=row["analyte"], unit=row["unit"], si_loinc=row["si_loinc"],
            si_unit=row["si_unit"], si_display=row.get("si_display") or row["si_unit"],
            method=row["method"], factor=derive_factor(row),
            offset=Decimal(row.get("offset") or 0), published_factor=published,
            decimals=int(row.get("si_decimals") or 2), use=row.get("use") or "default"))
    return tuple(out)


@dataclass(frozen=True)
class SIValue:
    """A result in SI units, ready to show."""

    value: str
    unit: str
    loinc: str  # the SI LOINC code when the property changes, else ""
    low: str = ""
    high: str = ""


def to_si(loinc_codes: set[str], quantity: dict | None, ranges: list | None = None) -> SIValue | None:
    """The SI value of a conventional lab Quantity (and its reference range), or None.

    None when no LOINC code of the result is in the table, or its unit is not the row's
    conventional unit (e.g. already SI).
    """
    if not isinstance(quantity, dict):
        return None
    value = number(quantity.get("value"))
    if value is None:
        return None
    conv = _find(loinc_codes, quantity)
    if conv is None:
        return None
    si = conv.apply(value)
    low, high = "", ""
    for rng in ranges or []:
        if isinstance(rng, dict):
            low = _bound(conv, rng.get("low"))
            high = _bound(conv, rng.get("high"))
            break
    return SIValue((quantity.get("comparator") or "") + plain(si), conv.si_display,
                   conv.si_loinc if conv.code_changes else "", low, high)


def _find(loinc_codes: set[str], quantity: dict) -> Conversion | None:
    table = conversions()
    for unit in (quantity.get("code"), quantity.get("unit")):
        if not unit:
            continue
        for code in sorted(loinc_codes):
            conv = table.get((code, normal_unit(str(unit))))
            if conv is not None:
                return conv
    return None


def _bound(conv: Conversion, q: dict | None) -> str:
    """A reference range bound in SI, when it is in the row's conventional unit."""
    if not isinstance(q, dict):
        return ""
    n = number(q.get("value"))
    unit = q.get("code") or q.get("unit")
    if n is None or (unit and normal_unit(str(unit)) != normal_unit(conv.unit)):
        return ""
    return plain(conv.apply(n))

"""CDA datatypes to FHIR: II, CD/CE/CV with translations and originalText, TS/IVL_TS, PQ/IVL_PQ,
AD, PN, TEL and typed observation values; nullFlavor becomes data-absent-reason."""
from __future__ import annotations

import calendar
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ...fhir.datatypes import UCUM, absent, codeable, decimal_or_none, prune
from ...fhir.systems import oid_uri
from ...vocabulary import lookup, table
from .nodes import SDTC, V3, Element, child, children, null_flavor, text, xsi_type

if TYPE_CHECKING:
    from .context import Context

DAR_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6})\d*)?"
                r"(Z|[+-]\d{2}(?:\d{2})?)?$")


# -- code systems and identifiers ------------------------------------------------------------
@lru_cache(maxsize=4096)  # every code and id names its system: a few dozen OIDs per document
def system_uri(oid: str | None) -> str | None:
    """The FHIR URI of a code or identifier system OID (urn:oid:/urn:uuid: when unknown)."""
    if not oid:
        return None
    row = _systems().get(oid) or _ids().get(oid)
    if row and row.get("uri"):
        return row["uri"]
    if OID.match(oid):
        return oid_uri(oid)
    if UUID.match(oid):
        return "urn:uuid:" + oid.lower()
    return None


def _systems() -> dict:
    return table("cda/code-systems.csv", "oid")


def _ids() -> dict:
    return table("identifier-systems.csv", "oid")


def identifier(el: Element | None) -> dict | None:
    """II -> Identifier (root+extension -> system+value; root alone -> urn:ietf:rfc:3986)."""
    if el is None:
        return None
    root, ext = el.get("root"), el.get("extension")
    if el.get("nullFlavor") and not (root and ext):
        return None
    if root and ext:
        return prune({"system": system_uri(root), "value": ext})
    if root:
        if OID.match(root):
            return {"system": "urn:ietf:rfc:3986", "value": "urn:oid:" + root}
        if UUID.match(root):
            return {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:" + root.lower()}
        return {"value": root}
    if ext:
        return {"value": ext}
    return None


def identifiers(parent: Element | None, name: str = "id") -> list[dict]:
    """Every usable Identifier of `parent`'s `name` children."""
    return [i for i in (identifier(e) for e in children(parent, name)) if i]


# -- coded values ------------------------------------------------------------------------------
def coding(el: Element) -> dict | None:
    """One CD (without translations) -> Coding."""
    code = el.get("code")
    if not code:
        return None
    return prune({"system": system_uri(el.get("codeSystem")), "version": el.get("codeSystemVersion"),
                  "code": code, "display": el.get("displayName")})


def narrative_text(el: Element | None, ctx: Context) -> str | None:
    """The text of a <text>, <originalText> or ED element: its <reference value="#id"> resolved
    against the narrative, else its own content."""
    if el is None:
        return None
    reference = child(el, "reference")
    if reference is not None:
        target = ctx.narrative(reference.get("value"))
        if target is not None:
            return text(target)
    return text(el)


def original_text(el: Element, ctx: Context) -> str | None:
    """originalText as a string, its <reference> resolved against the narrative."""
    return narrative_text(child(el, "originalText"), ctx)


def concept(el: Element | None, ctx: Context) -> dict | None:
    """CD/CE/CV -> CodeableConcept: code, each translation, and originalText as text."""
    if el is None:
        return None
    codings = []
    main = coding(el)
    if main:
        codings.append(main)
    if not len(el):  # most codes have neither translations nor originalText
        return codeable(*codings)
    for tr in el.iterchildren(V3 + "translation"):
        c = coding(tr)
        if c and c not in codings:
            codings.append(c)
    return codeable(*codings, text=original_text(el, ctx) or None)


def absent_concept(null: str | None = None) -> dict:
    """A CodeableConcept saying why a required code is missing (data-absent-reason system)."""
    code = lookup("cda/null-flavor.csv", null or "UNK") or "unknown"
    return {"coding": [{"system": DAR_SYSTEM, "code": code}]}


def absent_reason(el: Element | None) -> dict:
    """The data-absent-reason extension holder for an element with a nullFlavor."""
    return absent(lookup("cda/null-flavor.csv", null_flavor(el)) or "unknown")


def concept_or_absent(el: Element | None, ctx: Context) -> dict:
    """A CodeableConcept for a required code: the code, else its reason for absence."""
    return concept(el, ctx) or absent_concept(null_flavor(el))


# -- times -------------------------------------------------------------------------------------
def date_time(el: Element | None, ctx: Context, attr: str = "value") -> str | None:
    """TS -> FHIR dateTime keeping precision and offset; a time without offset is cut to the date."""
    if el is None:
        return None
    raw = el.get(attr)
    if not raw:
        return None
    parsed = _parse_ts(raw.strip())
    if parsed is None:
        ctx.issue("warning", "invalid-date", f"{raw!r} is not a valid CDA timestamp; left out", el)
        return None
    date, time, offset = parsed
    if time is None:
        return date
    if offset is None:
        ctx.untimed.append(el)
        return date
    return f"{date}T{time}{offset}"


def instant(el: Element | None, ctx: Context) -> str | None:
    """TS -> FHIR instant (needs a time and an offset), or None."""
    dt = date_time(el, ctx)
    return dt if dt and "T" in dt else None


@lru_cache(maxsize=4096)  # a document repeats its timestamps (authoring times above all)
def _parse_ts(raw: str) -> tuple[str, str | None, str | None] | None:
    m = TS.match(raw)
    if not m:
        return None
    y, mo, d, h, mi, s, frac, tz = m.groups()
    if y == "0000":
        return None
    date = y
    if mo:
        if not 1 <= int(mo) <= 12:
            return None
        date += "-" + mo
        if d:
            if not 1 <= int(d) <= calendar.monthrange(int(y), int(mo))[1]:
                return None
            date += "-" + d
    elif d:
        return None
    if not h or not d:
        return date, None, None
    if int(h) > 23 or (mi and int(mi) > 59) or (s and int(s) > 59):
        return None
    time = f"{h}:{mi or '00'}:{s or '00'}" + (f".{frac}" if frac and s else "")
    offset = None
    if tz == "Z":
        offset = "Z"
    elif tz:
        oh, om = tz[1:3], tz[3:5] or "00"
        if int(oh) > 14 or int(om) > 59:
            return None
        offset = f"{tz[0]}{oh}:{om}"
    return date, time, offset


def period(el: Element | None, ctx: Context) -> dict | None:
    """IVL_TS -> Period (low -> start, high -> end; a single value -> start)."""
    if el is None:
        return None
    if el.get("value"):
        return prune({"start": date_time(el, ctx)}) or None
    return prune({"start": date_time(child(el, "low"), ctx),
                  "end": date_time(child(el, "high"), ctx)}) or None


def effective(el: Element | None, ctx: Context) -> tuple[str, Any] | None:
    """TS or IVL_TS -> ("DateTime", str) or ("Period", dict): a point when there is one."""
    if el is None:
        return None
    if el.get("value"):
        v = date_time(el, ctx)
        return ("DateTime", v) if v else None
    low, high = child(el, "low"), child(el, "high")
    center = child(el, "center")
    if center is not None and center.get("value"):
        v = date_time(center, ctx)
        return ("DateTime", v) if v else None
    start, end = date_time(low, ctx), date_time(high, ctx)
    if start and end and start == end:
        return ("DateTime", start)
    if start and not end and (high is None):
        return ("DateTime", start)
    p = prune({"start": start, "end": end})
    return ("Period", p) if p else None


def set_choice(resource: dict, name: str, choice: tuple[str, Any] | None) -> bool:
    """Set `name`+type (e.g. effectiveDateTime) from a (type, value) choice; True when set."""
    if choice is None:
        return False
    resource[name + choice[0]] = choice[1]
    return True


# -- quantities --------------------------------------------------------------------------------
def quantity(el: Element | None, ctx: Context | None = None) -> dict | None:
    """PQ -> Quantity (UCUM unit as code and unit)."""
    if el is None or el.get("nullFlavor"):
        return None
    value = decimal_or_none(el.get("value"))
    if value is None:
        if el.get("value") and ctx is not None:
            ctx.issue("warning", "invalid-value", f"quantity {el.get('value')!r} is not a number", el)
        return None
    out: dict[str, Any] = {"value": value}
    unit = (el.get("unit") or "").strip()
    if unit and unit != "1":
        out["unit"] = unit
        code = ucum_code(unit)
        if code:
            out.update({"system": UCUM, "code": code})
        elif ctx is not None:
            ctx.issue("information", "unknown-code",
                      f"unit {unit!r} is not UCUM: kept as text only", el)
    return out


@lru_cache(maxsize=2048)
def ucum_code(unit: str) -> str | None:
    """The UCUM code for a CDA unit (fixing common non-UCUM spellings), or None."""
    fixed = lookup("cda/unit-fixes.csv", unit) or unit
    try:
        from ...validate.ucum import is_valid
    except ImportError:  # a build without the validator: trust the source (CDA requires UCUM)
        return fixed
    return fixed if is_valid(fixed) else None


def interval_quantity(el: Element, ctx: Context) -> tuple[str, dict] | None:
    """IVL_PQ -> ("Range", ...) with both ends, else ("Quantity", ...) with a comparator."""
    if el.get("value"):
        q = quantity(el, ctx)
        return ("Quantity", q) if q else None
    low, high = child(el, "low"), child(el, "high")
    lo, hi = quantity(low, ctx), quantity(high, ctx)
    lo_open = low is not None and (low.get("nullFlavor") == "NINF" or (lo and lo["value"] == 0))
    hi_open = high is not None and high.get("nullFlavor") == "PINF"
    if lo and hi and not lo_open:
        return ("Range", {"low": lo, "high": hi})
    if hi and (lo is None or lo_open):
        hi["comparator"] = "<" if high.get("inclusive") == "false" else "<="
        return ("Quantity", hi)
    if lo and (hi is None or hi_open):
        lo["comparator"] = ">" if low.get("inclusive") == "false" else ">="
        return ("Quantity", lo)
    return None


def ratio(el: Element, ctx: Context) -> dict | None:
    """RTO_PQ_PQ -> Ratio."""
    out = prune({"numerator": quantity(child(el, "numerator"), ctx),
                 "denominator": quantity(child(el, "denominator"), ctx)})
    return out or None


def value(el: Element | None, ctx: Context) -> tuple[str, Any] | None:
    """An observation <value> by its xsi:type -> (FHIR value[x] suffix, value).

    A value with only a nullFlavor gives ("dataAbsentReason", CodeableConcept).
    """
    if el is None:
        return None
    kind = xsi_type(el).upper()
    if kind in ("CD", "CE", "CV", "CO", "CS", "SC", "CR"):
        c = concept(el, ctx)
        if c:
            return ("CodeableConcept", c)
    elif kind == "PQ":
        q = quantity(el, ctx)
        if q:
            return ("Quantity", q)
    elif kind == "IVL_PQ":
        r = interval_quantity(el, ctx)
        if r:
            return r
    elif kind in ("INT", "INT_POS"):
        v = decimal_or_none(el.get("value"))
        if v is not None and v == int(v) and -2**31 <= v < 2**31:
            return ("Integer", int(v))
    elif kind in ("REAL", "MO"):
        v = decimal_or_none(el.get("value"))
        if v is not None:
            return ("Quantity", {"value": v})
    elif kind == "BL":
        if el.get("value") in ("true", "false"):
            return ("Boolean", el.get("value") == "true")
    elif kind in ("TS",):
        v = date_time(el, ctx)
        if v:
            return ("DateTime", v)
    elif kind == "IVL_TS":
        p = period(el, ctx)
        if p:
            return ("Period", p)
    elif kind in ("RTO", "RTO_PQ_PQ", "RTO_INT_INT", "RTO_QTY_QTY"):
        r = ratio(el, ctx)
        if r:
            return ("Ratio", r)
    elif kind in ("ST", "ED", "") and not len(el):
        t = text(el)
        if t:
            return ("String", t)
    elif kind in ("ED", "ST"):
        t = narrative_text(el, ctx)
        if t:
            return ("String", t)
    else:
        ctx.issue("information", "unmapped-datatype",
                  f"value of type {xsi_type(el) or '(none)'} has no FHIR mapping here", el)
        return None
    if el.get("nullFlavor"):
        return ("dataAbsentReason", absent_concept(el.get("nullFlavor")))
    return None


# -- people and places -------------------------------------------------------------------------
@lru_cache(maxsize=1024)  # pure, and called for every name, address and telecom
def _first_use(codes: str | None, relpath: str, column: str = "target") -> str | None:
    for code in (codes or "").split():
        v = lookup(relpath, code, column)
        if v:
            return v
    return None


# PN parts -> HumanName elements; AD parts -> Address elements (each element is read in one pass
# over its children: names and addresses are many, and each has several parts)
NAME_PARTS = {V3 + p: p for p in ("family", "given", "prefix", "suffix")}
ADDRESS_PARTS = {V3 + "streetAddressLine": "line", V3 + "city": "city", V3 + "county": "district",
                 V3 + "state": "state", V3 + "postalCode": "postalCode", V3 + "country": "country"}
USEABLE_PERIOD = V3 + "useablePeriod"
PHONE_LIKE = re.compile(r"[0-9 ()+.\-x]+")


def name(el: Element | None) -> dict | None:
    """PN/EN -> HumanName (parts, or text when the name is not fielded)."""
    if el is None or (el.get("nullFlavor") and not len(el)):
        return None
    parts: dict[str, list] = {"family": [], "given": [], "prefix": [], "suffix": []}
    for c in el:
        part = NAME_PARTS.get(c.tag)
        if part:
            parts[part].append(text(c))
    out = {
        "use": _first_use(el.get("use"), "cda/name-use.csv"),
        "family": " ".join(f for f in parts["family"] if f) or None,
        "given": [g for g in parts["given"] if g],
        "prefix": parts["prefix"],
        "suffix": parts["suffix"],
    }
    if not (out["family"] or out["given"]):
        out["text"] = text(el)
    return prune(out) or None


def address(el: Element | None, ctx: Context) -> dict | None:
    """AD -> Address."""
    if el is None or (el.get("nullFlavor") and not len(el)):
        return None
    uses = el.get("use")
    lines = []
    found: dict[str, str | None] = {}  # the first of each other part
    useable = None
    for c in el:
        part = ADDRESS_PARTS.get(c.tag)
        if part == "line":
            lines.append(text(c))
        elif part:
            if part not in found:
                found[part] = text(c)
        elif c.tag == USEABLE_PERIOD and useable is None:
            useable = c
    out = {
        "use": _first_use(uses, "cda/address-use.csv", "use"),
        "type": _first_use(uses, "cda/address-use.csv", "type"),
        "line": lines,
        "city": found.get("city"),
        "district": found.get("district"),
        "state": found.get("state"),
        "postalCode": found.get("postalCode"),
        "country": found.get("country"),
        "period": period(useable, ctx),
    }
    out = prune(out)
    if not any(k in out for k in ("line", "city", "district", "state", "postalCode", "country")):
        t = text(el)
        if not t:
            return None
        out["text"] = t
    return out


def telecom(el: Element | None) -> dict | None:
    """TEL -> ContactPoint (the URL scheme gives the system: tel:, mailto:, fax:, http:)."""
    if el is None:
        return None
    raw = (el.get("value") or "").strip()
    if not raw:
        return None
    scheme, sep, rest = raw.partition(":")
    system = lookup("cda/telecom-scheme.csv", scheme.lower()) if sep else None
    if system:
        value = rest.lstrip("/") if system in ("phone", "fax", "sms") else rest
        if system == "url":
            value = raw
    else:
        value = raw
        system = "phone" if PHONE_LIKE.fullmatch(raw) else "other"
    return prune({"system": system, "value": value,
                  "use": _first_use(el.get("use"), "cda/telecom-use.csv")}) or None


def telecoms(parent: Element | None) -> list[dict]:
    return [t for t in (telecom(e) for e in children(parent, "telecom")) if t]


def addresses(parent: Element | None, ctx: Context) -> list[dict]:
    return [a for a in (address(e, ctx) for e in children(parent, "addr")) if a]


def names(parent: Element | None) -> list[dict]:
    return [n for n in (name(e) for e in children(parent, "name")) if n]


def sdtc(el: Element | None, name_: str) -> Element | None:
    """An sdtc: extension child (sdtc:raceCode, sdtc:deceasedInd...)."""
    return None if el is None else el.find(SDTC + name_)

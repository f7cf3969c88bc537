"""HL7 v2 datatypes -> FHIR datatypes, after the V2-to-FHIR IG datatype maps (CWE[CodeableConcept],
CX[Identifier], XPN[HumanName], XAD[Address], XTN[ContactPoint], DTM[dateTime], EI, HD, XCN, XON).

A `Rep` is one field repetition: a list of components, each a list of subcomponents (unescaped).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable

from ...fhir.datatypes import coding, screen, verdict
from ...fhir.terminology import BUILT, needs_repair
from ...fhir.systems import oid_uri
from ...vocabulary import lookup, table
from .message import Rep

V2_TABLE = "http://terminology.hl7.org/CodeSystem/v2-{}"
T = "hl7v2/tables/{}.csv"
_HL7_TABLE = re.compile(r"^HL7(\d{4})$", re.I)
_OID = re.compile(r"^[0-2](\.\d+)+$")
_URI = re.compile(r"^[a-z][a-z0-9+.-]*:")


def c(rep: Rep, i: int, s: int = 1) -> str:
    """Component i (1-based), subcomponent s, stripped; '' when absent."""
    if len(rep) < i:
        return ""
    comp = rep[i - 1]
    return comp[s - 1].strip() if len(comp) >= s else ""


def components(rep: Rep, count: int) -> list[str]:
    """Components 1..count (first subcomponents, stripped, '' when absent): c(rep, 1) to
    c(rep, count) in one pass, for datatypes whose map reads most of their components."""
    if len(rep) >= count:
        return [comp[0].strip() if comp else "" for comp in rep[:count]]
    out = [comp[0].strip() if comp else "" for comp in rep]
    out += _BLANKS[count - len(out)]  # a shared list, only read by +=
    return out


_BLANKS = [[""] * n for n in range(32)]  # padding for components(): no datatype has 31 parts


_EMPTIABLE = (str, dict, list)


def compact(value: dict) -> dict:
    """`value` without its empty members (None, '', [] and {}; a 0 or False is a value): what
    prune() does, for one level only, for values built clean. Its text must already be stripped
    and its dict and list members clean, as the builders here make them: nothing empty at any
    depth, no text with white space around it.

    The maps build every element clean and compact each dict they compose themselves, so that
    adding a resource need not prune it all again (see Context.add);
    tests/test_hl7v2_clean_build.py checks they do.
    """
    # a comprehension, and no strip(): it runs for every resource and most elements
    return {k: v for k, v in value.items() if v or (v is not None and type(v) not in _EMPTIABLE)}


def clone(value):
    """A deep copy of a JSON-like value, for an element placed twice (in two resources, or twice
    in one): every element must be its own object, as the code repairs change them in place.
    Not copy.deepcopy, whose memo and dispatch cost several times more for plain dicts and lists."""
    t = type(value)
    if t is dict:
        return {k: clone(v) for k, v in value.items()}
    if t is list:
        return [clone(v) for v in value]
    return value


def sub(rep: Rep, i: int) -> Rep:
    """Component i's subcomponents as a Rep, to read a composite component (e.g. CX.4 as HD)."""
    if len(rep) < i:
        return []
    return [[x] for x in rep[i - 1]]


# -- dates and times ---------------------------------------------------------------------------

_DTM = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,4})?([+-]\d{4}|Z)?$")
_DATE = re.compile(r"^(\d{4})(\d{2})?(\d{2})?$")
_TIME = re.compile(r"^(\d{2})(\d{2})?(\d{2})?(\.\d+)?([+-]\d{4})?$")


def dtm(text: str, on_cut: Callable[[str], None] | None = None) -> str | None:
    """A v2 DTM/TS as a FHIR dateTime with the source's precision and offset, or None if invalid.

    A time without an offset is cut to the date (FHIR requires an offset with a time, and the
    host's zone must never be assumed); `on_cut` is told so it can be reported. FHIR needs seconds
    with a time, so HHMM becomes HH:MM:00.
    """
    t = text.strip()
    if not t:
        return None
    m = _DTM.match(t)
    if not m:
        return None
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    if mo and not 1 <= int(mo) <= 12 or d and not 1 <= int(d) <= 31:
        return None
    date = y + (f"-{mo}" if mo else "") + (f"-{d}" if mo and d else "")
    if not (hh and d):
        return date
    if int(hh) > 23 or (mi and int(mi) > 59) or (ss and int(ss) > 60):
        return None
    if not tz:
        if on_cut:
            on_cut(t)
        return date
    offset = "Z" if tz == "Z" else f"{tz[:3]}:{tz[3:]}"
    return f"{date}T{hh}:{mi or '00'}:{ss or '00'}{frac or ''}{offset}"


def date_only(text: str) -> str | None:
    """The date part of a DT/DTM as a FHIR date, or None if invalid."""
    t = text.strip()[:8]
    if not t:
        return None
    m = _DATE.match(t)
    if not m:
        return None
    y, mo, d = m.groups()
    if mo and not 1 <= int(mo) <= 12 or d and not 1 <= int(d) <= 31:
        return None
    return y + (f"-{mo}" if mo else "") + (f"-{d}" if mo and d else "")


def time_of(text: str) -> str | None:
    """A v2 TM (HHMM[SS[.S]]) as a FHIR time, or None."""
    m = _TIME.match(text.strip())
    if not m or int(m.group(1)) > 23:
        return None
    return f"{m.group(1)}:{m.group(2) or '00'}:{m.group(3) or '00'}{m.group(4) or ''}"


# -- codes -------------------------------------------------------------------------------------

def cell(text: str | None) -> str | None:
    """A value read from a vocabulary table, stripped (a user's override table may pad it), or
    None when it holds nothing: elements are built with their text stripped (see compact)."""
    return (text.strip() or None) if text else None


@lru_cache(maxsize=4096)  # a pure lookup in tables read once per process, called per coding
def system_uri(name: str) -> str | None:
    """The FHIR system URI for a v2 coding-system name (table 0396), an OID or a URI; else None."""
    n = name.strip()
    if not n:
        return None
    row = table("hl7v2/coding-systems.csv").get(n) or table("hl7v2/coding-systems.csv").get(
        n.upper())
    if row:
        return cell(row["uri"])
    m = _HL7_TABLE.match(n)
    if m:
        return V2_TABLE.format(m.group(1))
    if _OID.match(n):
        return oid_uri(n)
    if _URI.match(n):
        return n
    return None  # a local or unknown system: keep code and display, invent no URI




def cwe(rep: Rep) -> dict | None:
    """CWE/CE/CNE/CF -> CodeableConcept: .1-.3 and .4-.6 and .10-.12 codings, .9 text, .7 version."""
    if not rep:
        return None
    (code1, text1, system1, code2, text2, system2, version1, version2, text,
     code3, text3, system3, version3) = components(rep, 13)
    # a coding for each triplet that holds a code or text (most CWE fill the first only);
    # codeable() spelled out
    codings = []
    if code1 or text1:
        codings.append(_read_coding(system_uri(system1), code1, text1, version1))
    if code2 or text2:
        codings.append(_read_coding(system_uri(system2), code2, text2, version2))
    if code3 or text3:
        codings.append(_read_coding(system_uri(system3), code3, text3, version3))
    if codings:
        return {"coding": codings, "text": text} if text else {"coding": codings}
    return {"text": text} if text else None


def _read_coding(system: str | None, code: str, display: str, version: str) -> dict:
    """coding() of the parts of a CWE: stripped text, a code or a display, a system as
    system_uri() gives it (stripped, or None). The same Coding, screened, without coding()'s
    checks for other input: built for nearly every coded field read (tests compare the two)."""
    if code:
        words = code.split()
        if len(words) != 1:  # white space inside: folded, as coding() does
            code = " ".join(words)
    out = {"system": system} if system else {}
    if version:
        out["version"] = version
    if code:
        out["code"] = code
    if display:
        out["display"] = display
    if needs_repair(system, code or None):  # screen(out), its verdict asked directly
        BUILT.unsettled = True
    return out


# A Coding kept by a cache: its items (each caller gets a dict of its own, as the code repairs
# change elements in place) and screen()'s verdict on it, which _hand_out() passes on.
Kept = tuple[tuple[tuple[str, str], ...], bool]


def _kept(found: dict) -> Kept:
    return tuple(found.items()), verdict(found)


def _hand_out(kept: Kept) -> dict:
    """A fresh Coding from a kept one, marking `BUILT` as screen() would have."""
    items, unsettled = kept
    if unsettled:
        BUILT.unsettled = True
    return dict(items)


def fixed_coding(system: str, code: str, display: str | None = None) -> dict:
    """coding() for a code the map names itself (a category, a participant type): built once per
    distinct code, a fresh dict each call."""
    return _hand_out(_fixed_coding(system, code, display))


@lru_cache(maxsize=256)  # called with constants only: a handful of distinct codes
def _fixed_coding(system: str, code: str, display: str | None) -> Kept:
    """The Coding, kept with screen()'s verdict on it."""
    found = coding(system, code, display)
    assert found is not None  # the callers' system is set and their code never empty
    return _kept(found)


def table_coding(table_id: str, code: str, name: str | None = None) -> dict | None:
    """A Coding in the v2 table's own code system (for codes with no FHIR concept map)."""
    if not code:
        return None
    return coding(V2_TABLE.format(table_id), code, name)


@lru_cache(maxsize=4096)  # a pure table lookup, asked for most coded fields
def mapped(table_name: str, code: str) -> str | None:
    """The FHIR code for a v2 code through one of the IG-derived tables in mappings/hl7v2/tables."""
    return cell(lookup(T.format(table_name), code.strip())) if code else None


def mapped_coding(table_name: str, code: str) -> dict | None:
    """The FHIR Coding (system, code, display) for a v2 code through an IG-derived table."""
    found = _mapped_coding(table_name, code)
    return _hand_out(found) if found else None


@lru_cache(maxsize=4096)  # a pure table lookup; mapped_coding builds a fresh dict from it
def _mapped_coding(table_name: str, code: str) -> Kept | None:
    """The Coding, kept with screen()'s verdict on it, or None when the table maps no FHIR code
    for `code`."""
    row = table(T.format(table_name)).get(code.strip()) if code else None
    if not row or not row.get("target") or row["target"].startswith("!"):
        return None
    found = coding(row.get("system") or None, row["target"], row.get("display") or None)
    return _kept(found) if found else None


# -- identifiers -------------------------------------------------------------------------------

def authority(rep: Rep, i: int) -> tuple[str | None, str]:
    """Component i read as an HD (namespace & universal id & id type): its system URI, as
    hd_system() gives it, and its label, as hd_label() gives it."""
    parts = rep[i - 1] if len(rep) >= i else []
    ns = parts[0].strip() if parts else ""
    uid = parts[1].strip() if len(parts) > 1 else ""
    kind = parts[2].strip() if len(parts) > 2 else ""
    return _authority_system(ns, uid, kind.upper()), ns or uid


def identifier(value: str, system: str | None, label: str, type_: dict | None = None,
               period: dict | None = None) -> dict:
    """An Identifier (value stripped and not empty): the assigning authority's system, or, when
    it has none, its label as the assigner's display."""
    ident: dict[str, Any] = {}
    if type_:
        ident["type"] = type_
    if system:
        ident["system"] = system
    ident["value"] = value
    if period:
        ident["period"] = period
    if label and not system:
        ident["assigner"] = {"display": label}
    if needs_repair(system or None, None):  # screen(ident), its verdict asked directly: no code
        BUILT.unsettled = True
    return ident


def hd_system(hd: Rep) -> str | None:
    """HD -> a system URI: OID (HD.3=ISO) or UUID, a URI namespace, or a configured authority."""
    ns, uid, kind = components(hd, 3)
    return _authority_system(ns, uid, kind.upper())


@lru_cache(maxsize=4096)  # a pure lookup in tables read once per process, called per identifier
def _authority_system(ns: str, uid: str, kind: str) -> str | None:
    if uid and (kind in ("ISO", "") and _OID.match(uid)):
        return oid_uri(uid)
    if uid and kind == "UUID":
        return f"urn:uuid:{uid.lower()}"
    if uid and _URI.match(uid):
        return uid
    for name in (ns, uid):
        if name:
            row = table("identifier-authorities.csv", key="authority").get(name)
            if row:
                return cell(row["uri"])
            if _URI.match(name):
                return name
    return None


def hd_label(hd: Rep) -> str:
    """A display name for an HD: its namespace, else its universal id."""
    return c(hd, 1) or c(hd, 2)


def cx(rep: Rep) -> dict | None:
    """CX -> Identifier: .1 value, .4 system (or assigner), .5 type, .7/.8 period."""
    value, _, _, _, type_code, _, start, end = components(rep, 8)
    if not value:
        return None
    system, label = authority(rep, 4)
    period = compact({"start": date_only(start), "end": date_only(end)}) if start or end \
        else None
    return identifier(value, system, label, identifier_type(type_code), period)


def identifier_type(code: str | None) -> dict | None:
    """CX.5 / XCN.13 (table 0203) -> Identifier.type."""
    if not code:
        return None
    return {"coding": [_hand_out(_identifier_type_coding(code))]}


@lru_cache(maxsize=1024)  # a pure table lookup, asked for nearly every identifier
def _identifier_type_coding(code: str) -> Kept:
    """The Coding, kept with screen()'s verdict on it."""
    row = table(T.format("0203-identifier-type")).get(code)
    if row and row.get("target"):
        found = coding(row.get("system") or V2_TABLE.format("0203"), row["target"],
                       row.get("display") or None)
    else:
        found = coding(V2_TABLE.format("0203"), code)
    assert found is not None  # a system and a code: identifier_type() asks for none empty
    return _kept(found)


def ei(rep: Rep, type_code: str | None = None) -> dict | None:
    """EI -> Identifier: .1 value, .2/.3/.4 assigning authority as an HD."""
    value, namespace, universal_id, id_type = components(rep, 4)
    if not value:
        return None
    system = _authority_system(namespace, universal_id, id_type.upper())
    return identifier(value, system, namespace or universal_id, identifier_type(type_code))


def business_key(ids: list[dict], prefer_last: bool = False) -> str | None:
    """system|value of the first identifier (or of the last: a filler number after the placer's),
    the key deterministic ids are made from; None when there is none."""
    for ident in (reversed(ids) if prefer_last else ids):
        return f"{ident.get('system', '')}|{ident['value']}"
    return None


def identity_key(ident: dict) -> str:
    """A stable key for an Identifier: system (or assigner) and value."""
    return key_of(ident.get("system"), (ident.get("assigner") or {}).get("display", ""),
                  ident.get("value", ""))


def key_of(system: str | None, label: str, value: str) -> str:
    """identity_key() of the Identifier that identifier(value, system, label) builds, without
    building it (the people of a message are looked up by key before they are made)."""
    return f"{system or label}|{value}"


# -- names, addresses, telecom ------------------------------------------------------------------

def xpn(rep: Rep) -> dict | None:
    """XPN -> HumanName: .1 family, .2/.3 given, .4 suffix, .5 prefix, .6 degree, .7 use."""
    (family, given1, given2, suffix, prefix, degree, use, _, _, _, _,
     start, end) = components(rep, 13)
    if not (family or given1 or given2):
        return None
    return compact({
        "use": mapped("0200-name-use", use),
        "family": family,
        "given": [g for g in (given1, given2) if g],
        "prefix": [prefix] if prefix else None,
        "suffix": [s for s in (suffix, degree) if s],
        "period": compact({"start": dtm(start), "end": dtm(end)}) if start or end else None,
    })


def xad(rep: Rep) -> dict | None:
    """XAD -> Address: .1/.2 line, .3 city, .4 state, .5 postalCode, .6 country, .7 use/type,
    .9 district."""
    line1, line2, city, state, postal_code, country, kind, _, district = components(rep, 9)
    addr = compact({
        "use": mapped("0190-address-use", kind),
        "type": mapped("0190-address-type", kind),
        "line": [x for x in (line1, line2) if x],
        "city": city,
        "district": district,
        "state": state,
        "postalCode": postal_code,
        "country": country,
    })
    if not addr or set(addr) <= {"use", "type"}:
        return None
    return addr


def xtn(rep: Rep, default_use: str | None) -> dict | None:
    """XTN -> ContactPoint: value from .1/.12, .4 (email) or .5-.8; .2 use; .3 system."""
    (number, use_code, equip, email, country, area, local, extension, _, _, _,
     unformatted) = components(rep, 12)
    system = mapped("0202-telecom-system", equip)
    use = mapped("0201-telecom-use", use_code) or default_use
    if equip == "CP":
        system, use = "phone", "mobile"
    if equip in ("Internet", "X.400") or use_code == "NET":
        value = email or number
        system = "email"
    else:
        value = number or unformatted or " ".join(x for x in (
            f"+{country}" if country else "",
            f"({area})" if area else "",
            local,
            f"ext. {extension}" if extension else "") if x) or email
        if system is None and value and "@" in value:
            system = "email"
    if not value:
        return None
    point = compact({"system": system or ("phone" if value else None), "value": value, "use": use})
    screen(point)  # its system is no code system, but a table names it
    return point

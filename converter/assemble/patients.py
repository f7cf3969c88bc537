"""Patient matching across sources: who is the same person.

Rule, applied to Patient records in input order (so the result does not depend on anything else):
1. Identifier: two records that share a person identifier (same system and value; see
   `identity_key`) are the same person, unless they contradict each other on birth date or sex:
   then an error issue says so and the records stay apart.
2. Demographics: a record with no shared identifier joins a person with the same birth date (a full
   date on both sides), compatible sex (equal, or one unknown) and the same name after normalisation
   (case, accents, punctuation; the first given name, or its initial), provided the two hold no
   identifiers of the same system with different values (which says they are different people),
   nor only different numbers of no stated system (a DICOM Patient ID without issuer, say).
   An information issue records every demographic match.
Account and visit numbers are not person identifiers (`mappings/person-identifier-types.csv`).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ..issues import Issue, Location
from ..vocabulary import table

_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe",
                           "Ü": "ue", "æ": "ae", "ø": "oe", "å": "aa"})
# What `normalise` drops from a name that is all ASCII: anything but a letter or digit.
_ASCII_NON_ALNUM = re.compile(r"[^0-9A-Za-z]+")
# Where a name given only as text is split into its parts.
_NAME_PARTS = re.compile(r"[\s,]+")


@dataclass
class Person:
    """One person: the Patient records (ids) found to be them, and what they are known by."""

    patient_ids: list[str] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    systems: dict[str, set[str]] = field(default_factory=dict)  # system -> values
    bare: set[tuple[str, str]] = field(default_factory=set)  # (type, value) with no system
    birth_date: str = ""
    gender: str = ""
    names: set[tuple[str, str]] = field(default_factory=set)

    @property
    def id(self) -> str:
        return self.patient_ids[0]


def identity_key(ident: dict) -> tuple[str, str] | None:
    """(system, value) of a person identifier, with local authority names mapped to their system
    URI by `mappings/identifier-authorities.csv`; None for account/visit numbers and the like."""
    value = (ident.get("value") or "").strip()
    if not value or ident.get("use") == "old":
        return None
    for coding in (ident.get("type") or {}).get("coding", []):
        row = table("person-identifier-types.csv").get(coding.get("code", ""))
        if row is not None and row["person"] == "no":
            return None
    system = (ident.get("system") or "").strip()
    if not system:
        authority = ((ident.get("assigner") or {}).get("display") or "").strip()
        if not authority:
            return None  # a bare value says nothing about whose numbering it is
        row = table("identifier-authorities.csv", key="authority").get(authority)
        system = row["uri"] if row else f"assigner:{authority.casefold()}"
    return system, value


def normalise(text: str) -> str:
    """A name for comparison: transliterated umlauts, no accents, case or punctuation."""
    if text.isascii():
        # Most names: nothing to transliterate or strip of accents, and the ASCII letters and
        # digits are exactly what str.isalnum keeps, so this is the same result, only quicker.
        return _ASCII_NON_ALNUM.sub("", text).lower()
    text = text.translate(_TRANSLIT)
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if ch.isalnum() and not unicodedata.combining(ch)).casefold()


def name_keys(patient: dict) -> set[tuple[str, str]]:
    """(family, first given) pairs, normalised, from every name (text-only names parsed)."""
    out = set()
    for name in patient.get("name") or []:
        family = name.get("family") or ""
        given = (name.get("given") or [""])[0]
        if not family and name.get("text"):
            parts = [p for p in _NAME_PARTS.split(name["text"]) if p]
            if "," in name["text"] and parts:
                family, given = parts[0], (parts[1] if len(parts) > 1 else "")
            elif parts:
                family, given = parts[-1], parts[0] if len(parts) > 1 else ""
        given = (given.split() or [""])[0]
        if family:
            out.add((normalise(family), normalise(given)))
    return out


def _names_match(a: set[tuple[str, str]], b: set[tuple[str, str]]) -> bool:
    for fam_a, giv_a in a:
        for fam_b, giv_b in b:
            if fam_a != fam_b:
                continue
            if giv_a == giv_b or (giv_a and giv_b and (
                    (len(giv_a) == 1 and giv_b.startswith(giv_a)) or
                    (len(giv_b) == 1 and giv_a.startswith(giv_b)))):
                return True
    return False


def _gender_compatible(a: str, b: str) -> bool:
    return not a or not b or a == b or "unknown" in (a, b)


def _describe(patient: dict) -> str:
    name = (patient.get("name") or [{}])[0]
    text = name.get("text") or " ".join(name.get("given", []) + [name.get("family", "")])
    return f"{text.strip() or 'unnamed'} ({patient.get('birthDate', 'no birth date')})"


def _type_code(ident: dict) -> str:
    return next((c.get("code", "") for c in (ident.get("type") or {}).get("coding", [])), "")


# Bare numbers compared for blocking: record numbers (a DICOM Patient ID without issuer has no
# type). A licence or passport number without its issuer is too weak to keep people apart.
RECORD_NUMBER_TYPES = frozenset({"", "MR", "PI", "PT"})


def _bare_conflict(a: set[tuple[str, str]], b: set[tuple[str, str]]) -> bool:
    """True when both hold record numbers of no stated system, of one type, and none agree."""
    for kind in {t for t, _ in a} & {t for t, _ in b} & RECORD_NUMBER_TYPES:
        if not {v for t, v in a if t == kind} & {v for t, v in b if t == kind}:
            return True
    return False


def match(patients: list[tuple[dict, str]]) -> tuple[list[Person], dict[str, str], list[Issue]]:
    """Persons from Patient records (each with the source it came from), in order of first
    appearance; a map Patient id -> person id; and issues for conflicts and demographic matches."""
    persons: list[Person] = []
    by_key: dict[tuple[str, str], Person] = {}
    # birth date -> the persons born that day, in the order of `persons`: a demographic match
    # looks only at these, so that matching stays linear in the number of records
    born: dict[str, list[Person]] = {}
    owner: dict[str, str] = {}
    issues: list[Issue] = []
    for patient, source in patients:
        pid = patient["id"]
        if pid in owner:
            continue
        keys = {k for k in (identity_key(i) for i in patient.get("identifier") or []) if k}
        bare = {(_type_code(i), i["value"].strip()) for i in patient.get("identifier") or []
                if not i.get("system") and not i.get("assigner")
                and isinstance(i.get("value"), str) and i["value"].strip()}
        birth, gender = patient.get("birthDate", ""), patient.get("gender", "")
        names = name_keys(patient)
        found: Person | None = None
        conflict = False
        for key in sorted(keys):
            candidate = by_key.get(key)
            if candidate is None:
                continue
            if candidate.birth_date and birth and candidate.birth_date != birth or \
                    not _gender_compatible(candidate.gender, gender):
                issues.append(Issue(
                    "error", "identity-conflict",
                    f"identifier {key[1]} ({key[0]}) names both {_describe(patient)} and an earlier "
                    f"record born {candidate.birth_date or '?'}, sex {candidate.gender or '?'}: "
                    "kept apart, check the sources", Location(source=source,
                                                              expression="Patient.identifier")))
                conflict = True
                break
            found = candidate
            break
        if found is None and not conflict and len(birth) == 10 and names:
            for candidate in born.get(birth, ()):
                if not _gender_compatible(candidate.gender, gender):
                    continue
                if not _names_match(candidate.names, names):
                    continue
                if any(s in candidate.systems and v not in candidate.systems[s] for s, v in keys):
                    continue  # same numbering system, different number: different people
                if _bare_conflict(bare, candidate.bare):
                    continue  # numbers of one type and no stated system, all different
                found = candidate
                issues.append(Issue(
                    "information", "matched-by-demographics",
                    f"{_describe(patient)} matched an earlier record by name, birth date and sex",
                    Location(source=source, expression="Patient")))
                break
        if found is None:
            found = Person()
            persons.append(found)
        found.patient_ids.append(pid)
        owner[pid] = found.id
        for key in keys:
            by_key.setdefault(key, found)
            found.keys.add(key)
            found.systems.setdefault(key[0], set()).add(key[1])
        if birth and not found.birth_date:
            found.birth_date = birth
            if found is persons[-1]:
                born.setdefault(birth, []).append(found)
            else:  # an earlier person whose birth date comes only now: keep the order of `persons`
                born[birth] = [p for p in persons if p.birth_date == birth]
        found.gender = found.gender if found.gender not in ("", "unknown") else gender
        found.names |= names
        found.bare |= bare
    return persons, owner, issues

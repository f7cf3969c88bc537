"""The Patient of a header, and which headers name the same patient (never merging two people).

Files are first told apart by the raw bytes of their patient attributes (cheap, no decoding); each
distinct set is decoded once. Two sets are the same patient when Patient ID and its issuer agree
and neither the birth date nor the family name contradicts; with no Patient ID, name and birth date
decide. The Patient id is deterministic: Patient ID + issuer, else name + birth date.
"""
from __future__ import annotations

import unicodedata
import warnings
from dataclasses import dataclass, field

from pydicom.dataset import Dataset

from ...fhir.datatypes import absent, coding, prune
from ...fhir.ids import resource_id
from ...vocabulary import table
from .codes import oid_system
from .names import DecodedName, display, human_names, person_names
from .values import ascii_value, fhir_date, sequence, text_value

SPECIFIC_CHARACTER_SET = 0x00080005
PATIENT_NAME, PATIENT_ID, ISSUER_OF_PATIENT_ID = 0x00100010, 0x00100020, 0x00100021
TYPE_OF_PATIENT_ID, ISSUER_QUALIFIERS = 0x00100022, 0x00100024
BIRTH_DATE, SEX = 0x00100030, 0x00100040
OTHER_PATIENT_IDS, OTHER_PATIENT_IDS_SEQUENCE = 0x00101000, 0x00101002
IDENTITY_REMOVED = 0x00120062
LOCAL_NAMESPACE, UNIVERSAL_ENTITY_ID, UNIVERSAL_ENTITY_ID_TYPE = 0x00400031, 0x00400032, 0x00400033
IDENTIFIER_TYPE_CODE = 0x00400035
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"

# The attributes whose raw bytes tell one patient's files from another's.
SIGNATURE_TAGS = (SPECIFIC_CHARACTER_SET, PATIENT_NAME, PATIENT_ID, ISSUER_OF_PATIENT_ID,
                  BIRTH_DATE, SEX)
MAPPED_TAGS = frozenset({*SIGNATURE_TAGS, TYPE_OF_PATIENT_ID, ISSUER_QUALIFIERS, OTHER_PATIENT_IDS,
                         OTHER_PATIENT_IDS_SEQUENCE, IDENTITY_REMOVED})


def signature(ds: Dataset) -> tuple:
    """The raw patient attributes of a header, comparable without decoding anything."""
    out = []
    for tag in SIGNATURE_TAGS:
        elem = ds.get_item(tag)
        value = None if elem is None else elem.value
        out.append(value if isinstance(value, bytes) else (None if value is None else str(value)))
    qualifiers = sequence(ds, ISSUER_QUALIFIERS) if ISSUER_QUALIFIERS in ds else []
    out.append(ascii_value(qualifiers[0], UNIVERSAL_ENTITY_ID) if qualifiers else "")
    return tuple(out)


@dataclass(slots=True)
class Note:
    """Something to report about a patient's attributes, placed on a file when it is reported."""

    severity: str
    code: str
    message: str
    tag: str


@dataclass(slots=True)
class PatientInfo:
    """The decoded patient attributes of one signature."""

    patient_id: str
    issuer: str
    system: str | None
    id_type: str
    names: list[DecodedName]
    birth_date: str | None
    birth_raw: str
    sex: str
    other_ids: list[dict]
    identity_removed: bool
    notes: list[Note] = field(default_factory=list)

    @property
    def key(self) -> tuple:
        """What identifies the patient: Patient ID and issuer, else name and birth date.

        (issuer system or name, Patient ID) is the key the HL7 v2 and CDA readers use for an
        identifier too, so the same patient gets the same Patient id from every format.
        """
        if self.patient_id:
            return (self.system or self.issuer, self.patient_id)
        if self.names or self.birth_raw:
            return ("name", self.names[0].text if self.names else "", self.birth_raw)
        return ()

    @property
    def family(self) -> str:
        if not self.names:
            return ""
        return _fold(self.names[0].alphabetic.split("^")[0])

    @property
    def label(self) -> str:
        """How messages name the patient: "Peter Doe (ID 98890234)"."""
        name = display(self.names[0]) if self.names else "unnamed"
        return f"{name} (ID {self.patient_id})" if self.patient_id else name

    def same_person(self, other: PatientInfo) -> bool:
        """False when the birth date or the family name contradicts (both known and different)."""
        births_differ = bool(self.birth_raw and other.birth_raw
                             and self.birth_raw != other.birth_raw)
        families_differ = bool(self.family and other.family and self.family != other.family)
        return not (births_differ or families_differ)


def decode(ds: Dataset) -> PatientInfo:
    """The patient attributes of a header, decoded with its character set."""
    notes: list[Note] = []
    patient_id = text_value(ds, PATIENT_ID)
    issuer = text_value(ds, ISSUER_OF_PATIENT_ID)
    system, id_type = None, ""
    for item in sequence(ds, ISSUER_QUALIFIERS)[:1]:
        system, namespace = issuer_of(item)
        id_type = ascii_value(item, IDENTIFIER_TYPE_CODE)
        issuer = issuer or namespace
    if system is None and issuer:
        system = authority_system(issuer)
    with warnings.catch_warnings(record=True) as caught:  # e.g. an unknown character set
        warnings.simplefilter("always")
        names = person_names(ds, PATIENT_NAME)
    for message in dict.fromkeys(str(w.message) for w in caught):
        notes.append(Note("warning", "bad-encoding", f"Patient's Name: {message}", "(0008,0005)"))
    for n in names:
        if n.note:
            notes.append(Note("warning", "bad-encoding", f"Patient's Name: {n.note}",
                              "(0010,0010)"))
    birth_raw = ascii_value(ds, BIRTH_DATE)
    birth = fhir_date(birth_raw) if birth_raw else None
    if birth_raw and birth is None:
        notes.append(Note("warning", "invalid-date",
                          f"Patient's Birth Date {birth_raw!r} is not a date (YYYYMMDD)",
                          "(0010,0030)"))
    sex = ascii_value(ds, SEX).upper()
    if sex and sex not in table("dicom/sex.csv"):
        notes.append(Note("warning", "unknown-code", f"Patient's Sex {sex!r} is not M, F or O",
                          "(0010,0040)"))
    if not patient_id:
        notes.append(Note("warning", "missing-field",
                          "no Patient ID: the patient is told apart by name and birth date only",
                          "(0010,0020)"))
    return PatientInfo(patient_id, issuer, system, id_type, names, birth, birth_raw, sex,
                       _other_ids(ds), ascii_value(ds, IDENTITY_REMOVED).upper() == "YES", notes)


def issuer_of(item: Dataset) -> tuple[str | None, str]:
    """An issuer item (HL7 v2 HD as DICOM writes it): its system URI and its local name."""
    return entity_system(item), text_value(item, LOCAL_NAMESPACE)


def entity_system(item: Dataset) -> str | None:
    """The URI of an HL7 v2 HD-like issuer item (Universal Entity ID and its type)."""
    uid, kind = ascii_value(item, UNIVERSAL_ENTITY_ID), ascii_value(item, UNIVERSAL_ENTITY_ID_TYPE)
    if not uid:
        return None
    row = table("dicom/entity-id-types.csv").get(kind.upper())
    if row is None:
        return None
    if row["prefix"] == "urn:oid:":
        return oid_system(uid)
    return row["prefix"] + uid


def authority_system(issuer: str) -> str | None:
    """The system URI of a free-text issuer: an OID, a URI, or a configured authority name."""
    if _looks_like_oid(issuer):
        return oid_system(issuer)
    if ":" in issuer and issuer.split(":", 1)[0].isalpha() and " " not in issuer:
        return issuer
    row = table("identifier-authorities.csv", key="authority").get(issuer)
    return row["uri"] if row and row.get("uri") else None


def _other_ids(ds: Dataset) -> list[dict]:
    out = []
    for item in sequence(ds, OTHER_PATIENT_IDS_SEQUENCE):
        value = text_value(item, PATIENT_ID)
        if not value:
            continue
        issuer = text_value(item, ISSUER_OF_PATIENT_ID)
        system = authority_system(issuer) if issuer else None
        for q in sequence(item, ISSUER_QUALIFIERS)[:1]:
            system = entity_system(q) or system
        out.append(identifier(value, system, issuer, ""))
    for value in text_value(ds, OTHER_PATIENT_IDS).split("\\"):
        if value.strip():
            out.append({"value": value.strip()})
    return out


def identifier(value: str, system: str | None, issuer: str, id_type: str) -> dict:
    """An Identifier; a free-text issuer with no URI becomes the assigner's display."""
    return prune({
        "type": {"coding": [coding(V2_0203, id_type)]} if id_type else None,
        "system": system,
        "value": value,
        "assigner": {"display": issuer} if issuer and not system else None,
    })


def patient_resource(info: PatientInfo, patient_id: str) -> dict:
    """The Patient resource of decoded attributes."""
    names = [h for n in info.names for h in human_names(n)]
    resource = {
        "resourceType": "Patient",
        "id": patient_id,
        "identifier": ([identifier(info.patient_id, info.system, info.issuer, info.id_type)]
                       if info.patient_id else []) + info.other_ids,
        "name": names,
        "gender": table("dicom/sex.csv").get(info.sex, {}).get("gender"),
        "birthDate": info.birth_date,
    }
    out = prune(resource)
    if info.birth_date is None:
        out["_birthDate"] = absent("unknown")
    return out


def _looks_like_oid(text: str) -> bool:
    parts = text.split(".")
    return len(parts) > 2 and all(p.isdigit() for p in parts)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip()


@dataclass(slots=True)
class Identity:
    """One patient as the reader tells them apart: the Patient id and the decoded attributes."""

    patient_id: str
    info: PatientInfo
    conflict: str = ""  # why this patient was kept apart from another with the same Patient ID
    notes: list[Note] = field(default_factory=list)  # of every header that names this patient

    def note(self, info: PatientInfo) -> None:
        """Take the notes of another header that names this patient (each note once)."""
        self.notes.extend(n for n in info.notes if n not in self.notes)


def resolve(infos: dict[tuple, PatientInfo]) -> dict[tuple, Identity]:
    """The Identity of every signature that has a key: same key and no contradiction is one patient.

    Signatures with no key at all (no Patient ID, name or birth date) are left out: the caller keeps
    such files one patient per study.
    """
    clusters: dict[tuple, list[Identity]] = {}
    out: dict[tuple, Identity] = {}
    for sig, info in infos.items():
        key = info.key
        if not key:
            continue
        group = clusters.setdefault(key, [])
        match = next((ident for ident in group if ident.info.same_person(info)), None)
        if match is None:
            if not group:
                match = Identity(resource_id("Patient", *key), info)
            else:
                match = Identity(resource_id("Patient", *key, info.birth_raw, info.family), info,
                                 conflict=group[0].info.label)
            group.append(match)
        match.note(info)
        out[sig] = match
    return out

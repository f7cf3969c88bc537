"""DICOM code sequence items (value, scheme designator, meaning) as FHIR Codings."""
from __future__ import annotations

from pydicom.dataset import Dataset

from ...fhir.datatypes import codeable, coding
from ...fhir.systems import oid_uri
from ...vocabulary import table
from .values import ascii_value, sequence, text_value

SCHEMES = "dicom/coding-schemes.csv"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
SNOMED = "http://snomed.info/sct"

CODE_VALUE, LONG_CODE_VALUE, URN_CODE_VALUE = 0x00080100, 0x00080119, 0x00080120
SCHEME, SCHEME_VERSION, MEANING = 0x00080102, 0x00080103, 0x00080104
SCHEME_IDENTIFICATION = 0x00080110  # Coding Scheme Identification Sequence
SCHEME_UID = 0x0008010C


def oid_system(uid: str) -> str:
    """The system URI of an OID (code or identifier system): its canonical URI, else urn:oid."""
    return oid_uri(uid)


def local_schemes(ds: Dataset) -> dict[str, str]:
    """Coding schemes a data set declares itself (designator -> system URI of their UID)."""
    out = {}
    for item in sequence(ds, SCHEME_IDENTIFICATION):
        designator, uid = ascii_value(item, SCHEME), ascii_value(item, SCHEME_UID)
        if designator and uid:
            out[designator] = oid_system(uid)
    return out


def scheme_uri(designator: str, local: dict[str, str] | None = None) -> str | None:
    """The FHIR system URI of a coding scheme designator, or None when it is not known."""
    row = table(SCHEMES).get(designator)
    if row:
        return row["uri"]
    return local.get(designator) if local else None


def code_item(item: Dataset, local: dict[str, str] | None = None) -> dict | None:
    """One code sequence item as a Coding (without a system when the scheme is not known)."""
    value = (ascii_value(item, CODE_VALUE) or text_value(item, LONG_CODE_VALUE)
             or text_value(item, URN_CODE_VALUE))
    designator = ascii_value(item, SCHEME)
    system = scheme_uri(designator, local) if designator else None
    if system is None and ascii_value(item, SCHEME_UID):  # the item names its scheme's UID
        system = oid_system(ascii_value(item, SCHEME_UID))
    if URN_CODE_VALUE in item and not designator:
        system = "urn:ietf:rfc:3986"
    return coding(system, value, text_value(item, MEANING) or None,
                  ascii_value(item, SCHEME_VERSION) or None)


def unknown_schemes(items: list[Dataset], local: dict[str, str] | None = None) -> list[str]:
    """Designators of these items that no table or declaration turns into a system URI."""
    out = []
    for item in items:
        designator = ascii_value(item, SCHEME)
        if designator and scheme_uri(designator, local) is None and designator not in out \
                and not ascii_value(item, SCHEME_UID):
            out.append(designator)
    return out


def code_sequence(ds: Dataset, tag: int, local: dict[str, str] | None = None) -> list[dict]:
    """Every item of a code sequence as a Coding."""
    return [c for c in (code_item(i, local) for i in sequence(ds, tag)) if c]


def concept(ds: Dataset, tag: int, local: dict[str, str] | None = None,
            text: str | None = None) -> dict | None:
    """A code sequence (and optional text) as one CodeableConcept."""
    return codeable(*code_sequence(ds, tag, local), text=text)

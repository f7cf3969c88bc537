"""Person Name (PN) values as FHIR HumanNames, with alphabetic, ideographic and phonetic groups.

A PN value is up to three groups split by "=" (alphabetic = ideographic = phonetic), each of five
components split by "^" (family ^ given ^ middle ^ prefix ^ suffix). pydicom decodes the groups with
the Specific Character Set, ISO 2022 escape sequences included; a value whose bytes do not fit the
declared character set is reported, and bytes with no character set declared that are valid UTF-8
are read as UTF-8.
"""
from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from ...fhir.datatypes import prune

REPRESENTATION = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"
GROUP_REPRESENTATION = ("ABC", "IDE", "SYB")  # alphabetic, ideographic, syllabic (phonetic)
SPECIFIC_CHARACTER_SET = 0x00080005


@dataclass(frozen=True, slots=True)
class DecodedName:
    """One PN value: its groups as text, and a note when decoding needed a guess or failed."""

    groups: tuple[str, ...]
    note: str = ""

    @property
    def text(self) -> str:
        return "=".join(self.groups).rstrip("=")

    @property
    def alphabetic(self) -> str:
        return self.groups[0] if self.groups else ""


def person_names(ds: Dataset, tag: int) -> list[DecodedName]:
    """Every value of a PN attribute, decoded, empty ones dropped."""
    elem = ds.get_item(tag)
    if elem is None or elem.value in (None, b"", ""):
        return []
    raw = elem.value if isinstance(elem.value, bytes) else None
    if raw is not None and SPECIFIC_CHARACTER_SET not in ds and not raw.isascii():
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return [DecodedName(tuple(_strip_groups(v.split("="))),
                                "no Specific Character Set (0008,0005) declared; read as UTF-8")
                    for v in text.strip(" \x00").split("\\") if v.strip()]
    try:
        value = ds[tag].value
    except Exception:  # a value that breaks its VR
        return []
    values = value if isinstance(value, (list, MultiValue)) else [value]
    out = []
    for v in values:
        if v is None:
            continue
        groups = tuple(_strip_groups(v.components if isinstance(v, PersonName)
                                     else str(v).split("=")))
        if not any(g for g in groups):
            continue
        note = ""
        if any("\ufffd" in g for g in groups):
            note = "bytes that the declared Specific Character Set cannot decode were replaced"
        out.append(DecodedName(groups, note))
    return out


def _strip_groups(groups) -> list[str]:
    out = [str(g).strip(" \x00") for g in groups]
    while out and not out[-1].strip("^ "):
        out.pop()
    return out


def human_names(name: DecodedName) -> list[dict]:
    """The HumanNames of a PN value: one per group, marked ABC / IDE / SYB if there are several."""
    present = [(i, g) for i, g in enumerate(name.groups) if g.strip("^ ")]
    several = len(present) > 1
    out = []
    for i, group in present:
        parts = [p.strip() for p in group.split("^")]
        parts += [""] * (5 - len(parts))
        family, given, middle, prefix = parts[:4]
        suffix = " ".join(p for p in parts[4:] if p)
        human = {"family": family, "given": [given, middle], "prefix": [prefix],
                 "suffix": [suffix]}
        if several and i < len(GROUP_REPRESENTATION):
            human["extension"] = [{"url": REPRESENTATION,
                                   "valueCode": GROUP_REPRESENTATION[i]}]
        human = prune(human)
        if human:
            out.append(human)
    return out


def display(name: DecodedName) -> str:
    """A name for messages: "Given Family" for Latin script, family then given for CJK."""
    for group in name.groups:
        parts = [p.strip() for p in group.split("^")]
        if not any(parts):
            continue
        family, given = parts[0], " ".join(p for p in parts[1:3] if p)
        return f"{given} {family}".strip() if group.isascii() else family + given
    return ""

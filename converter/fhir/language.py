"""Language codes -> BCP-47 (the code system FHIR binds every `language` element to)."""
from __future__ import annotations

import re

from ..vocabulary import table

BCP47 = "urn:ietf:bcp:47"
_TAG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


def bcp47(code: str) -> str | None:
    """A BCP-47 tag for a language code (ISO 639-1, ISO 639-2 via mappings/languages.csv, or a
    tag already), or None when `code` is not one."""
    code = code.strip()
    if not _TAG.match(code):
        return None
    primary, *rest = re.split(r"[-_]", code)
    primary = primary.lower()
    row = table("languages.csv").get(primary)
    if row:
        primary = row["bcp47"]
    elif len(primary) == 3:
        return None  # a three-letter code we cannot place: keep it as text
    subtags = [s.upper() if len(s) == 2 else s for s in rest]
    return "-".join([primary] + subtags)


def language_concept(code: str, display: str = "", text: str = "") -> dict | None:
    """A CodeableConcept in BCP-47, or text only when the source's code is not a language tag."""
    tag = bcp47(code) if code else None
    if tag:
        coding = {"system": BCP47, "code": tag}
        if display:
            coding["display"] = display
        return {"coding": [coding], **({"text": text} if text else {})}
    words = text or display or code
    return {"text": words} if words else None

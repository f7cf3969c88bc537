"""DICOM attribute values as plain Python: strings, numbers, dates and times in FHIR form.

Values that need no character set (UIDs, code strings, numbers, dates) are decoded from the raw
bytes directly, which is several times cheaper than pydicom's conversion; text that may hold any
language (names, descriptions) goes through pydicom, which applies the Specific Character Set.
"""
from __future__ import annotations

import re
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

UID_PATTERN = re.compile(r"^[0-9A-Za-z.\-]{1,64}$")  # FHIR's `id` type (series, instance uid)
_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TIME = re.compile(r"^(\d{2})(\d{2})?(\d{2})?(\.\d{1,6})?$")
_OFFSET = re.compile(r"^([+-])(\d{2})(\d{2})$")
_DATETIME = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,6})?([+-]\d{4})?$")


def ascii_value(ds: Dataset, tag: int) -> str:
    """A value that is ASCII by definition (UI, CS, IS, DS, DA, TM, AS), stripped of padding."""
    elem = ds.get_item(tag)
    if elem is None:
        return ""
    value = elem.value
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("ascii", "replace").strip(" \x00")
    if isinstance(value, (list, MultiValue)):
        return "\\".join(str(v) for v in value).strip()
    return str(value).strip(" \x00")


def int_value(ds: Dataset, tag: int) -> int | None:
    """An IS (integer string) value, or None when absent or not a whole number."""
    text = ascii_value(ds, tag)
    if not text or "\\" in text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if number.is_integer() else None


def text_value(ds: Dataset, tag: int) -> str:
    """A text value decoded with the data set's character set ("" when absent or unreadable)."""
    value = _converted(ds, tag)
    if value is None:
        return ""
    if isinstance(value, (list, MultiValue)):
        return "\\".join(str(v) for v in value if v is not None).strip()
    return str(value).strip()


def sequence(ds: Dataset, tag: int) -> list[Dataset]:
    """The items of a sequence attribute ([] when absent or not a sequence)."""
    value = _converted(ds, tag)
    if not isinstance(value, (list, MultiValue, Sequence)):
        return []
    return [item for item in value if isinstance(item, Dataset)]


def _converted(ds: Dataset, tag: int) -> Any:
    if tag not in ds:
        return None
    try:
        return ds[tag].value
    except Exception:  # pydicom raises many types for a value that breaks its VR
        return None


def is_uid(value: str) -> bool:
    """True when the UID also fits FHIR's `id` datatype (series and instance uids)."""
    return bool(UID_PATTERN.match(value))


def fhir_date(da: str) -> str | None:
    """A DICOM DA (YYYYMMDD; the old YYYY.MM.DD too) as a FHIR date, or None if not a date."""
    m = _DATE.match(da.replace(".", "").replace("-", "").strip())
    if not m:
        return None
    year, month, day = m.groups()
    if not ("01" <= month <= "12" and "01" <= day <= "31"):
        return None
    return f"{year}-{month}-{day}"


def fhir_offset(tz: str) -> str | None:
    """Timezone Offset From UTC (0008,0201) "+hhmm" as "+hh:mm", or None when absent or invalid."""
    m = _OFFSET.match(tz.strip())
    if not m:
        return None
    sign, hh, mm = m.groups()
    if hh > "14" or mm > "59":
        return None
    return f"{sign}{hh}:{mm}"


def fhir_time(tm: str) -> str | None:
    """A DICOM TM as FHIR time "hh:mm:ss[.ffffff]" (seconds added when the TM stops at minutes)."""
    m = _TIME.match(tm.replace(":", "").strip())
    if not m:
        return None
    hh, mm, ss, frac = m.groups()
    if hh > "23" or (mm or "00") > "59" or (ss or "00") > "60":
        return None
    return f"{hh}:{mm or '00'}:{ss or '00'}{frac or ''}"


def fhir_datetime(da: str, tm: str, tz: str) -> tuple[str | None, str]:
    """A DA + TM pair (+ offset) as a FHIR dateTime, and how the time was treated.

    The second value is "" when date and time are kept (with the offset), "cut" when the time was
    dropped because no offset is known (never the host's zone), "invalid" when the date or time
    cannot be read, and "none" when there is no date.
    """
    if not da.strip():
        return None, "none"
    date = fhir_date(da)
    if date is None:
        return None, "invalid"
    if not tm.strip():
        return date, ""
    time = fhir_time(tm)
    if time is None:
        return date, "invalid"
    offset = fhir_offset(tz)
    if offset is None:
        return date, "cut"
    return f"{date}T{time}{offset}", ""


def fhir_dt(dt: str, tz: str) -> tuple[str | None, str]:
    """A DICOM DT (YYYYMMDDhhmmss.ffffff&zzzz, any precision) as FHIR dateTime; as fhir_datetime.

    An offset written in the value wins over the data set's Timezone Offset From UTC `tz`.
    """
    text = dt.strip()
    if not text:
        return None, "none"
    m = _DATETIME.match(text)
    if not m:
        return None, "invalid"
    year, month, day, hh, mm, ss, frac, own_tz = m.groups()
    if month is None:
        return year, ""
    if day is None:
        return f"{year}-{month}", ""
    time = "".join(p for p in (hh, mm, ss, frac) if p)
    return fhir_datetime(year + month + day, time, own_tz or tz)


def tag_str(tag: int) -> str:
    """A tag as DICOM writes it: "(0010,0010)"."""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"

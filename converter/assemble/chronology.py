"""The clinical date of a resource, so that reading a Bundle reads the patient's history in order."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

# Where each resource type keeps the date that places it in the history, first found wins.
DATE_PATHS: dict[str, tuple[str, ...]] = {
    "Observation": ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued"),
    "DiagnosticReport": ("effectiveDateTime", "effectivePeriod.start", "issued"),
    "Condition": ("onsetDateTime", "onsetPeriod.start", "recordedDate"),
    "AllergyIntolerance": ("onsetDateTime", "onsetPeriod.start", "recordedDate"),
    "Procedure": ("performedDateTime", "performedPeriod.start"),
    "Immunization": ("occurrenceDateTime", "recorded"),
    "MedicationRequest": ("authoredOn",),
    "MedicationDispense": ("whenHandedOver", "whenPrepared"),
    "MedicationAdministration": ("effectiveDateTime", "effectivePeriod.start"),
    "DeviceUseStatement": ("timingDateTime", "timingPeriod.start", "recordedOn"),
    "Goal": ("startDate", "statusDate"),
    "CarePlan": ("period.start", "created"),
    "Consent": ("dateTime",),
    "FamilyMemberHistory": ("date",),
    "MedicationStatement": ("effectiveDateTime", "effectivePeriod.start", "dateAsserted"),
    "Encounter": ("period.start",),
    "ServiceRequest": ("authoredOn", "occurrenceDateTime"),
    "Specimen": ("collection.collectedDateTime", "receivedTime"),
    "ImagingStudy": ("started",),
    "DocumentReference": ("date", "context.period.start"),
    "Appointment": ("start", "created"),
    "Coverage": ("period.start",),
    "Provenance": ("recorded",),
    "MessageHeader": (),
}


# The same paths split at the dots once (a Bundle's order asks for every resource's date).
_PARTS: dict[str, tuple[tuple[str, ...], ...]] = {
    rtype: tuple(tuple(path.split(".")) for path in paths) for rtype, paths in DATE_PATHS.items()}


def _get(resource: dict[str, Any], parts: tuple[str, ...]) -> Any:
    value: Any = resource
    for part in parts:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def clinical_date(resource: dict[str, Any]) -> str:
    """The resource's clinical date as written (ISO 8601, sortable as text), or "" if it has none."""
    for parts in _PARTS.get(resource.get("resourceType", ""), ()):
        v = _get(resource, parts)
        if isinstance(v, str) and v:
            return v
    return ""


@lru_cache(maxsize=4096)  # a pure function of the text, and a message's resources share their times
def sort_key(date: str) -> str:
    """A text key that sorts ISO dates and date-times chronologically: times with an offset are
    moved to UTC first, so 10:00+02:00 sorts before 09:30Z."""
    if "T" not in date:
        return date
    try:
        moment = datetime.fromisoformat(date.replace("Z", "+00:00"))
    except ValueError:
        return date
    if moment.tzinfo is None:
        return date
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")

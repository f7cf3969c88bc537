"""medbundle: HL7 v2, CDA/C-CDA and DICOM to one validated FHIR R4 Bundle per patient.

    from converter import convert
    result = convert("feed.hl7")
    result.bundle, result.bundles, result.issues, result.ok
"""
from .convert import Result, convert
from .issues import Issue, Location

__version__ = "0.1.0"


def validate(bundle: dict) -> dict:
    """Validate a Bundle (or one resource) dict; returns a FHIR OperationOutcome dict."""
    from .validate import validate_bundle
    from .writers.outcome import operation_outcome

    return operation_outcome(validate_bundle(bundle))


__all__ = ["convert", "validate", "Result", "Issue", "Location", "__version__"]

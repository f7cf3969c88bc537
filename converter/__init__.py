"""medbundle: HL7 v2, CDA/C-CDA and DICOM to one validated FHIR R4 Bundle per patient.

    from converter import convert
    result = convert("feed.hl7")
    result.bundle, result.bundles, result.issues, result.ok
    for result in convert_each(messages, workers=2): ...   # one Result per message
    html = summarize(result.bundle, format="html", lang="zh")
"""
__version__ = "0.1.0"  # before the imports: modules below read it at import time

from .convert import Result, convert, convert_each  # noqa: E402
from .issues import Issue, Location  # noqa: E402


def validate(bundle: dict) -> dict:
    """Validate a Bundle (or one resource) dict; returns a FHIR OperationOutcome dict."""
    from .validate import validate_bundle
    from .writers.outcome import operation_outcome

    return operation_outcome(validate_bundle(bundle))


def summarize(bundle: dict, format: str = "html", lang: str = "en", **options):
    """The human-readable summary of a Bundle (HTML or Markdown text, PDF bytes)."""
    from .summary import summarize as _summarize

    return _summarize(bundle, format=format, lang=lang, **options)


__all__ = ["convert", "convert_each", "validate", "summarize", "Result", "Issue", "Location",
           "__version__"]

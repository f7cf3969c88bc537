"""Validation of FHIR output: structure (fhir.resources R4B models) and Bundle integrity."""
from .structure import validate_bundle, validate_resource

__all__ = ["validate_bundle", "validate_resource"]

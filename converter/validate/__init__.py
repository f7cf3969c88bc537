"""Validation of FHIR R4 JSON against the official definitions, offline.

Structure (fhir.resources R4B models), required and extensible bindings (official expansions),
invariants (FHIRPath), references, IPS 2.0 profiles and terminology sanity (UCUM, LOINC, OIDs).
Every issue carries the FHIRPath of the element it is about. See docs/validation.md.
"""
from .definitions import packages
from .validator import validate_bundle, validate_resource

__all__ = ["validate_bundle", "validate_resource", "packages"]

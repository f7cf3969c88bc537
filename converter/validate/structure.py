"""Structural validation with the fhir.resources R4B models, plus the empty values they miss.

The models check required elements, cardinality, datatypes and unknown elements; empty strings,
objects and arrays are found here on the plain dict. Resources are validated one by one (not as one
Bundle model) so that each error carries the entry's path. The models run compiled (models.py),
17 µs per resource of our HL7 v2 output instead of 150 through fhir_core, with the same verdicts.
Most resources are settled sooner by the models' stricter form (models.clean, about 9 µs), which
also rules out empty strings and arrays, and by their JSON for empty objects: the Python scan for
empty values and the exact models run only on what it refuses.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable

import msgspec
from pydantic import ValidationError

from ..collector import loads_static_data
from . import models


_encode = msgspec.json.Encoder().encode


@lru_cache(maxsize=None)
@loads_static_data
def _model(resource_type: str):
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(resource_type)
    except (KeyError, ValueError):  # fhir.resources 8 raises ValueError for an unknown name
        return None


def _path(prefix: str, loc: Iterable[Any]) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before", "function-wrap", "function-plain"):
            continue
        elif isinstance(part, str) and "[" in part:  # pydantic union tags like 'list[...]'
            continue
        else:
            out += f".{part}"
    return out


def model_problems(resource: Any, compiled: bool = True,
                   encoded: bytes | None = None) -> list[tuple[str, str, str, str]]:
    """(severity, code, message, path relative to the resource) for one resource.

    `encoded`, the resource's msgspec JSON when the caller has it (the validator's cache key),
    saves encoding it again. `compiled=False` runs the models through fhir_core itself (the
    reference the compiled form is tested against)."""
    rtype = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(rtype, str):
        return [("error", "structure", "resource without resourceType", "")]
    model = _model(rtype)
    if model is None:
        return [("error", "structure", f"unknown resourceType {rtype!r}", ".resourceType")]
    if compiled and _clean(model, resource, encoded):
        return []
    return _problems(model, resource, compiled)


def _problems(model: Any, resource: dict, compiled: bool) -> list[tuple[str, str, str, str]]:
    """model_problems() the long way: every empty value, then the model's errors."""
    out = empty_value_problems(resource)
    try:
        if compiled:
            models.validate(model, resource)
        else:
            model.model_validate(resource)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            out.append(("error", "structure", str(err.get("msg", "invalid")),
                        _path("", err["loc"])))
    except Exception as exc:  # noqa: BLE001 - fhir_core's Python validators raise ValueError,
        # TypeError, KeyError, even AttributeError (a number where a url belongs) on odd shapes:
        # whatever they raise, the input is not a valid resource
        out.append(("error", "structure", f"invalid resource: {type(exc).__name__}: {exc}", ""))
    return out


def _clean(model: type, resource: dict, encoded: bytes | None) -> bool:
    """The common case, decided without a Python walk: the model's stricter form accepts the
    resource (so the exact one does, and no string or array is empty) and its JSON holds no `{}`
    (an empty object, or those two characters inside a string: then the full check decides).
    Without `"_` in the JSON, no key starts with `_` and the form without `_x` elements does."""
    if encoded is None:
        try:
            encoded = _encode(resource)
        except (TypeError, ValueError, msgspec.EncodeError):  # (ValueError: a lone surrogate)
            return False
    return b"{}" not in encoded and models.clean(model, resource, b'"_' in encoded)


def empty_value_problems(resource: Any) -> list[tuple[str, str, str, str]]:
    """Empty strings, objects and arrays, which FHIR forbids (and the models accept)."""
    if not _has_empty(resource):  # the common case, found without building any path
        return []
    return [("error", "empty-value", "empty value (FHIR forbids empty strings, objects and arrays)",
             p) for p in _empty_paths(resource, "")]


def _has_empty(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if not item:
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            if not item:
                return True
            stack.extend(item)
        elif isinstance(item, str) and (not item or item.isspace()):  # no copy of long texts
            return True
    return False


def _empty_paths(value: Any, path: str) -> Iterable[str]:
    if isinstance(value, dict):
        if not value:
            yield path
        for k, v in value.items():
            yield from _empty_paths(v, f"{path}.{k}")
    elif isinstance(value, list):
        if not value:
            yield path
        for i, v in enumerate(value):
            yield from _empty_paths(v, f"{path}[{i}]")
    elif isinstance(value, str) and (not value or value.isspace()):
        yield path



def validate_resource(resource: dict, expression: str = "", source: str = "") -> list:
    """Structural issues only (the models and empty values) of one resource dict, as Issues.

    The first validator's entry point, kept for its callers; converter.validate.validate_resource
    runs every check."""
    from ..issues import Issue, Location

    rtype = resource.get("resourceType") if isinstance(resource, dict) else None
    prefix = expression or str(rtype or "Resource")
    return [Issue(sev, code, msg, Location(source=source, expression=prefix + rel))
            for sev, code, msg, rel in model_problems(resource)]

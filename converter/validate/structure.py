"""Structural validation with the fhir.resources R4B models, plus the Bundle rules they miss.

The models check required elements, cardinality, datatypes and unknown elements. They do not check
empty values, duplicate fullUrls or references, so those are checked here on the plain dicts.
Resources are validated one by one (not as one Bundle model) so that each error carries the entry's
path, and identical resources (the same Practitioner in a thousand messages) are validated once per
call, keyed by their canonical JSON.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable

import msgspec
from pydantic import ValidationError

from ..issues import Issue, Location

_encode = msgspec.json.Encoder(decimal_format="number", order="deterministic").encode


@lru_cache(maxsize=None)
def _model(resource_type: str):
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(resource_type)
    except KeyError:
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


def validate_resource(resource: dict, expression: str = "", source: str = "") -> list[Issue]:
    """Structural issues of one resource dict; `expression` prefixes the FHIRPath of each issue."""
    rtype = resource.get("resourceType") if isinstance(resource, dict) else None
    prefix = expression or str(rtype or "Resource")
    return [Issue(sev, code, msg, Location(source=source, expression=prefix + rel))
            for sev, code, msg, rel in _problems(resource)]


def _problems(resource: Any) -> list[tuple[str, str, str, str]]:
    """(severity, code, message, path relative to the resource) for one resource."""
    rtype = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(rtype, str):
        return [("error", "structure", "resource without resourceType", "")]
    model = _model(rtype)
    if model is None:
        return [("error", "structure", f"unknown resourceType {rtype!r}", ".resourceType")]
    out = [("error", "empty-value",
            "empty value (FHIR forbids empty strings, objects and arrays)", p)
           for p in _empty_paths(resource, "")]
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            out.append(("error", "structure", str(err.get("msg", "invalid")),
                        _path("", err["loc"])))
    except (ValueError, TypeError, KeyError) as exc:  # fhir_core raises these for odd shapes
        out.append(("error", "structure", f"invalid resource: {exc}", ""))
    return out


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
    elif isinstance(value, str) and not value.strip():
        yield path


def validate_bundle(bundle: dict, source: str = "") -> list[Issue]:
    """Issues of a Bundle dict: its envelope, every entry's resource, fullUrls and references."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        if isinstance(bundle, dict) and isinstance(bundle.get("resourceType"), str):
            return validate_resource(bundle, source=source)
        return [Issue("fatal", "not-fhir", "not a FHIR resource (no resourceType)",
                      Location(source=source))]
    issues: list[Issue] = []
    entries = bundle.get("entry") or []
    shell = dict(bundle)
    shell["entry"] = [{k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict)
                      else e for e in entries]
    if not shell["entry"]:
        del shell["entry"]
    issues.extend(validate_resource(shell, "Bundle", source))
    seen: dict[bytes, list[tuple[str, str, str, str]]] = {}
    full_urls: dict[str, int] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        prefix = f"Bundle.entry[{i}]"
        url = entry.get("fullUrl")
        if isinstance(url, str):
            if url in full_urls:
                issues.append(Issue("error", "duplicate-fullurl",
                                    f"fullUrl {url} also used by entry {full_urls[url]} (bdl-7)",
                                    Location(source=source, expression=prefix + ".fullUrl")))
            else:
                full_urls[url] = i
        res = entry.get("resource")
        if res is None:
            continue
        key = _encode(res)
        problems = seen.get(key)
        if problems is None:
            problems = seen[key] = _problems(res)
        issues.extend(Issue(sev, code, msg, Location(source=source,
                                                     expression=f"{prefix}.resource{rel}"))
                      for sev, code, msg, rel in problems)
    issues.extend(_reference_issues(entries, full_urls, source))
    return issues


def _reference_issues(entries: list, full_urls: dict[str, int], source: str) -> list[Issue]:
    issues: list[Issue] = []
    by_type_id = {}
    for entry in entries:
        res = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(res, dict) and res.get("id"):
            by_type_id[f"{res.get('resourceType')}/{res['id']}"] = True
    for i, entry in enumerate(entries):
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict):
            continue
        for path, target in _references(res, f"Bundle.entry[{i}].resource"):
            if target.startswith("#"):
                continue
            if target in full_urls or target in by_type_id:
                continue
            if target.startswith(("http://", "https://")) and "/" in target[8:]:
                continue  # absolute reference to a server outside the Bundle
            issues.append(Issue("error", "unresolved-reference",
                                f"reference {target!r} does not resolve inside the Bundle",
                                Location(source=source, expression=path)))
    return issues


def _references(value: Any, path: str) -> Iterable[tuple[str, str]]:
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str):
            yield path + ".reference", ref
        for k, v in value.items():
            if k != "reference" and isinstance(v, (dict, list)):
                yield from _references(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _references(v, f"{path}[{i}]")

"""validate_bundle / validate_resource: every check of the package, as Issues with FHIRPath locations.

Per resource: structure (fhir.resources R4B models, or none with models=False), then one walk along
the R4 definitions for required and extensible bindings, invariants and terminology (walk.py).
Per Bundle: duplicate fullUrls (bdl-7), references resolved inside the Bundle with their target
types (references.py), and the IPS profiles when the Bundle is an IPS document or when asked
(profiles.py). Identical resources (the same Practitioner in a thousand messages) are checked once:
the per-resource findings are cached by the resource's JSON.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable, Sequence, cast

import msgspec

from ..issues import Issue, Location, Severity
from . import profiles, references
from .structure import empty_value_problems, model_problems
from .walk import Findings, Problem, walk_resource

# Keys in the resource's own order (not sorted: a third faster to encode): the findings list the
# problems in that order, so a resource with the same content in another order is another key.
# The key is the JSON itself with the models, (JSON, False) without them: no tuple to make and
# hash for the usual call (a bytes never equals a tuple). cache_key(resource) is the JSON.
cache_key = msgspec.json.Encoder(decimal_format="number").encode
_CACHE_SIZE = 4096
_cache: OrderedDict[bytes | tuple[bytes, bool], tuple[list[Problem], Findings]] = OrderedDict()


def resource_findings(resource: dict, models: bool = True) -> tuple[list[Problem], Findings]:
    """Structural problems and walk findings of one resource (cached by its JSON)."""
    try:
        encoded = cache_key(resource)
    except (TypeError, ValueError, msgspec.EncodeError):
        # no JSON, or a string with a lone surrogate (ValueError): checked, never cached
        return uncached_findings(resource, models, None)
    key = encoded if models else (encoded, False)
    hit = _cache.get(key)
    if hit is not None:
        try:
            _cache.move_to_end(key)
        except KeyError:  # evicted meanwhile by a conversion in another thread
            pass
        return hit
    found = uncached_findings(resource, models, encoded)
    remember(key, found)
    return found


def is_cached(key: bytes) -> bool:
    """Whether the findings of the resource whose cache_key() is `key` are in the cache."""
    return key in _cache


def remember(key: bytes | tuple[bytes, bool], found: tuple[list[Problem], Findings]) -> None:
    """Cache the findings of the resource whose key is `key`: those resource_findings() computes,
    and those a worker process computed (parallel.py)."""
    _cache[key] = found
    if len(_cache) > _CACHE_SIZE:
        try:
            _cache.popitem(last=False)
        except KeyError:  # emptied meanwhile by another thread
            pass


def uncached_findings(resource: dict, models: bool, encoded: bytes | None
                      ) -> tuple[list[Problem], Findings]:
    """resource_findings() without the cache (`encoded`: the resource's cache_key(), if any);
    also what worker processes compute for the resources they are given (parallel.py)."""
    if not models:
        structural = empty_value_problems(resource)
    else:
        structural = model_problems(resource, encoded=encoded)
    return structural, _walk(resource)


def _walk(resource: dict) -> Findings:
    """walk_resource, which reads values in the shapes the definitions give them. Where the input
    breaks a shape so badly that a rule cannot be read (a number where a list belongs), the
    structural check has already reported the element; the resource's rules are then reported as
    not checked instead of raising."""
    try:
        return walk_resource(resource)
    except (TypeError, AttributeError, ValueError, KeyError, IndexError) as exc:
        return Findings(problems=[("error", "structure", "rules not checked: an element has a "
                                   f"shape FHIR does not allow ({type(exc).__name__}: {exc})", "")])


def _add_issues(out: list[Issue], problems: Iterable[Problem], prefix: str, source: str) -> None:
    """Append to `out` the Issues of `problems` (paths relative to `prefix`).

    Appended in a loop, not returned as a new list: called for nearly every entry (dom-6), where a
    comprehension and the list it makes cost as much as the Issues."""
    for severity, code, message, rel in problems:
        # (Location's fields by position, source ... expression: keywords cost a third more)
        out.append(Issue(cast(Severity, severity), code, message,
                         Location(source, None, None, None, None, None, None, prefix + rel)))


def validate_resource(resource: Any, expression: str = "", source: str = "", *,
                      profile: str | None = None, models: bool = True) -> list[Issue]:
    """Issues of one resource dict (anything else: not FHIR); `expression` prefixes the FHIRPath
    of each issue."""
    rtype = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(rtype, str):
        return [Issue("fatal", "not-fhir", "not a FHIR resource (no resourceType)",
                      Location(source=source, expression=expression or None))]
    if rtype == "Bundle" and not expression:
        return validate_bundle(resource, source, profile=profile, models=models)
    prefix = expression or rtype
    structural, found = resource_findings(resource, models)
    issues: list[Issue] = []
    _add_issues(issues, structural, prefix, source)
    _add_issues(issues, found.problems, prefix, source)
    _add_issues(issues, references.standalone(found), prefix, source)
    if profile == "ips":
        _add_issues(issues, profiles.resource_problems(resource), prefix, source)
    return issues


def bundle_entries(bundle: dict) -> list:
    """Bundle.entry when it is a list (anything else is the structural check's to report)."""
    entries = bundle.get("entry")
    return entries if isinstance(entries, list) else []


def _shell(bundle: dict, entries: list) -> dict:
    """The Bundle without its entries' resources, for the Bundle model (each resource is checked
    on its own, with its entry's path)."""
    shell = {k: v for k, v in bundle.items() if k != "entry"}
    stripped = []
    for entry in entries:
        if isinstance(entry, dict) and "resource" in entry:
            entry = entry.copy()  # (a copy in C, then one key out: half a comprehension's cost)
            del entry["resource"]
        stripped.append(entry)
    if stripped:
        shell["entry"] = stripped
    return shell


def _shell_problems(bundle: dict, entries: list) -> list[Problem]:
    """model_problems() of the Bundle's _shell(), with the usual Bundle decided without making it.

    In the usual Bundle each entry holds just a fullUrl with a solid character besides its
    resource: a stripped entry {"fullUrl": url}, which neither the model (a uri is any string)
    nor the empty-value check refuses. Such entries add nothing to the verdict, so when the Bundle
    without `entry` has no problem, the shell has none either. Any other Bundle, or one with a
    problem, takes the long way (the verdict and messages come from the whole shell)."""
    for entry in entries:
        if type(entry) is not dict or len(entry) != 2 or "resource" not in entry:
            break
        url = entry.get("fullUrl")
        if type(url) is not str or not url or url.isspace():
            break
    else:
        if entries and not model_problems({k: v for k, v in bundle.items() if k != "entry"}):
            return []
    return model_problems(_shell(bundle, entries))


# "Bundle.entry[0].resource"...: the prefix of nearly every entry's issues (dom-6), made once
_PREFIXES = 256
_ENTRY_RESOURCE = tuple(f"Bundle.entry[{i}].resource" for i in range(_PREFIXES))


def validate_bundle(bundle: object, source: str = "", *, profile: str | None = None,
                    models: bool = True,
                    findings: Sequence[tuple[list[Problem], Findings] | None] | None = None
                    ) -> list[Issue]:
    """Issues of a Bundle dict (or of a single resource): structure, rules, references, profiles.

    `profile="ips"` checks the IPS 2.0 profiles even when the Bundle does not claim to be an IPS;
    they are checked anyway for a document Bundle whose Composition is a Patient Summary (60591-5)
    or that declares the IPS Bundle profile. `models=False` skips the fhir.resources models (the
    costliest check) and keeps the definition-driven ones. `findings`, aligned with the entries,
    holds each resource's resource_findings() when they were computed elsewhere (parallel.py).
    """
    if not isinstance(bundle, dict) or not isinstance(bundle.get("resourceType"), str):
        return [Issue("fatal", "not-fhir", "not a FHIR resource (no resourceType)",
                      Location(source=source))]
    if bundle["resourceType"] != "Bundle":
        return validate_resource(bundle, source=source, profile=profile, models=models)
    entries = bundle_entries(bundle)
    issues: list[Issue] = []
    if models:
        _add_issues(issues, _shell_problems(bundle, entries), "Bundle", source)
    _add_issues(issues, _walk(bundle).problems, "Bundle", source)
    found_by_entry: dict[int, Findings] = {}
    for i, entry in enumerate(entries):
        res = entry.get("resource") if isinstance(entry, dict) else None
        if res is None:
            continue
        prefix = _ENTRY_RESOURCE[i] if i < _PREFIXES else f"Bundle.entry[{i}].resource"
        if not isinstance(res, dict):
            issues.append(Issue("error", "structure", "entry.resource is not an object",
                                Location(source=source, expression=prefix)))
            continue
        known = findings[i] if findings is not None else None
        structural, found = known if known is not None else resource_findings(res, models)
        found_by_entry[i] = found
        if structural:  # (rare: skipped without the call)
            _add_issues(issues, structural, prefix, source)
        _add_issues(issues, found.problems, prefix, source)
    urls: dict[str, str] = {}  # (the fullUrl index, made by entry_problems for in_bundle)
    _add_issues(issues, references.entry_problems(entries, urls), "", source)
    _add_issues(issues, references.in_bundle(bundle, entries, found_by_entry, urls), "", source)
    if profile == "ips" or profiles.is_ips(bundle):
        _add_issues(issues, profiles.bundle_problems(bundle), "", source)
    return issues

"""References: each one resolves (inside the Bundle, to a contained resource, or is absolute) and
points to a resource type its element allows (the targetProfile list of the R4 definitions).

Resolution follows the Bundle rules of FHIR R4 (Bundle, "Resolving references in Bundles"): a
reference matches an entry's fullUrl, or `Type/id` matches an entry's resource; `urn:uuid:` and
`urn:oid:` references exist only inside the Bundle; an absolute URL that matches no entry points to
a server outside it; a conditional reference (`Patient?identifier=...`) is allowed only in a
transaction or batch. A relative reference that matches no entry resolves on the server of the
entry's fullUrl when that is a RESTful URL, or on the server a transaction, batch, search or history
Bundle is exchanged with; otherwise it is a warning (an error in a document, which must be whole).
"""
from __future__ import annotations

import re
from .walk import Findings, Problem, Reference

_RELATIVE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]{1,64})?$")
_ABSOLUTE = re.compile(r"^https?://\S+?/([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})"
                       r"(/_history/[A-Za-z0-9\-.]{1,64})?$")
_CONDITIONAL = re.compile(r"^([A-Z][A-Za-z]+)\?\S*$")
# Bundles exchanged with a server: a relative reference may name a resource the server holds.
SERVER_BUNDLES = frozenset({"transaction", "batch", "transaction-response", "batch-response",
                            "searchset", "history"})


def entry_problems(entries: list, urls: dict[str, str] | None = None) -> list[Problem]:
    """bdl-7 (a fullUrl is unique, for the same version; located on the second use), and a
    RESTful fullUrl ends with its resource's type and id.

    `urls`, when given, is filled in the same pass with the resource type of each fullUrl: the
    fullUrl index of in_bundle() (_Index.urls), which would otherwise read the entries again."""
    # keyed by (fullUrl, versionId), or by the fullUrl alone without a versionId: the usual
    # entry, then no tuple to make (a str never equals a tuple)
    seen: dict[str | tuple[str, object], int] = {}
    out: list[Problem] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        url = entry.get("fullUrl")
        if not isinstance(url, str):
            method = (entry.get("request") or {}).get("method")
            if isinstance(entry.get("resource"), dict) and isinstance(method, str) \
                    and method != "POST":
                # Bundle.entry.fullUrl: "SHALL have a value except that fullUrl can be empty on
                # a POST" (R4); a PUT must say which resource it replaces
                out.append(("error", "structure", f"a {method} entry needs a fullUrl (only a "
                            "POST may leave it out)", f"Bundle.entry[{i}].fullUrl"))
            continue
        res = entry.get("resource")
        if isinstance(res, dict):
            meta = res.get("meta")
            version = meta.get("versionId") if isinstance(meta, dict) else None
            if urls is not None:
                rtype = res.get("resourceType")
                if isinstance(rtype, str):
                    urls[url] = rtype
        else:
            version = None
        if version is not None and not isinstance(version, str):
            try:
                hash(version)
            except TypeError:  # a list or an object: no id (the structural check says so)
                version = ("unhashable", repr(version))
        first = seen.setdefault(url if version is None else (url, version), i)
        if first != i:
            out.append(("error", "duplicate-fullurl", f"bdl-7: fullUrl {url} is also used by "
                        f"entry {first}", f"Bundle.entry[{i}].fullUrl"))
        if url.startswith(("http://", "https://")) and isinstance(res, dict) \
                and isinstance(res.get("id"), str):
            tail = f"/{res.get('resourceType')}/{res['id']}"
            if not url.split("/_history/")[0].endswith(tail):
                out.append(("error", "invalid-value", f"fullUrl {url} is a RESTful URL, so it must "
                            f"end with the resource's type and id ({tail[1:]})",
                            f"Bundle.entry[{i}].fullUrl"))
    return out


def _target_problems(ref: Reference, rtype: str | None, prefix: str, out: list[Problem]) -> None:
    """Append to `out` what is wrong with `ref` pointing to a resource of type `rtype` (its path
    is `prefix` + its path: built only for a problem, as for the other checks here)."""
    if rtype is None:
        return
    path, _, targets, given = ref
    if targets is not None and "Resource" not in targets and rtype not in targets:
        out.append(("error", "reference-target", f"reference to {_a(rtype)}, but this element "
                    f"allows only {', '.join(targets)}", prefix + path))
    if given is not None and given != rtype:
        out.append(("error", "reference-target", f"Reference.type says {given} but the "
                    f"reference points to {_a(rtype)}", prefix + path))


def _a(name: str) -> str:
    return ("an " if name[:1] in "AEIOU" else "a ") + name


def _local(ref: Reference, found: Findings, prefix: str, out: list[Problem]) -> None:
    """A `#id` reference to a contained resource (`#` alone is the container itself)."""
    path, target, _, _ = ref
    local_id = target[1:]
    if not local_id:
        return
    rtype = found.contained_ids.get(local_id)
    if rtype is None:
        out.append(("error", "unresolved-reference", f"reference {target!r} names no "
                    "contained resource", prefix + path))
    else:
        _target_problems(ref, rtype, prefix, out)


def standalone(found: Findings, prefix: str = "") -> list[Problem]:
    """Reference problems of a resource validated on its own (nothing to resolve against)."""
    out: list[Problem] = []
    for ref in found.references:
        path, target, _, _ = ref
        if target.startswith("#"):
            _local(ref, found, prefix, out)
            continue
        m = _RELATIVE.match(target) or _ABSOLUTE.match(target) or _CONDITIONAL.match(target)
        if m:
            _target_problems(ref, m.group(1), prefix, out)
        elif not target.startswith(("urn:uuid:", "urn:oid:", "http://", "https://")):
            out.append(("error", "unresolved-reference", f"{target!r} is not a valid "
                        "reference (Type/id, an absolute URL, urn:uuid: or #id)", prefix + path))
    return out


def in_bundle(bundle: dict, entries: list, found_by_entry: dict[int, Findings],
              urls: dict[str, str] | None = None) -> list[Problem]:
    """Reference problems of every entry's resource, resolved against the Bundle (`urls`: the
    fullUrl index when entry_problems() has made it)."""
    index = _Index(entries, urls)
    btype = bundle.get("type")
    btype = btype if isinstance(btype, str) else None  # (the structural check reports others)
    conditional_ok = btype in ("transaction", "batch")
    server_bundle = btype in SERVER_BUNDLES
    urls = index.urls
    out: list[Problem] = []
    for i, found in found_by_entry.items():
        prefix = None  # the entry's path: made for a problem only
        for ref in found.references:
            _, target, targets, given = ref
            # (the usual case: an entry's fullUrl, of a type the element allows and no
            # Reference.type to compare, so nothing to say; one dict lookup, no copy of the string)
            rtype = urls.get(target)
            if rtype and given is None and (targets is None or rtype in targets
                                            or "Resource" in targets) \
                    and not target.startswith("#"):
                continue
            if prefix is None:
                prefix = f"Bundle.entry[{i}].resource"
            if target.startswith("#"):
                _local(ref, found, prefix, out)
                continue
            if rtype:
                _target_problems(ref, rtype, prefix, out)
                continue
            rtype = index.get(target) or index.get(target.split("/_history/")[0])
            if rtype is not None:
                _target_problems(ref, rtype, prefix, out)
                continue
            m = _ABSOLUTE.match(target)
            if m or target.startswith(("http://", "https://")):
                _target_problems(ref, m.group(1) if m else None, prefix, out)
                continue  # a server outside the Bundle
            m = _CONDITIONAL.match(target)
            path = prefix + ref[0]
            if m:
                if conditional_ok:
                    _target_problems(ref, m.group(1), prefix, out)
                else:
                    out.append(("error", "unresolved-reference", f"conditional reference "
                                f"{target!r} is allowed only in a transaction or batch", path))
                continue
            if target.startswith(("urn:uuid:", "urn:oid:")) or not _RELATIVE.match(target):
                out.append(("error", "unresolved-reference",
                            f"reference {target!r} does not resolve inside the Bundle", path))
            elif not (server_bundle or _has_base(entries[i])):
                severity = "error" if btype == "document" else "warning"
                out.append((severity, "unresolved-reference", f"reference {target!r} does not "
                            "resolve inside the Bundle, and the entry's fullUrl names no server "
                            "it could resolve on", path))
            else:
                relative = _RELATIVE.match(target)
                assert relative is not None  # (it matched in the test above)
                _target_problems(ref, relative.group(1), prefix, out)
    return out


class _Index:
    """The resource type each entry's fullUrl, and each `Type/id`, stands for. A fullUrl wins
    over a `Type/id` of the same text (the last entry of a fullUrl, the first of a `Type/id`).

    The `Type/id` keys are made only when a reference is not a fullUrl: medbundle's references
    all are (urn:uuid:), and making a key costs a string per entry."""

    __slots__ = ("entries", "urls", "ids")

    def __init__(self, entries: list, urls: dict[str, str] | None = None) -> None:
        """`urls`: the fullUrl index when made already (entry_problems), else made here."""
        self.entries = entries
        self.ids: dict[str, str] | None = None
        if urls is not None:
            self.urls = urls
            return
        urls = self.urls = {}
        for entry in entries:
            if isinstance(entry, dict):
                url = entry.get("fullUrl")
                if isinstance(url, str):
                    res = entry.get("resource")
                    rtype = res.get("resourceType") if isinstance(res, dict) else None
                    if isinstance(rtype, str):
                        urls[url] = rtype

    def get(self, target: str) -> str | None:
        rtype = self.urls.get(target)
        if rtype is not None:
            return rtype
        ids = self.ids
        if ids is None:
            ids = self.ids = {}
            for entry in self.entries:
                res = entry.get("resource") if isinstance(entry, dict) else None
                if isinstance(res, dict):
                    res_type = res.get("resourceType")
                    if isinstance(res_type, str) and isinstance(res.get("id"), str):
                        ids.setdefault(f"{res_type}/{res['id']}", res_type)
        return ids.get(target)


def _has_base(entry: object) -> bool:
    """The entry's fullUrl is a RESTful URL: its relative references resolve on that server."""
    url = entry.get("fullUrl") if isinstance(entry, dict) else None
    return isinstance(url, str) and url.startswith(("http://", "https://"))

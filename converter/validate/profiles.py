"""IPS 2.0 profiles: the rules each profile adds to the core (cardinality, fixed and pattern values,
bindings, invariants, reference targets, slices), read from the profiles' StructureDefinitions.

The artifact keeps, per profile, only the elements whose definition differs from the core one
(scripts/build_definitions.py). Here they become a tree by element id; a resource is checked by
walking that tree over its JSON. Slices are told apart by their discriminators: `value`/`pattern`
(the slice's fixed or pattern value at the discriminator path), `type` (the resource or choice type)
and `profile` (the profile medbundle selects for a resource, see `select_profiles`). Entries of a
Composition section are not sliced by their resolved profile: those slices are all optional.

Which profile applies to a resource: the IPS profiles it declares in meta.profile; otherwise the one
IPS profile of its type; for Observation (several profiles), those whose identifying patterns (a
fixed `code`, a required `category`) it matches.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from .definitions import Definitions, Invariant, definitions
from .fhirpath import TYPE_SUFFIXES, Env
from .walk import Problem

IPS_BUNDLE = "http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips"
IPS_PREFIX = "http://hl7.org/fhir/uv/ips/StructureDefinition/"
PATIENT_SUMMARY = ("http://loinc.org", "60591-5")
NOT_AUTO = {"http://hl7.org/fhir/uv/ips/StructureDefinition/Device-observer-uv-ips"}


@dataclass(eq=False)
class Node:
    """One element of a profile: its rule (row) and its child elements and slices."""

    name: str  # JSON name ("effective[x]" for a choice)
    slice: str | None
    type_path: str = ""  # the definition path, e.g. Composition.section
    row: dict = field(default_factory=dict)
    children: dict[tuple[str, str | None], "Node"] = field(default_factory=dict)
    invariants: tuple[Invariant, ...] = ()

    def child(self, name: str, slice_name: str | None) -> "Node":
        key = (name, slice_name)
        if key not in self.children:
            self.children[key] = Node(name, slice_name)
        return self.children[key]

    def slices(self, name: str) -> list["Node"]:
        return [n for (nm, s), n in self.children.items() if nm == name and s is not None]


@dataclass(eq=False)
class Profile:
    url: str
    name: str
    type: str
    root: Node


def _segments(element_id: str) -> list[tuple[str, str | None]]:
    out = []
    for seg in element_id.split(".") if element_id else []:
        name, _, sl = seg.partition(":")
        out.append((name, sl or None))
    return out


@lru_cache(maxsize=None)
def profile(url: str) -> Profile | None:
    """The compiled profile of a canonical URL (None when the artifact does not hold it)."""
    defs = definitions()
    spec = defs.raw["profiles"].get(url)
    if spec is None:
        return None
    root = Node(spec["type"], None)
    for row in spec["elements"]:
        node = root
        for name, sl in _segments(row["id"]):
            node = node.child(name, sl)
        node.row = row
        node.type_path = ".".join(x for x in (spec["type"], row["path"]) if x)
        node.invariants = tuple(defs.invariant(i) for i in row.get("constraints", []))
    return Profile(url, spec["name"], spec["type"], root)


@lru_cache(maxsize=None)
def _profiles_by_type() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for url, spec in definitions().raw["profiles"].items():
        if url not in NOT_AUTO:
            out.setdefault(spec["type"], []).append(url)
    return out


def is_ips(bundle: dict) -> bool:
    """A document Bundle whose Composition is a Patient Summary, or that claims the IPS profile."""
    meta = bundle.get("meta")
    if isinstance(meta, dict) and IPS_BUNDLE in (meta.get("profile") or []):
        return True
    if bundle.get("type") != "document":
        return False
    entries = bundle.get("entry")
    first = entries[0].get("resource") if isinstance(entries, list) and entries and \
        isinstance(entries[0], dict) else None
    if not isinstance(first, dict) or first.get("resourceType") != "Composition":
        return False
    codings = (first.get("type") or {}).get("coding") or [] if isinstance(first.get("type"),
                                                                          dict) else []
    return any(isinstance(c, dict) and (c.get("system"), c.get("code")) == PATIENT_SUMMARY
               for c in codings)


def select_profiles(resource: dict) -> list[str]:
    """The IPS profiles that apply to a resource (see the module docstring)."""
    declared = [p.split("|")[0] for p in ((resource.get("meta") or {}).get("profile") or [])
                if isinstance(p, str)] if isinstance(resource.get("meta"), dict) else []
    known = [p for p in declared if p in definitions().raw["profiles"]]
    if known:
        return known
    candidates = _profiles_by_type().get(resource.get("resourceType"), [])
    if len(candidates) <= 1:
        return candidates
    return [url for url in candidates if _identifies(profile(url), resource)]


def _identifies(p: Profile | None, resource: dict) -> bool:
    """The profile has identifying patterns (code, a required category) and the resource has them."""
    if p is None:
        return False
    tests = 0
    code = p.root.children.get(("code", None))
    if code is not None and _pattern_of(code.row) is not None:
        tests += 1
        if not _matches(resource.get("code"), _pattern_of(code.row)):
            return False
    for sl in p.root.slices("category"):
        if sl.row.get("min", 0) >= 1 and _pattern_of(sl.row) is not None:
            tests += 1
            if not any(_matches(c, _pattern_of(sl.row)) for c in resource.get("category") or []):
                return False
    return tests > 0


def _pattern_of(row: dict) -> tuple[str, Any] | None:
    for k, v in row.items():
        if k.startswith("pattern"):
            return ("pattern", v)
        if k.startswith("fixed"):
            return ("fixed", v)
    return None


def _matches(value: Any, rule: tuple[str, Any] | None) -> bool:
    if rule is None:
        return True
    kind, expected = rule
    return value == expected if kind == "fixed" else _contains_pattern(value, expected)


def _contains_pattern(value: Any, pattern: Any) -> bool:
    """FHIR pattern matching: every element of the pattern is in the value."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(_contains_pattern(value.get(k), v)
                                               for k, v in pattern.items())
    if isinstance(pattern, list):
        items = value if isinstance(value, list) else [value] if value is not None else []
        return all(any(_contains_pattern(i, p) for i in items) for p in pattern)
    return value == pattern


# --- checking -----------------------------------------------------------------------------------

Resolver = Callable[[str], "dict | None"]


class Checker:
    """Walks a profile's tree over one resource and records problems."""

    def __init__(self, defs: Definitions, resolve: Resolver, out: list[Problem]) -> None:
        self.defs = defs
        self.resolve = resolve
        self.out = out

    def resource(self, res: dict, url: str, path: str, root: dict | None = None) -> None:
        p = profile(url)
        if p is None or res.get("resourceType") != p.type:
            return
        env = Env(res, root or res, res)
        p.root.type_path = p.type
        self.node(p.root, res, path, env, p.name)

    def node(self, node: Node, obj: Any, path: str, env: Env, label: str) -> None:
        """Apply `node`'s own rule to `obj`, then its children to obj's properties."""
        self.rules(node, obj, path, env, label)
        if not isinstance(obj, dict):
            return
        for name in {name for name, _ in node.children}:
            base = node.children.get((name, None))
            values = _values(obj, name)
            child_path = f"{path}.{name.removesuffix('[x]')}"
            if base is not None:
                self.cardinality(base.row, len(values), child_path, label, name)
                for key, v, item_path in values:
                    self.node(base, v, child_path + item_path, env, label)
            slices = node.slices(name)
            if slices:
                discriminators = (base.row.get("slicing") or {}).get("discriminator", []) \
                    if base is not None else []
                for sl in slices:
                    hits = [(v, item_path) for key, v, item_path in values
                            if self.in_slice(sl, key, v, discriminators)]
                    self.cardinality(sl.row, len(hits), child_path, label, name,
                                     f"slice {sl.slice}")
                    for v, item_path in hits:
                        self.node(sl, v, child_path + item_path, env, label)

    def in_slice(self, sl: Node, key: str, value: Any, discriminators: list[dict]) -> bool:
        if not discriminators:
            return False
        for d in discriminators:
            dpath, dtype = d.get("path", ""), d.get("type")
            if dpath.startswith("resolve()") or dpath.startswith("extension("):
                return False  # slices by resolved profile: all optional, not told apart
            target = sl if dpath == "$this" else _descend(sl, dpath)
            if dtype in ("value", "pattern"):
                if target is None:
                    return False
                rule = _pattern_of(target.row)
                if rule is None:
                    return False
                got = value if dpath == "$this" else _get_path(value, dpath)
                if isinstance(got, list):
                    if not any(_matches(g, rule) for g in got):
                        return False
                elif not _matches(got, rule):
                    return False
            elif dtype == "type":
                types = (target.row.get("types") if target is not None else None) or []
                if dpath == "$this":
                    if not any(key.endswith(t[:1].upper() + t[1:]) for t in types):
                        return False
                else:
                    got = _get_path(value, dpath)
                    if not isinstance(got, dict) or got.get("resourceType") not in types:
                        return False
            elif dtype == "profile":
                wanted = (target.row.get("profiles") if target is not None else None) or []
                got = _get_path(value, dpath)
                if wanted and (not isinstance(got, dict) or
                               not set(wanted) & set(select_profiles(got))):
                    return False
            else:
                return False
        return True

    def cardinality(self, row: dict, count: int, path: str, label: str, name: str,
                    what: str = "") -> None:
        mn, mx = row.get("min", 0), row.get("max")
        subject = what or name.removesuffix("[x]")
        if count < mn:
            self.out.append(("error", "profile", f"{label}: {subject} is required (at least {mn}, "
                             f"found {count})", path))
        if mx not in (None, "*") and count > int(mx):
            self.out.append(("error", "profile", f"{label}: {subject} allows at most {mx} "
                             f"(found {count})", path))

    def rules(self, node: Node, value: Any, path: str, env: Env, label: str) -> None:
        row = node.row
        rule = _pattern_of(row)
        if rule is not None and not _matches(value, rule):
            self.out.append(("error", "profile", f"{label}: value must {'be' if rule[0] == 'fixed' else 'match'} "
                             f"{_show(rule[1])}", path))
        if "binding" in row:
            self.binding(row["binding"], value, path, label)
        for inv in node.invariants:
            if not inv.holds(value, env, node.type_path):
                self.out.append(("error" if inv.severity == "error" else "warning", "invariant",
                                 f"{label}: {inv.key}: {inv.human}", path))
        if "targets" in row and isinstance(value, dict) and isinstance(value.get("reference"), str):
            target = self.resolve(value["reference"])
            if isinstance(target, dict) and target.get("resourceType") not in row["targets"]:
                self.out.append(("error", "reference-target", f"{label}: reference to a "
                                 f"{target.get('resourceType')}, the profile allows only "
                                 f"{', '.join(row['targets'])}", path + ".reference"))
        if "profiles" in row and isinstance(value, dict):
            for url in row["profiles"]:
                self.resource(value, url, path)

    def binding(self, binding: list, value: Any, path: str, label: str) -> None:
        strength, url, *_ = binding
        vs = self.defs.valueset(url)
        if vs is None or strength not in ("r", "e"):
            return
        if isinstance(value, str):
            ok = vs.has_code(value)
        elif isinstance(value, dict) and "coding" in value:
            ok = any(isinstance(c, dict) and vs.has_coding(c.get("system"), c.get("code"))
                     for c in value["coding"] or [])
        elif isinstance(value, dict) and "code" in value:
            ok = vs.has_coding(value.get("system"), value.get("code"))
        else:
            return
        if not ok:
            self.out.append(("error" if strength == "r" else "warning", "binding",
                             f"{label}: {_show(value)} is not in value set "
                             f"{url.rsplit('/', 1)[-1]}", path))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _values(obj: dict, name: str) -> list[tuple[str, Any, str]]:
    """(JSON key, value, FHIRPath step) of element `name` in obj (`_name` counts as present).

    The step is "[i]" for an item of a JSON array, ".ofType(T)" for a choice, "" otherwise.
    """
    key, v = name, obj.get(name)
    if name.endswith("[x]"):
        base = name[:-3]
        key, v = next(((k, x) for k, x in obj.items() if k.startswith(base)
                       and k[len(base):] in TYPE_SUFFIXES), (name, None))
        if v is None:
            key, v = next(((k[1:], x) for k, x in obj.items() if k.startswith("_" + base)
                           and k[len(base) + 1:] in TYPE_SUFFIXES), (name, None))
        if v is None:
            return []
        t = key[len(base):]
        return [(key, v, f".ofType({t[:1].lower() + t[1:] if t in _PRIMITIVES else t})")]
    if v is None:
        v = obj.get("_" + name)
    if v is None:
        return []
    if isinstance(v, list):
        return [(key, x, f"[{i}]") for i, x in enumerate(v) if x is not None]
    return [(key, v, "")]


_PRIMITIVES = {"DateTime", "String", "Boolean", "Integer", "Decimal", "Date", "Time", "Instant",
               "Uri", "Code", "Canonical", "Url", "Id", "Markdown", "Oid", "PositiveInt",
               "UnsignedInt", "Base64Binary", "Uuid"}


def _descend(node: Node, dotted: str) -> Node | None:
    for part in dotted.split("."):
        nxt = node.children.get((part, None))
        if nxt is None:
            return None
        node = nxt
    return node


def _get_path(value: Any, dotted: str) -> Any:
    """The value(s) at a dotted path, FHIRPath style: through a list, every item's values (a list
    when any step repeats, so `coding.code` of a CodeableConcept gives all its codes)."""
    values = [value]
    repeated = False
    for part in dotted.split("."):
        found = []
        for v in values:
            if isinstance(v, dict):
                got = v.get(part)
                if isinstance(got, list):
                    repeated = True
                    found.extend(got)
                elif got is not None:
                    found.append(got)
        values = found
    if repeated:
        return values
    return values[0] if values else None


# --- entry points -------------------------------------------------------------------------------

def resource_problems(resource: dict, resolve: Resolver | None = None) -> list[Problem]:
    """Problems of one resource against the IPS profiles that apply to it (relative paths)."""
    out: list[Problem] = []
    checker = Checker(definitions(), resolve or (lambda ref: None), out)
    for url in select_profiles(resource):
        checker.resource(resource, url, "")
    return out


def bundle_problems(bundle: dict) -> list[Problem]:
    """Problems of a Bundle against Bundle-uv-ips, each entry against its slice's profile."""
    index: dict[str, dict] = {}
    for e in bundle.get("entry") or []:
        if isinstance(e, dict) and isinstance(e.get("resource"), dict):
            r = e["resource"]
            if isinstance(e.get("fullUrl"), str):
                index[e["fullUrl"]] = r
            if isinstance(r.get("id"), str):
                index.setdefault(f"{r.get('resourceType')}/{r['id']}", r)
    out: list[Problem] = []
    Checker(definitions(), index.get, out).resource(bundle, IPS_BUNDLE, "Bundle")
    return out

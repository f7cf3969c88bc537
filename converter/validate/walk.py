"""One walk over a resource along its definitions: bindings, invariants, terminology, references.

Every JSON property is looked up in the element tree of its type (definitions.py); a value then gets
the checks its element and its datatype call for. Nothing here raises on odd input: what does not
fit the definitions (unknown properties, wrong shapes) is left to the structural check.
Paths are FHIRPath, relative to the resource (".code.coding[0].system"); a choice element is written
`value.ofType(Quantity)`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import terminology
from .definitions import QUANTITIES, Definitions, Element, Invariant, ValueSet, definitions
from .fhirpath import Env

Problem = tuple[str, str, str, str]  # severity, code, message, relative FHIRPath


@dataclass(slots=True)
class Reference:
    """A Reference met on the walk: where, what it says, and the types its element allows."""

    path: str
    reference: str
    targets: tuple[str, ...] | None
    type: str | None  # Reference.type when given


@dataclass(slots=True)
class Plan:
    """What the walk does with a value of one element and type, decided once."""

    tcode: str
    invariants: tuple[Invariant, ...]
    bindings: tuple[tuple[str, ValueSet], ...]  # (severity, value set)
    children: dict | None
    is_resource: bool
    type_path: str  # for the fallback FHIRPath engine: the backbone path or the datatype
    trivial: bool  # nothing to check: a primitive without binding or invariant
    uri: bool  # a uri-like primitive: urn:oid: and urn:uuid: syntax


@dataclass(slots=True)
class Findings:
    """What the walk of one resource found."""

    problems: list[Problem] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    contained_ids: dict[str, str] = field(default_factory=dict)  # id -> resourceType


def walk_resource(resource: dict, skip_entries: bool = True) -> Findings:
    """Check one resource (Bundle entries' resources are left to the caller when skip_entries)."""
    out = Findings()
    Walker(definitions(), out, skip_entries).resource(resource, "", resource, resource)
    return out


class Walker:
    """Visits the elements of a resource and records problems and references in `out`."""

    def __init__(self, defs: Definitions, out: Findings, skip_entries: bool) -> None:
        self.defs = defs
        self.out = out
        self.skip_entries = skip_entries

    def resource(self, res: dict, path: str, resource: dict, root: dict) -> None:
        rtype = res.get("resourceType")
        tdef = self.defs.type(rtype) if isinstance(rtype, str) else None
        if tdef is None or tdef.kind != "resource":
            return  # the structural check reports unknown resource types
        env = Env(resource, root, res)
        self.invariants(tdef.root.invariants, res, path, env, rtype)
        if res is root:
            for c in res.get("contained") or []:
                if isinstance(c, dict) and isinstance(c.get("id"), str):
                    self.out.contained_ids[c["id"]] = str(c.get("resourceType"))
        self.children(res, tdef.root.children, path, env)

    def children(self, obj: dict, kids: dict | None, path: str, env: Env) -> None:
        if not kids:
            return
        for key, value in obj.items():
            entry = kids.get(key)
            if entry is None:
                continue
            child, tcode = entry
            plan = child.plans.get(tcode) or self.plan(child, tcode)
            if plan.trivial:
                continue
            name = f"{child.name}.ofType({tcode})" if child.choice else key
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is not None:
                        self.element(item, child, plan, f"{path}.{name}[{i}]", env)
            elif value is not None:
                self.element(value, child, plan, f"{path}.{name}", env)

    def plan(self, el: Element, tcode: str) -> Plan:
        """What to do with the values of `el` of type `tcode` (built once per element and type)."""
        tdef = None if el.children else self.defs.type(tcode)
        merged: dict[str, Invariant] = {}
        for inv in el.invariants + (tdef.root.invariants if tdef else ()):
            if inv.key not in merged and inv.key not in NATIVE:
                merged[inv.key] = inv
        is_resource = tcode == "Resource" or tcode in self.defs.resource_types
        children = el.children or (tdef.root.children if tdef is not None else None)
        bindings = _bindings(self.defs, el.binding)
        uri = tcode in URI_TYPES
        trivial = not (is_resource or merged or bindings or children or uri)
        plan = Plan(tcode, tuple(merged.values()), bindings, children, is_resource,
                    el.path if el.children else tcode, trivial, uri)
        el.plans[tcode] = plan
        return plan

    def element(self, item: Any, el: Element, plan: Plan, path: str, env: Env) -> None:
        if isinstance(item, dict):
            if item and len(item) == 1 and "id" in item:
                self.out.problems.append(("error", "invariant", "ele-1: All FHIR elements must "
                                          "have a @value or children", path))
            if plan.is_resource:
                if not (self.skip_entries and el.path == "Bundle.entry.resource"):
                    root = env.root if el.path.endswith(".contained") else item
                    self.resource(item, path, item, root)
                return
        tcode = plan.tcode
        for severity, vs in plan.bindings:
            self.binding(item, severity, vs, tcode, path)
        if plan.uri and isinstance(item, str):
            why = terminology.uri_problem(item)
            if why:
                self.out.problems.append(("error", "invalid-value", why, path))
        if plan.invariants:
            self.invariants(plan.invariants, item, path, env, plan.type_path)
        if not isinstance(item, dict):
            return
        if tcode == "Coding":
            self.out.problems.extend(terminology.coding_problems(item, path))
        elif tcode in QUANTITIES:
            self.out.problems.extend(terminology.quantity_problems(item, path))
        elif tcode == "Reference":
            ref = item.get("reference")
            if isinstance(ref, str):
                rtype = item.get("type")
                self.out.references.append(Reference(path + ".reference", ref, el.targets,
                                                     rtype if isinstance(rtype, str) else None))
        if plan.children:
            self.children(item, plan.children, path, env)

    def invariants(self, invariants: tuple[Invariant, ...], item: Any, path: str, env: Env,
                   type_path: str) -> None:
        for inv in invariants:
            if inv.key in NATIVE:
                continue
            if not inv.holds(item, env, type_path):
                severity = "information" if inv.best_practice else \
                    ("error" if inv.severity == "error" else "warning")
                self.out.problems.append((severity, "invariant", f"{inv.key}: {inv.human}",
                                          path or ""))

    def binding(self, item: Any, severity: str, vs: ValueSet, tcode: str, path: str) -> None:
        name = vs.url.rsplit("/", 1)[-1]
        if tcode == "code" and isinstance(item, str):
            if not vs.has_code(item):
                self.out.problems.append((severity, "binding", f"{item!r} is not in value set "
                                          f"{name} ({vs.describe()})", path))
        elif tcode == "Coding" and isinstance(item, dict):
            if item.get("code") is not None and not vs.has_coding(item.get("system"),
                                                                  item.get("code")):
                self.out.problems.append((severity, "binding", f"{_show(item)} is not in value "
                                          f"set {name} ({vs.describe()})", path))
        elif tcode == "CodeableConcept" and isinstance(item, dict):
            # a coding without a code claims nothing a value set could refuse
            codings = [c for c in item.get("coding") or []
                       if isinstance(c, dict) and c.get("code") is not None]
            if not codings:
                if severity == "error" and not vs.systems:
                    self.out.problems.append((severity, "binding", f"no coding, but value set "
                                              f"{name} is required ({vs.describe()})", path))
            elif not any(vs.has_coding(c.get("system"), c.get("code")) for c in codings):
                self.out.problems.append((severity, "binding", f"none of the codings "
                                          f"({', '.join(_show(c) for c in codings)}) is in value "
                                          f"set {name} ({vs.describe()})", path))


def _bindings(defs: Definitions, binding: tuple[str, ...] | None) -> tuple:
    """(severity, value set) pairs to check: the binding (required: error, extensible: warning)
    and its maximum value set (error), each when its codes are known."""
    if not binding:
        return ()
    out = []
    strength, url, *maximum = binding
    vs = defs.valueset(url)
    if vs is not None and strength in ("r", "e"):
        out.append(("error" if strength == "r" else "warning", vs))
    for m in maximum:
        mvs = defs.valueset(m)
        if mvs is not None and m != url:
            out.append(("error", mvs))
    return tuple(out)


URI_TYPES = frozenset({"uri", "url", "canonical", "oid", "uuid"})


# Invariants checked natively (with a better location or message): bdl-7 is the duplicate-fullUrl
# check of the Bundle validator.
NATIVE = frozenset({"bdl-7"})


def _coding_in(coding: dict, pairs: frozenset, codes: frozenset) -> bool:
    code = coding.get("code")
    system = coding.get("system")
    if system is None:
        return code in codes
    return (system, code) in pairs


def _show(coding: dict) -> str:
    return f"{coding.get('system', '')}|{coding.get('code', '')}"



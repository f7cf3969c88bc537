"""One walk over a resource along its definitions: bindings, invariants, terminology, references.

Every JSON property is looked up in the element tree of its type (definitions.py); a value then gets
the checks its element and its datatype call for. Nothing here raises on odd input: what does not
fit the definitions (unknown properties, wrong shapes) is left to the structural check.
Paths are FHIRPath, relative to the resource (".code.coding[0].system"); a choice element is written
`value.ofType(Quantity)`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from . import terminology
from .definitions import QUANTITIES, Definitions, Element, Invariant, ValueSet, definitions
from .fhirpath import Env
from .terminology import coding_problems

Problem = tuple[str, str, str, str]  # severity, code, message, relative FHIRPath


# A Reference met on the walk: (path, reference, targets, type): where (the path of its
# `reference`), what it says, the types its element allows (None: any) and Reference.type when
# given. A plain tuple: one is made for every Reference of every resource, and a dataclass
# instance costs three times as much to make.
Reference = tuple[str, str, tuple[str, ...] | None, str | None]


@dataclass(slots=True)
class Plan:
    """What the walk does with a value of one element and type, decided once.

    The walk visits every value of every resource, so what it needs per value is here: no lookup
    of definitions, no test that cannot apply to this element."""

    tcode: str
    targets: tuple[str, ...] | None  # of a Reference element
    invariants: tuple[tuple[Invariant, str, str], ...]  # (invariant, severity, message)
    # When an object holds none of `guard_keys`, the invariants that read only elements named
    # there have a known result (Invariant.absent): `when_absent` holds the others, and None in
    # place of the invariant for one known to fail (dom-2 to dom-5 read `contained`, dom-6 `text`,
    # which most resources lack: dom-6 fails, the others hold).
    guard_keys: frozenset[str] | None
    when_absent: tuple[tuple[Invariant | None, str, str], ...]
    bindings: tuple[tuple[str, ValueSet, str, str], ...]  # see _bindings
    # (only on code, Coding and CodeableConcept: a binding on another type tests nothing)
    children: dict | None  # the element tree below: definitions.Element.children
    is_resource: bool
    entry_resource: bool  # Bundle.entry.resource: left to the caller when skip_entries
    contained: bool  # a contained resource: its root resource is the container's
    type_path: str  # for the fallback FHIRPath engine: the backbone path or the datatype
    trivial: bool  # nothing to check: a primitive without binding or invariant
    # something to check on a value that is not an object: a binding, an invariant, URI syntax (a
    # primitive type has children in the definitions, id and extension, but only its `_x` object
    # holds them)
    scalar_checks: bool
    object_checks: bool  # something to check on an object itself: is_resource ... datatype
    uri: bool  # a uri-like primitive: urn:oid: and urn:uuid: syntax
    uri_only: bool  # ... and nothing else to check on a string
    datatype: str | None  # "Coding", "Quantity" (any kind) or "Reference": their own checks
    # JSON property -> (plan, path segment) of the children that are not trivial, built on first
    # use (the definitions are recursive: Identifier.assigner is a Reference with an identifier),
    # and of those among them with scalar_checks: what a primitive member needs
    kids: dict[str, tuple["Plan", str]] | None = None
    scalar_kids: dict[str, tuple["Plan", str]] | None = None
    # A Reference whose invariants all hold while `reference` is a string not starting with
    # ref_prefix, or is absent (ref-1 and "#": Invariant.unless_prefixed), needs nothing but to
    # be recorded when it holds none of the properties in ref_busy (those in kids, and `type`,
    # which the record reads) and its `display`, if any, is a string with nothing to check: the
    # commonest object of all, {"reference": "urn:uuid:...", "display": "..."}. ref_busy is set
    # with kids, so the first value takes the general way. Decided by object()'s first test, and
    # for each item of a list of References by reference_list(), which makes no call for it.
    ref_prefix: str | None = None
    ref_busy: frozenset[str] | None = None
    # Bundle.entry, while the walk skips the entries' resources: an entry holding only a string
    # `fullUrl` and an object `resource` (not a lone id: ele-1), nearly every entry, has its
    # invariants decided by their sure tests (bdl-5 by the resource, bdl-8 by the fullUrl) and
    # nothing else to check but the fullUrl's URI syntax. These are the (test, arg) of the sure
    # tests on the fullUrl, all of which it must fail (Walker.entries); set with kids when every
    # invariant is of that kind. None: no shortcut, each entry takes the general way.
    entry_url_tests: tuple[tuple[Callable, str], ...] | None = None


@dataclass(slots=True)
class Findings:
    """What the walk of one resource found."""

    problems: list[Problem] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    contained_ids: dict[str, str] = field(default_factory=dict)  # id -> resourceType


def walk_resource(resource: dict, skip_entries: bool = True) -> Findings:
    """Check one resource (Bundle entries' resources are left to the caller when skip_entries)."""
    out = Findings([], [], {})  # (the default factories cost more, per resource)
    Walker(definitions(), out, skip_entries).resource(resource, "", resource, resource)
    return out


class Walker:
    """Visits the elements of a resource and records problems and references in `out`."""

    __slots__ = ("defs", "out", "problems", "skip_entries")

    def __init__(self, defs: Definitions, out: Findings, skip_entries: bool) -> None:
        self.defs = defs
        self.out = out
        self.problems = out.problems
        self.skip_entries = skip_entries

    def resource(self, res: dict, path: str, resource: dict, root: dict) -> None:
        rtype = res.get("resourceType")
        if not isinstance(rtype, str):
            return  # the structural check reports unknown resource types
        plan = self.defs.walk_plans.get(rtype, _UNSET)
        if plan is _UNSET:
            plan = self.defs.walk_plans[rtype] = self.root_plan(rtype)
        if plan is None:
            return
        if res is root and "contained" in res:
            for c in res["contained"] or []:
                if isinstance(c, dict) and isinstance(c.get("id"), str):
                    self.out.contained_ids[c["id"]] = str(c.get("resourceType"))
        self.object(res, plan, path, Env(resource, root, res))

    def object(self, item: dict, plan: Plan, path: str, env: Env) -> None:
        """Check an object value (a resource, a datatype, a backbone element), then its members."""
        busy = plan.ref_busy
        if busy is not None and busy.isdisjoint(item) \
                and isinstance(item.get("display", ""), str):  # a Reference: see Plan.ref_prefix
            ref = item.get("reference")
            if ref is None:
                return
            ref_prefix = plan.ref_prefix
            assert ref_prefix is not None  # (ref_busy is set only with it: Walker.kids)
            if isinstance(ref, str) and not ref.startswith(ref_prefix):
                self.out.references.append((path + ".reference", ref, plan.targets, None))
                return
        if "id" in item and len(item) == 1:  # (most objects have no id: one test)
            self.problems.append(("error", "invariant", "ele-1: All FHIR elements must have a "
                                  "@value or children", path))
        if plan.object_checks:  # (one test for the many objects without any)
            if plan.is_resource:
                if not (self.skip_entries and plan.entry_resource):
                    self.resource(item, path, item, env.root if plan.contained else item)
                return
            if plan.bindings:
                for severity, vs, name, described in plan.bindings:
                    self.binding(item, severity, vs, name, described, plan.tcode, path)
            invariants: tuple[tuple[Invariant | None, str, str], ...] = plan.invariants
            if invariants:
                if plan.guard_keys is not None and plan.guard_keys.isdisjoint(item):
                    invariants = plan.when_absent
                type_path = plan.type_path
                for inv, severity, message in invariants:
                    if inv is None:  # known to fail here (Plan.when_absent)
                        self.problems.append((severity, "invariant", message, path))
                        continue
                    if not inv.holds(item, env, type_path):
                        self.problems.append((severity, "invariant", message, path))
            datatype = plan.datatype
            if datatype is not None:
                if datatype != "Reference":  # a Coding, or a Quantity whose unit is a coding
                    coding_problems(item, path, self.problems)
                else:
                    ref = item.get("reference")
                    if isinstance(ref, str):
                        rtype = item.get("type")
                        self.out.references.append((path + ".reference", ref, plan.targets,
                                                    rtype if isinstance(rtype, str) else None))
        kids = plan.kids
        if kids is None:
            kids = self.kids(plan)
        if not kids:
            return
        # the members, most of them strings with nothing to check: those cost a lookup in
        # scalar_kids (often empty) and no call; path strings are built only for what is visited
        scalar_kids = plan.scalar_kids
        assert scalar_kids is not None  # (set with kids: Walker.kids)
        for key, value in item.items():
            if isinstance(value, str):
                kid = scalar_kids.get(key)
                if kid is None:
                    continue
                if not kid[0].uri_only:
                    self.scalar(value, kid[0], path + kid[1], env)
                elif value.startswith("urn:"):
                    # a system or a fullUrl: its only check is the syntax of urn:oid: and
                    # urn:uuid: URIs (scalar() without the call)
                    why = terminology.uri_problem(value)
                    if why:
                        self.problems.append(("error", "invalid-value", why, path + kid[1]))
            elif isinstance(value, dict):
                kid = kids.get(key)
                if kid is not None:
                    self.object(value, kid[0], path + kid[1], env)
            elif isinstance(value, list):
                kid = kids.get(key)
                if kid is not None:
                    child, segment = kid
                    prefix = path + segment
                    if child.entry_url_tests is not None and self.skip_entries:
                        self.entries(value, child, prefix, env)
                        continue
                    if child.ref_busy is not None:
                        self.reference_list(value, child, prefix, env)
                        continue
                    for i, v in enumerate(value):
                        if isinstance(v, dict):
                            self.object(v, child, prefix + (_AT[i] if i < _AT_SIZE else f"[{i}]"),
                                        env)
                        elif v is not None and child.scalar_checks:
                            self.scalar(v, child, prefix + (_AT[i] if i < _AT_SIZE else f"[{i}]"),
                                        env)
            elif value is not None:
                kid = scalar_kids.get(key)
                if kid is not None:
                    self.scalar(value, kid[0], path + kid[1], env)

    def reference_list(self, items: list, plan: Plan, prefix: str, env: Env) -> None:
        """A list of References (Provenance.target): the usual item decided as object()'s first
        test decides it (Plan.ref_prefix), without a call per item; any other item, and any
        item of another shape, the way of the list loop of object()."""
        busy = plan.ref_busy
        ref_prefix = plan.ref_prefix
        # (object() calls this only for a plan with ref_busy, set only with ref_prefix)
        assert busy is not None and ref_prefix is not None
        references = self.out.references
        for i, item in enumerate(items):
            if type(item) is dict and busy.isdisjoint(item) \
                    and isinstance(item.get("display", ""), str):
                ref = item.get("reference")
                if ref is None:
                    continue
                if isinstance(ref, str) and not ref.startswith(ref_prefix):
                    references.append((prefix + (_AT_REF[i] if i < _AT_SIZE else
                                                 f"[{i}].reference"), ref, plan.targets, None))
                    continue
            self.item(item, plan, prefix, i, env)

    def entries(self, entries: list, plan: Plan, prefix: str, env: Env) -> None:
        """Bundle.entry with the entries' resources skipped: the usual entry is decided here
        without a visit (Plan.entry_url_tests), any other one, or one with a problem to report,
        takes the general way (the list loop of object())."""
        url_tests = plan.entry_url_tests
        assert url_tests is not None  # (object() calls this only for a plan with them)
        for i, entry in enumerate(entries):
            if type(entry) is dict and len(entry) == 2:
                url = entry.get("fullUrl")
                res = entry.get("resource")
                if type(url) is str and type(res) is dict and not ("id" in res and len(res) == 1) \
                        and not (url.startswith("urn:") and terminology.uri_problem(url)):
                    for test, arg in url_tests:
                        if test(url, arg):
                            break  # (an invariant to evaluate: bdl-8 on a versioned fullUrl)
                    else:
                        continue
            self.item(entry, plan, prefix, i, env)

    def item(self, value: Any, plan: Plan, prefix: str, i: int, env: Env) -> None:
        """Item i of a list, the general way: what the list loop of object() does with it (which
        keeps its own copy inline: it runs for every item of every list)."""
        if isinstance(value, dict):
            self.object(value, plan, prefix + (_AT[i] if i < _AT_SIZE else f"[{i}]"), env)
        elif value is not None and plan.scalar_checks:
            self.scalar(value, plan, prefix + (_AT[i] if i < _AT_SIZE else f"[{i}]"), env)

    def scalar(self, item: Any, plan: Plan, path: str, env: Env) -> None:
        """Check a primitive value (or a value of the wrong shape, left to the structural check)."""
        for severity, vs, name, described in plan.bindings:
            if not (isinstance(item, str) and item in vs.codes):  # (else nothing to say)
                self.binding(item, severity, vs, name, described, plan.tcode, path)
        if plan.uri and isinstance(item, str) and item.startswith("urn:"):
            why = terminology.uri_problem(item)  # (only urn:oid: and urn:uuid: are checked)
            if why:
                self.problems.append(("error", "invalid-value", why, path))
        for inv, severity, message in plan.invariants:
            if not inv.holds(item, env, plan.type_path):
                self.problems.append((severity, "invariant", message, path))

    def kids(self, plan: Plan) -> dict[str, tuple[Plan, str]]:
        """The children of `plan` worth visiting, with their plans and path segments."""
        kids = {}
        for key, (child, tcode) in (plan.children or {}).items():
            child_plan = child.plans.get(tcode) or self.plan(child, tcode)
            if not child_plan.trivial:
                segment = f".{child.name}.ofType({tcode})" if child.choice else "." + key
                kids[key] = (child_plan, segment)
        plan.scalar_kids = {key: kid for key, kid in kids.items() if kid[0].scalar_checks}
        if plan.ref_prefix is not None:
            # (a string `reference` or `display` is visited only when in scalar_kids)
            plan.ref_busy = frozenset(kids).difference(("reference", "display")).union(
                ("type",), plan.scalar_kids)
        plan.entry_url_tests = _entry_url_tests(plan, kids)
        plan.kids = kids
        return kids

    def root_plan(self, rtype: str) -> Plan | None:
        """The plan of a resource of type `rtype` (None when it is not a resource type)."""
        tdef = self.defs.type(rtype)
        if tdef is None or tdef.kind != "resource":
            return None
        invariants = _messages(tdef.root.invariants)
        guard_keys, when_absent = _guard(invariants)
        return Plan(tcode=rtype, targets=None, invariants=invariants, guard_keys=guard_keys,
                    when_absent=when_absent, bindings=(), children=tdef.root.children,
                    is_resource=False, entry_resource=False, contained=False, type_path=rtype,
                    trivial=False, scalar_checks=False, object_checks=bool(invariants),
                    uri=False, uri_only=False, datatype=None)

    def plan(self, el: Element, tcode: str) -> Plan:
        """What to do with the values of `el` of type `tcode` (built once per element and type)."""
        tdef = None if el.children else self.defs.type(tcode)
        merged: dict[str, Invariant] = {}
        for inv in el.invariants + (tdef.root.invariants if tdef else ()):
            if inv.key not in merged:
                merged[inv.key] = inv
        invariants = _messages(tuple(merged.values()))
        is_resource = tcode == "Resource" or tcode in self.defs.resource_types
        children = el.children or (tdef.root.children if tdef is not None else None)
        bindings = _bindings(self.defs, el.binding)
        uri = tcode in URI_TYPES
        trivial = not (is_resource or invariants or bindings or children or uri)
        if tcode not in ("code", "Coding", "CodeableConcept"):
            bindings = ()  # nothing to test a value of another type against
        datatype = "Quantity" if tcode in QUANTITIES else \
            tcode if tcode in ("Coding", "Reference") else None
        guard_keys, when_absent = _guard(invariants)
        plan = Plan(tcode=tcode, targets=el.targets, invariants=invariants, guard_keys=guard_keys,
                    when_absent=when_absent, bindings=bindings, children=children,
                    is_resource=is_resource, entry_resource=el.path == "Bundle.entry.resource",
                    contained=el.path.endswith(".contained"),
                    type_path=el.path if el.children else tcode, trivial=trivial,
                    scalar_checks=bool(invariants or bindings or uri),
                    object_checks=bool(is_resource or bindings or invariants or datatype),
                    uri=uri, uri_only=uri and not (invariants or bindings), datatype=datatype)
        if datatype == "Reference" and invariants and not bindings:
            shortcuts = {inv.unless_prefixed for inv, _, _ in invariants}
            if len(shortcuts) == 1:
                (shortcut,) = shortcuts
                if shortcut is not None and shortcut[0] == "reference":
                    plan.ref_prefix = shortcut[1]
        el.plans[tcode] = plan
        return plan

    def binding(self, item: Any, severity: str, vs: ValueSet, name: str, described: str,
                tcode: str, path: str) -> None:
        if tcode == "code":
            if isinstance(item, str) and not vs.has_code(item):
                self.problems.append((severity, "binding", f"{item!r} is not in value set "
                                      f"{name} ({described})", path))
        elif not isinstance(item, dict):
            return
        elif tcode == "Coding":
            if item.get("code") is not None and not vs.has_coding(item.get("system"),
                                                                  item.get("code")):
                self.problems.append((severity, "binding", f"{_show(item)} is not in value "
                                      f"set {name} ({described})", path))
        else:  # CodeableConcept
            # a coding without a code claims nothing a value set could refuse; one coding in the
            # set is enough (tested in order, the list is built only for the message)
            coded = False
            for c in item.get("coding") or []:
                if isinstance(c, dict) and c.get("code") is not None:
                    if vs.has_coding(c.get("system"), c.get("code")):
                        return
                    coded = True
            if not coded:
                if severity == "error" and not vs.systems:
                    self.problems.append((severity, "binding", f"no coding, but value set "
                                          f"{name} is required ({described})", path))
                return
            codings = [c for c in item.get("coding") or []
                       if isinstance(c, dict) and c.get("code") is not None]
            self.problems.append((severity, "binding", f"none of the codings "
                                  f"({', '.join(_show(c) for c in codings)}) is in value "
                                  f"set {name} ({described})", path))


def _entry_url_tests(plan: Plan, kids: dict[str, tuple[Plan, str]]
                     ) -> tuple[tuple[Callable, str], ...] | None:
    """Plan.entry_url_tests of the Bundle.entry plan (None for any other plan, or when an
    invariant of the entry is not decided by a sure test on `resource` or `fullUrl`)."""
    resource, url = kids.get("resource"), kids.get("fullUrl")
    if resource is None or not resource[0].entry_resource or url is None \
            or not url[0].uri_only or plan.bindings or plan.datatype is not None \
            or (plan.guard_keys is not None and plan.guard_keys.isdisjoint(("fullUrl", "resource"))):
        return None  # (with guard_keys disjoint, the entry would get Plan.when_absent)
    tests = []
    for inv, _, _ in plan.invariants:
        sure = inv.sure
        if sure is None:
            return None
        name, test, arg, _ = sure
        if name == "fullUrl" and test is not None:
            tests.append((test, arg))
        elif not (name == "resource" and test is None):  # (an object: holds)
            return None
    return tuple(tests)


def _messages(invariants: tuple[Invariant, ...]) -> tuple[tuple[Invariant, str, str], ...]:
    """(invariant, severity, message) of the invariants the walk evaluates."""
    return tuple((inv, "information" if inv.best_practice else
                  ("error" if inv.severity == "error" else "warning"), f"{inv.key}: {inv.human}")
                 for inv in invariants if inv.key not in NATIVE)


def _guard(invariants: tuple) -> tuple[frozenset[str] | None, tuple]:
    """(guard_keys, when_absent) of a Plan: the JSON properties the invariants with a known result
    on an empty element read (Invariant.head_keys), and the invariants left to evaluate on an
    object without them (None in place of one that fails there)."""
    guarded = [inv for inv, _, _ in invariants if inv.head_keys is not None]
    if not guarded:
        return None, invariants
    keys = frozenset().union(*(inv.head_keys for inv in guarded))
    return keys, tuple((None if inv in guarded else inv, severity, message)
                       for inv, severity, message in invariants
                       if inv not in guarded or not inv.absent)


def _bindings(defs: Definitions, binding: tuple[str, ...] | None) -> tuple:
    """(severity, value set, name, description) to check: the binding (required: error,
    extensible: warning) and its maximum value set (error), each when its codes are known."""
    if not binding:
        return ()
    out = []
    strength, url, *maximum = binding
    vs = defs.valueset(url)
    if vs is not None and strength in ("r", "e"):
        out.append(("error" if strength == "r" else "warning", vs, _name(vs), vs.describe()))
    for m in maximum:
        mvs = defs.valueset(m)
        if mvs is not None and m != url:
            out.append(("error", mvs, _name(mvs), mvs.describe()))
    return tuple(out)


def _name(vs: ValueSet) -> str:
    return vs.url.rsplit("/", 1)[-1]


_UNSET = object()
# "[0]", "[1]"...: the index part of the path of a list item (formatting the number costs more)
_AT_SIZE = 64
_AT = tuple(f"[{i}]" for i in range(_AT_SIZE))
_AT_REF = tuple(f"[{i}].reference" for i in range(_AT_SIZE))  # ... of a Reference's reference
URI_TYPES = frozenset({"uri", "url", "canonical", "oid", "uuid"})


# Invariants checked natively (with a better location or message): bdl-7 is the duplicate-fullUrl
# check of the Bundle validator.
NATIVE = frozenset({"bdl-7"})


def _show(coding: dict) -> str:
    return f"{coding.get('system', '')}|{coding.get('code', '')}"



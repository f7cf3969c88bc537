"""The FHIR R4 definitions the validator runs on, loaded once from data/definitions.json.gz.

The artifact is built by scripts/build_definitions.py from the official packages (versions in
`packages()`). Here it becomes, per type, a tree of element definitions keyed by JSON property name
(`valueQuantity` -> the `value[x]` element with type Quantity), each with its binding, reference
targets and compiled invariants, built lazily the first time a type is met.
"""
from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from decimal import Decimal
from typing import Any, Callable

from ..collector import loads_static_data
from ..vocabulary import table
from . import fhirpath
from .narrative import html_checks

PRIMITIVES = frozenset("""base64Binary boolean canonical code date dateTime decimal id instant integer
markdown oid positiveInt string time unsignedInt uri url uuid xhtml""".split())
QUANTITIES = frozenset("Quantity SimpleQuantity Age Count Distance Duration MoneyQuantity".split())


@lru_cache(maxsize=1)
@loads_static_data
def data() -> dict:
    """The raw artifact (parsed once per process)."""
    raw = resources.files(__package__).joinpath("data", "definitions.json.gz").read_bytes()
    return json.loads(gzip.decompress(raw))


def packages() -> dict[str, str]:
    """name -> version of the official packages the artifact was built from."""
    return {name: p["version"] for name, p in data()["packages"].items()}


def _has_value(inputs: list) -> list:
    return [len(inputs) == 1 and isinstance(inputs[0], (str, bool, int, float, Decimal))]


def _html_checks(inputs: list) -> list:
    return [len(inputs) == 1 and isinstance(inputs[0], str) and html_checks(inputs[0])]


# fhirpathpy lacks the two FHIR-specific functions the invariants use; trace() must stay silent.
FHIRPATHPY_OPTIONS = {
    "userInvocationTable": {"hasValue": {"fn": _has_value, "arity": {0: []}},
                            "htmlChecks": {"fn": _html_checks, "arity": {0: []}}},
    "traceFn": lambda label, value: None,
}


@dataclass(eq=False, slots=True)
class Invariant:
    """One constraint of an element definition, compiled for fast repeated evaluation."""

    key: str
    severity: str
    human: str
    expression: str
    best_practice: bool
    closure: Callable | None = None  # fn(focus, env) -> list (fhirpath.Compiler)
    test: Callable | None = None  # fn(item, env) -> holds, from the closure (fhirpath.compile_test)
    heads: frozenset[str] | None = None
    # the JSON properties that hold one of `heads` (code, _code; valueQuantity... for value)
    head_keys: frozenset[str] | None = None
    absent: bool = True  # result when none of `heads` is present
    # (name, prefix): holds when member `name` is a string not starting with prefix, or is
    # absent (ref-1 on `reference` and "#"; fhirpath.unless_prefixed), for the walk's plans
    unless_prefixed: tuple[str, str] | None = None
    # (name, test, arg, extension): holds when member `name` is not a list (test None:
    # `name.exists()`) or is a string failing test(value, arg), as the compiled test decides
    # first; with `extension`, also when neither `name` nor it is present (fhirpath.sure_leaf)
    sure: tuple[str, Callable | None, str, str | None] | None = None
    _fallback: Any = None

    def holds(self, item: Any, env: fhirpath.Env, type_path: str) -> bool:
        """False only when the invariant evaluates to false on `item` (empty passes)."""
        keys = self.head_keys
        if keys is not None and isinstance(item, dict) and keys.isdisjoint(item):
            return self.absent
        sure = self.sure
        if sure is not None and isinstance(item, dict):  # (the usual value, without the calls)
            name, leaf, arg, extension = sure
            value = item.get(name)
            if value is None:
                if extension is not None and extension not in item:
                    return True
            elif leaf is None:
                if not isinstance(value, list):
                    return True
            elif isinstance(value, str) and not leaf(value, arg):
                return True
        test = self.test
        if test is not None:
            try:
                return test(item, env)
            except (fhirpath.EvalError, TypeError, ValueError, ArithmeticError, RecursionError):
                pass  # a case the closures do not model: ask the reference engine
        return self.evaluate_fallback(item, env, type_path) != [False]

    def evaluate_fallback(self, item: Any, env: fhirpath.Env, type_path: str) -> list:
        """Evaluate with fhirpathpy (the reference engine); an error counts as empty."""
        from fhirpathpy import compile as fp_compile
        from fhirpathpy.engine.nodes import ResourceNode
        from fhirpathpy.models import models

        if self._fallback is None:
            self._fallback = fp_compile(self.expression, models["r4"], FHIRPATHPY_OPTIONS)
        node = item if isinstance(item, dict) and "resourceType" in item and "." not in type_path \
            else ResourceNode.create_node(item, type_path)
        try:
            out = self._fallback(node, {"resource": env.resource, "rootResource": env.root,
                                        "context": item})
        except Exception:  # noqa: BLE001 - fhirpathpy raises bare Exceptions for unsupported parts
            return []
        return [v for v in out if isinstance(v, bool)][:1] if len(out) == 1 else []


def _head_keys(heads: frozenset[str]) -> frozenset[str]:
    """The JSON properties in which an element named in `heads` can appear: itself, `_name`
    (extensions of a primitive) and, for a choice element, every `name` + type suffix."""
    keys = set(heads) | {"_" + h for h in heads}
    for h in heads:
        if h in fhirpath.CHOICE_NAMES:
            keys.update(h + suffix for suffix in fhirpath.TYPE_SUFFIXES)
    return frozenset(keys)


# Syntax of the codes of the code systems value sets include whole (not enumerable here).
SYNTAX = {
    "urn:ietf:bcp:47": re.compile(r"^(?:[a-zA-Z]{2,3}(?:-[a-zA-Z]{3}){0,3}|[a-zA-Z]{4,8})"
                                  r"(?:-[a-zA-Z]{4})?(?:-(?:[a-zA-Z]{2}|[0-9]{3}))?"
                                  r"(?:-(?:[a-zA-Z0-9]{5,8}|[0-9][a-zA-Z0-9]{3}))*"
                                  r"(?:-[0-9A-WY-Za-wy-z](?:-[a-zA-Z0-9]{2,8})+)*"
                                  r"(?:-x(?:-[a-zA-Z0-9]{1,8})+)?$|^x(?:-[a-zA-Z0-9]{1,8})+$"),
    "urn:ietf:bcp:13": re.compile(r"^[\w.+-]+/[\w.+-]+(?:\s*;.*)?$"),
}


def well_formed(system: str, code: str) -> bool:
    """A code of a system checked by syntax. For BCP-47 also the registry's rule that a language
    with a two-letter ISO 639-1 code has no three-letter tag ("eng" is not a tag, "en" is)."""
    if not SYNTAX.get(system, _ANY).match(code):
        return False
    if system == "urn:ietf:bcp:47":
        primary = code.split("-", 1)[0].lower()
        if len(primary) == 3 and table("languages.csv").get(primary):
            return False
    return True


@dataclass(frozen=True, slots=True)
class ValueSet:
    """The codes of a value set: (system, code) pairs, bare codes, and whole code systems."""

    url: str
    pairs: frozenset
    codes: frozenset
    systems: frozenset

    def has_code(self, code: Any) -> bool:
        """A bare `code` value is in the set."""
        if code in self.codes:
            return True
        return any(well_formed(s, code) for s in self.systems) \
            if isinstance(code, str) else False

    def has_coding(self, system: Any, code: Any) -> bool:
        """A Coding (system and code; a Coding without system is matched on its code)."""
        if system is None:
            return self.has_code(code)
        if (system, code) in self.pairs:
            return True
        return system in self.systems and isinstance(code, str) and well_formed(system, code)

    def describe(self) -> str:
        """A short list of what the set holds, for messages."""
        if self.systems and not self.codes:
            return "codes of " + ", ".join(sorted(self.systems))
        ordered = sorted(self.codes)
        head = ", ".join(ordered[:8])
        return f"one of {head}" + (f" and {len(ordered) - 8} more" if len(ordered) > 8 else "")


_ANY = re.compile(r"^\S+$")


@dataclass(eq=False, slots=True)
class Element:
    """One element definition (one path of a type), with its children when it is a backbone."""

    path: str  # the definition path, e.g. Observation.referenceRange.low
    name: str  # the FHIRPath name (value for value[x])
    min: int
    many: bool
    types: tuple[str, ...]
    targets: tuple[str, ...] | None
    binding: tuple[str, ...] | None  # (strength initial, value set[, maximum value set])
    invariants: tuple[Invariant, ...]
    children: dict[str, tuple["Element", str]] | None = None
    content_ref: str | None = None
    choice: bool = False
    plans: dict[str, Any] = field(default_factory=dict)  # walk.Plan per type, built on first use


@dataclass(eq=False)
class TypeDef:
    """The element tree of one type: `root` holds the type-level invariants and the children."""

    name: str
    kind: str
    root: Element
    elements: dict[str, Element] = field(default_factory=dict)


def _cap(t: str) -> str:
    return t[:1].upper() + t[1:]


class Definitions:
    """Element trees, value sets and invariants, built lazily from the artifact."""

    def __init__(self, raw: dict) -> None:
        self.raw = raw
        self.resource_types = frozenset(n for n, t in raw["types"].items() if t["kind"] == "resource")
        self._types: dict[str, TypeDef] = {}
        self._invariants: dict[int, Invariant] = {}
        self._valuesets: dict[str, ValueSet] = {}
        self._code_systems: dict[str, Callable[[str], bool]] = {}
        self.walk_plans: dict[str, Any] = {}  # walk.Plan of each resource type, built on first use
        choices: set[str] = set()
        suffixes: set[str] = set()
        for t in raw["types"].values():
            for row in t["elements"]:
                if row[0].endswith("[x]"):
                    choices.add(row[0].rsplit(".", 1)[-1][:-3])
                    suffixes.update(_cap(c) for c in row[3])
        fhirpath.add_choices(choices, suffixes)

    # invariants
    def invariant(self, index: int) -> Invariant:
        inv = self._invariants.get(index)
        if inv is None:
            key, severity, human, expression, best, compact = self.raw["constraints"][index]
            inv = Invariant(key, severity, human, expression, bool(best))
            tree = fhirpath.expand(compact) if compact else fhirpath.parse_tree(expression)
            try:
                inv.closure = fhirpath.compile_closure(expression, tree, self.resource_types)
                inv.test = fhirpath.compile_test(expression, tree, self.resource_types)
                inv.unless_prefixed = fhirpath.unless_prefixed(tree, self.resource_types)
                inv.sure = fhirpath.sure_leaf(tree, self.resource_types)
            except fhirpath.Unsupported:
                inv.closure = inv.test = None
            inv.heads = fhirpath.context_heads(tree)
            if inv.heads is not None:
                inv.head_keys = _head_keys(inv.heads)
                empty = fhirpath.Env({}, {}, {})
                inv.absent = (inv.closure([{}], empty) if inv.closure else
                              inv.evaluate_fallback({}, empty, "Element")) != [False]
            self._invariants[index] = inv
        return inv

    # types
    def type(self, name: str) -> TypeDef | None:
        tdef = self._types.get(name)
        if tdef is None and name in self.raw["types"]:
            tdef = self._types[name] = self._build(name)
        return tdef

    def _build(self, name: str) -> TypeDef:
        spec = self.raw["types"][name]
        tdef: TypeDef | None = None
        for rel, mn, mx, types, targets, binding, cons, cref in spec["elements"]:
            el = Element(
                path=f"{name}.{rel}" if rel else name,
                name=(rel.rsplit(".", 1)[-1] if rel else name).removesuffix("[x]"),
                min=mn, many=mx != "1" and mx != "0", types=tuple(types),
                targets=tuple(targets) if targets is not None else None,
                binding=tuple(binding) if binding else None,
                invariants=tuple(self.invariant(i) for i in cons),
                content_ref=cref, choice=rel.endswith("[x]"))
            if not rel:
                el.children = {}
                tdef = TypeDef(name, spec["kind"], el)
                tdef.elements[""] = el
                continue
            assert tdef is not None
            tdef.elements[rel] = el
            parent = tdef.elements[rel.rsplit(".", 1)[0] if "." in rel else ""]
            if parent.children is None:
                parent.children = {}
            for key, t in _json_keys(el):
                parent.children[key] = (el, t)
        assert tdef is not None
        for el in tdef.elements.values():
            if el.content_ref is not None:
                target = tdef.elements[el.content_ref]
                if target.children is None:
                    target.children = {}
                el.children = target.children
                el.types = ("BackboneElement",)
        return tdef

    # value sets
    def valueset(self, url: str) -> ValueSet | None:
        """An enumerable value set (or one of whole code systems); None when it is unknown."""
        vs = self._valuesets.get(url)
        if vs is None:
            spec = self.raw["valuesets"].get(url)
            if spec is None:
                return None
            pairs = frozenset((s, c) for s, codes in spec.items() if s != "*" for c in codes)
            vs = self._valuesets[url] = ValueSet(url, pairs, frozenset(c for _, c in pairs),
                                                 frozenset(spec.get("*", ())))
        return vs

    @cached_property
    def oids(self) -> dict[str, str]:
        return self.raw["oids"]

    def code_system(self, url: str) -> Callable[[str], bool] | None:
        """Membership test of a complete code system the artifact holds (None when unknown)."""
        if url in PARTIAL_COPIES:
            return None
        test = self._code_systems.get(url)
        if test is None and url in self.raw["codesystems"]:
            spec = self.raw["codesystems"][url]
            if spec["ci"]:
                lowered = frozenset(c.lower() for c in spec["codes"])
                test = self._code_systems[url] = lambda code: code.lower() in lowered
            else:
                test = self._code_systems[url] = frozenset(spec["codes"]).__contains__
        return test


# Code systems maintained outside HL7 whose copy in the HL7 packages is an older snapshot: a code
# missing from it may be valid (DICOM Modality DOC, PLAN, RWV, EEG, FID... are absent from the DCM
# copy in hl7.terminology 7.0.1), so membership is not checked.
PARTIAL_COPIES = frozenset({"http://dicom.nema.org/resources/ontology/DCM"})


def _json_keys(el: Element) -> list[tuple[str, str]]:
    """(JSON property, type) pairs of an element: one per type for a choice, `_x` for primitives."""
    if el.choice:
        keys = [(el.name + _cap(t), t) for t in el.types]
    else:
        keys = [(el.name, el.types[0] if el.types else "BackboneElement")]
    out = list(keys)
    for key, t in keys:
        if t in PRIMITIVES or t == "string":
            out.append(("_" + key, "Element"))
    return out


@lru_cache(maxsize=1)
@loads_static_data
def definitions() -> Definitions:
    """The process-wide definitions."""
    return Definitions(data())

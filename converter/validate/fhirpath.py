"""FHIRPath invariants compiled to Python closures, with fhirpathpy as the fallback engine.

The invariants of the FHIR definitions use a small part of FHIRPath (paths, exists/empty/where/all,
three-valued logic, comparisons, a few string functions). fhirpathpy evaluates them by walking the
parse tree on every call, about 20 to 35 microseconds per invariant; the closures built here from
fhirpathpy's own parse tree do the same work in one or two. An expression that uses anything outside
the subset (type tests on datatypes, resolve(), date literals...) is evaluated by fhirpathpy instead,
and so is any evaluation that meets a case the closures do not model (a multi-item boolean).
tests/test_validate_fhirpath.py checks that both engines agree on every invariant over the examples.

The walk asks one question per invariant and element, "does it hold?", millions of times over a
feed: Compiler.test answers it with predicates for the usual shapes (`a.exists() or b.empty()`,
`reference.startsWith('#').not()`, `type = 'document' implies ...`), which return a truth value
instead of building collections, and evaluates a subexpression that reads only the environment
(`%resource.type = 'batch'`) once per resource.

Semantics follow FHIRPath 2.0 as FHIR R4 uses it: collections are lists, empty propagates, and/or/
xor/implies are three-valued. A constraint fails only when it evaluates to `false`; an empty result
(unknown) passes, as in fhirpathpy.
"""
from __future__ import annotations

import operator
import re
from decimal import Decimal
from functools import lru_cache
from typing import Any, Callable

from .narrative import html_checks

Fn = Callable[[list, "Env"], list]
UCUM = "http://unitsofmeasure.org"

# Choice elements ("value" reads valueQuantity, valueString...): the base names of every [x] element.
CHOICE_NAMES: set[str] = set()
TYPE_SUFFIXES: set[str] = set()


class Unsupported(Exception):
    """The expression uses something the closures do not model: use fhirpathpy."""


class EvalError(Exception):
    """An evaluation met a case the closures do not model: use fhirpathpy for this instance."""


class Env:
    """The environment variables of one evaluation, and the values of the subexpressions that
    read nothing else (see Compiler.expr), computed once per Env."""

    __slots__ = ("resource", "root", "context", "memo")

    def __init__(self, resource: Any, root: Any, context: Any) -> None:
        self.resource = resource
        self.root = root
        self.context = context
        self.memo: dict[object, Any] | None = None  # created on first use


class MissingValue:
    """A primitive that has only extensions (`_birthDate` without `birthDate`): exists, no value."""

    __slots__ = ("ext",)

    def __init__(self, ext: Any) -> None:
        self.ext = ext


# --- values -----------------------------------------------------------------------------------

def truth(coll: list) -> bool | None:
    """FHIRPath singleton evaluation of a collection as a boolean (None is empty)."""
    if not coll:
        return None
    if len(coll) > 1:
        raise EvalError("a boolean operand holds several items")
    v = coll[0]
    return v if isinstance(v, bool) else True


def add_choices(names: set[str], suffixes: set[str]) -> None:
    """Make `names` choice elements, whose JSON names end with one of `suffixes`."""
    CHOICE_NAMES.update(names)
    TYPE_SUFFIXES.update(suffixes)
    _CHOICE_KEYS.clear()


# name -> the JSON names of choice element `name` (every name + suffix), made on first use
_CHOICE_KEYS: dict[str, frozenset[str]] = {}


def _member(item: dict, name: str) -> tuple[str, Any]:
    """The JSON name and value of child `name` (`valueQuantity` for the choice `value`)."""
    v = item.get(name)
    if v is None and name in CHOICE_NAMES:
        keys = _CHOICE_KEYS.get(name)
        if keys is None:
            keys = _CHOICE_KEYS[name] = frozenset(name + s for s in TYPE_SUFFIXES)
        if keys.isdisjoint(item):  # (one test instead of a look at every member)
            return name, v
        for k, cv in item.items():
            if k in keys:
                return k, cv
    return name, v


def _child(item: Any, name: str, out: list) -> None:
    """Append the values of child `name` of `item` (value[x] for a choice, `_name` extensions)."""
    if not isinstance(item, dict):
        return
    name, v = _member(item, name)
    if v is None:
        ext = item.get("_" + name)
        if isinstance(ext, list):
            out.extend(MissingValue(e) for e in ext if e is not None)
        elif ext is not None:
            out.append(MissingValue(ext))
    elif isinstance(v, list):
        out.extend(v if None not in v else [x for x in v if x is not None])
    else:
        out.append(v)


def _has_child(item: Any, name: str) -> bool:
    """Whether `_child(item, name, out)` would append anything: `name.exists()` without the list."""
    if not isinstance(item, dict):
        return False
    name, v = _member(item, name)
    if v is None:
        ext = item.get("_" + name)
        if isinstance(ext, list):
            return any(e is not None for e in ext)
        return ext is not None
    if isinstance(v, list):
        return len(v) > v.count(None)  # some item is not null
    return True


DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?"
                     r"(Z|[+-]\d{2}:\d{2})?)?)?)?$")


@lru_cache(maxsize=4096)  # the same dates are compared again and again (per-1 on every Period)
def _datetime_parts(s: str) -> tuple[tuple, int] | None:
    """(year, month, day, hour, minute, second) (UTC when a zone is given) and its precision."""
    m = DATE_RE.match(s)
    if not m:
        return None
    y, mo, d, h, mi, sec, frac, tz = m.groups()
    parts: list = [int(y)]
    for p in (mo, d, h, mi):
        if p is None:
            break
        parts.append(int(p))
    if sec is not None:
        parts.append(Decimal(sec + (frac or "")))
    if tz and len(parts) >= 5:
        import datetime as dt
        offset = 0 if tz == "Z" else (1 if tz[0] == "+" else -1) * (int(tz[1:3]) * 60 + int(tz[4:6]))
        base = dt.datetime(parts[0], parts[1], parts[2], parts[3], parts[4]) \
            - dt.timedelta(minutes=offset)
        parts[:5] = [base.year, base.month, base.day, base.hour, base.minute]
    return tuple(parts), len(parts)


def _compare(a: Any, b: Any) -> int | None:
    """-1, 0, 1, or None when the values cannot be compared (different precision or kinds)."""
    if isinstance(a, bool) or isinstance(b, bool):
        raise EvalError("booleans are not ordered")
    if isinstance(a, (int, float, Decimal)) and isinstance(b, (int, float, Decimal)):
        return (a > b) - (a < b)
    if isinstance(a, str) and isinstance(b, str):
        da, db = _datetime_parts(a), _datetime_parts(b)
        if da and db:
            pa, pb = da[0], db[0]
            for x, y in zip(pa, pb):
                if x != y:
                    return -1 if x < y else 1
            return 0 if len(pa) == len(pb) else None
        return (a > b) - (a < b)
    if isinstance(a, dict) and isinstance(b, dict) and "value" in a and "value" in b:
        if (a.get("system"), a.get("code"), a.get("unit")) != (b.get("system"), b.get("code"),
                                                               b.get("unit")):
            if a.get("code") is None or a.get("code") != b.get("code"):
                return None
        return _compare(a["value"], b["value"])
    raise EvalError("values of different kinds are not ordered")


def _equal(a: Any, b: Any) -> bool | None:
    if isinstance(a, MissingValue) or isinstance(b, MissingValue):
        return None
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b if isinstance(a, bool) and isinstance(b, bool) else False
    if isinstance(a, (int, float, Decimal)) and isinstance(b, (int, float, Decimal)):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        if a == b:
            return True
        if not (a[:1].isdigit() and b[:1].isdigit()):
            return False  # different texts are equal only as dates or times, which start with a digit
        da, db = _datetime_parts(a), _datetime_parts(b)
        if da and db and da[1] != db[1]:
            c = _compare(a, b)
            return None if c is None else c == 0
        return False
    return _key(a) == _key(b)


def _key(v: Any) -> Any:
    """A hashable key with FHIRPath equality for the usual JSON values."""
    if isinstance(v, dict):
        return tuple(sorted((k, _key(x)) for k, x in v.items()))
    if isinstance(v, list):
        return tuple(_key(x) for x in v)
    if isinstance(v, float):
        return Decimal(repr(v))
    if isinstance(v, MissingValue):
        return ("_missing", id(v))
    return v


def _equality(x: list, y: list, negate: bool) -> list:
    """`x = y` (`x != y` with negate) of two collections."""
    if not x or not y:
        return []
    if len(x) != len(y):
        return [negate]
    result: bool | None = True
    for u, v in zip(x, y):
        e = _equal(u, v)
        if e is None:
            return []
        if not e:
            result = False
            break
    return [result != negate]


def _distinct(coll: list) -> list:
    seen, out = set(), []
    for v in coll:
        k = _key(v)
        if k not in seen:
            seen.add(k)
            out.append(v)
    return out


def _is_resource_type(v: Any, name: str) -> bool:
    """FHIRPath `is` for resource types (Resource and DomainResource are supertypes)."""
    rtype = v.get("resourceType") if isinstance(v, dict) else None
    if rtype is None:
        return False
    if name == "DomainResource":
        return rtype not in ("Bundle", "Binary", "Parameters")
    return name in (rtype, "Resource")


# --- compiler ----------------------------------------------------------------------------------

def _reads_only_env(node: dict) -> bool:
    """The expression's value depends on the environment (%resource...) and literals only, not on
    the focus. Conservative: False for anything not known to be so."""
    kind = node["type"]
    children = node.get("children", [])
    if kind == "TermExpression":
        term = children[0]
        if term["type"] in ("LiteralTerm", "ExternalConstantTerm"):
            return True
        return term["type"] == "ParenthesizedTerm" and _reads_only_env(term["children"][0])
    if kind == "InvocationExpression":
        # what follows the dot, parameters included, works on the left side's value
        return _reads_only_env(children[0])
    if kind in _OPERATORS:
        return all(c["type"] == "TypeSpecifier" or _reads_only_env(c) for c in children)
    return False


# Expressions whose operands are all evaluated on the focus of the expression itself.
_OPERATORS = frozenset("""IndexerExpression PolarityExpression MultiplicativeExpression
AdditiveExpression TypeExpression UnionExpression InequalityExpression EqualityExpression
MembershipExpression AndExpression OrExpression XorExpression ImpliesExpression""".split())

_UNSET = object()


def _memoized(fn: Callable[[Any, Env], Any]) -> Callable[[Any, Env], Any]:
    """`fn` (a closure or a predicate), evaluated once per Env: for a subexpression that reads
    only the environment, whatever the focus."""
    key = object()

    def memo(focus, env):
        memo = env.memo
        if memo is None:
            memo = env.memo = {}
        value = memo.get(key, _UNSET)
        if value is _UNSET:
            value = memo[key] = fn(focus, env)
        return value
    return memo


def _identifiers(node: dict) -> list[str]:
    if node["type"] == "Identifier":
        return [node["text"].strip("`")]
    return [name for c in node.get("children", []) for name in _identifiers(c)]


def _literal_string(text: str) -> str:
    s = text[1:-1]
    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", lambda m: {
        "n": "\n", "t": "\t", "r": "\r", "f": "\f"}.get(m.group(1), chr(int(m.group(1)[1:], 16))
                                                        if m.group(1).startswith("u") and
                                                        len(m.group(1)) == 5 else m.group(1)), s)


class Compiler:
    """Turns one fhirpathpy parse tree into a closure `fn(focus, env) -> list` (expr), or into
    a test `fn(item, env) -> bool` (test)."""

    def __init__(self, resource_types: frozenset[str]) -> None:
        self.resource_types = resource_types
        self.memoize = True

    def expr(self, node: dict) -> Fn:
        method = getattr(self, "_" + node["type"], None)
        if method is None:
            raise Unsupported(node["type"])
        if self.memoize and _reads_only_env(node) and node["type"] != "TermExpression":
            # `%resource.type = 'batch' or ...` inside `entry.all(...)` (bdl-3): the same value
            # for every entry, so computed once per Env (per resource walked). Only the largest
            # such subexpressions are wrapped, hence memoize is off while compiling inside one.
            self.memoize = False
            try:
                return _memoized(method(node))
            finally:
                self.memoize = True
        return method(node)

    # terms
    def _TermExpression(self, node):  # noqa: N802 - named after the grammar rule
        return self.expr(node["children"][0])

    def _InvocationTerm(self, node):  # noqa: N802
        return self.invocation(node["children"][0], top=True)

    def _ParenthesizedTerm(self, node):  # noqa: N802
        return self.expr(node["children"][0])

    def _LiteralTerm(self, node):  # noqa: N802
        lit = node["children"][0]
        kind = lit["type"]
        if kind == "StringLiteral":
            value: Any = _literal_string(lit["text"])
        elif kind == "NumberLiteral":
            t = lit["text"]
            value = Decimal(t) if "." in t else int(t)
        elif kind == "BooleanLiteral":
            value = lit["text"] == "true"
        elif kind == "NullLiteral":
            return lambda focus, env: []
        else:
            raise Unsupported(kind)
        result = [value]
        return lambda focus, env: result

    def _ExternalConstantTerm(self, node):  # noqa: N802
        ident = node["children"][0]["children"][0]
        name = ident.get("text", "").strip("`")
        if ident["type"] == "StringLiteral":
            raise Unsupported("%'string'")
        if name == "resource":
            return lambda focus, env: [env.resource]
        if name == "rootResource":
            return lambda focus, env: [env.root]
        if name == "context":
            return lambda focus, env: [env.context]
        if name == "ucum":
            return lambda focus, env: [UCUM]
        raise Unsupported("%" + name)

    def _InvocationExpression(self, node):  # noqa: N802
        left = self.expr(node["children"][0])
        right = self.invocation(node["children"][1], top=False)
        return lambda focus, env: right(left(focus, env), env)

    def _IndexerExpression(self, node):  # noqa: N802
        coll, idx = (self.expr(c) for c in node["children"])

        def fn(focus, env):
            i = idx(focus, env)
            c = coll(focus, env)
            if not i:
                return []
            n = int(i[0])
            return [c[n]] if 0 <= n < len(c) else []
        return fn

    def _PolarityExpression(self, node):  # noqa: N802
        inner = self.expr(node["children"][0])
        sign = node["terminalNodeText"][0]

        def fn(focus, env):
            v = inner(focus, env)
            if len(v) != 1 or not isinstance(v[0], (int, Decimal, float)) or isinstance(v[0], bool):
                raise EvalError("polarity of a non-number")
            return [-v[0]] if sign == "-" else v
        return fn

    # invocations
    def invocation(self, node: dict, top: bool) -> Fn:
        kind = node["type"]
        if kind == "MemberInvocation":
            name = node["children"][0]["text"].strip("`")
            if top and name[:1].isupper() and name in self.resource_types:
                def type_or_member(focus, env, name=name):
                    hits = [v for v in focus if isinstance(v, dict)
                            and v.get("resourceType") == name]
                    if hits:
                        return hits
                    out: list = []
                    for item in focus:
                        _child(item, name, out)
                    return out
                return type_or_member

            def member(focus, env, name=name):
                out: list = []
                for item in focus:
                    _child(item, name, out)
                return out
            return member
        if kind == "ThisInvocation":
            return lambda focus, env: focus
        if kind == "FunctionInvocation":
            return self.function(node["children"][0])
        raise Unsupported(kind)

    def function(self, functn: dict) -> Fn:
        name = functn["children"][0]["text"]
        params = functn["children"][1]["children"] if len(functn["children"]) > 1 else []
        if name in ("is", "as", "ofType"):
            return self.type_function(name, params)
        builder = FUNCTIONS.get(name)
        if builder is None:
            raise Unsupported(name + "()")
        return builder(self, [self.expr(p) for p in params])

    def type_name(self, node: dict) -> str:
        name = ".".join(_identifiers(node)).replace("FHIR.", "")
        if name not in self.resource_types:
            raise Unsupported(f"type test on {name}")
        return name

    def type_function(self, name: str, params: list) -> Fn:
        tname = self.type_name(params[0])
        if name == "is":
            def is_(focus, env):
                if not focus:
                    return []
                if len(focus) > 1:
                    raise EvalError("is() on several items")
                return [_is_resource_type(focus[0], tname)]
            return is_
        return lambda focus, env: [v for v in focus if _is_resource_type(v, tname)]

    def _TypeExpression(self, node):  # noqa: N802
        left = self.expr(node["children"][0])
        tname = self.type_name(node["children"][1])
        op = node["terminalNodeText"][0]
        if op == "is":
            def is_(focus, env):
                v = left(focus, env)
                if not v:
                    return []
                if len(v) > 1:
                    raise EvalError("is on several items")
                return [_is_resource_type(v[0], tname)]
            return is_
        return lambda focus, env: [v for v in left(focus, env) if _is_resource_type(v, tname)]

    # operators
    def _binary(self, node):
        a, b = (self.expr(c) for c in node["children"])
        return a, b, node["terminalNodeText"][0]

    def _junction(self, node: dict, decisive: bool) -> Fn:
        """and (decisive false) / or (decisive true) in three-valued logic, short-circuiting."""
        a, b, _ = self._binary(node)
        other = not decisive

        def fn(focus, env):
            x = truth(a(focus, env))
            if x is decisive:
                return [decisive]
            y = truth(b(focus, env))
            if y is decisive:
                return [decisive]
            return [other] if x is other and y is other else []
        return fn

    def _AndExpression(self, node):  # noqa: N802
        return self._junction(node, False)

    def _OrExpression(self, node):  # noqa: N802
        if node["terminalNodeText"][0] == "xor":
            a, b, _ = self._binary(node)

            def xor(focus, env):
                x, y = truth(a(focus, env)), truth(b(focus, env))
                return [] if x is None or y is None else [x != y]
            return xor
        return self._junction(node, True)

    _XorExpression = _OrExpression

    def _ImpliesExpression(self, node):  # noqa: N802
        a, b, _ = self._binary(node)

        def fn(focus, env):
            x = truth(a(focus, env))
            if x is False:
                return [True]
            y = truth(b(focus, env))
            if x is True:
                return [] if y is None else [y]
            return [True] if y is True else []
        return fn

    def _EqualityExpression(self, node):  # noqa: N802
        a, b, op = self._binary(node)
        if op in ("~", "!~"):
            raise Unsupported("equivalence")
        negate = op == "!="

        return lambda focus, env: _equality(a(focus, env), b(focus, env), negate)

    def _InequalityExpression(self, node):  # noqa: N802
        a, b, op = self._binary(node)
        test = {"<": lambda c: c < 0, ">": lambda c: c > 0, "<=": lambda c: c <= 0,
                ">=": lambda c: c >= 0}[op]

        def fn(focus, env):
            x, y = a(focus, env), b(focus, env)
            if not x or not y:
                return []
            if len(x) > 1 or len(y) > 1:
                raise EvalError("comparison of several items")
            c = _compare(x[0], y[0])
            return [] if c is None else [test(c)]
        return fn

    def _MembershipExpression(self, node):  # noqa: N802
        a, b, op = self._binary(node)
        if op == "contains":
            a, b = b, a

        def fn(focus, env):
            x, y = a(focus, env), b(focus, env)
            if not x:
                return []
            if len(x) > 1:
                raise EvalError("membership of several items")
            return [any(_equal(x[0], v) for v in y)]
        return fn

    def _UnionExpression(self, node):  # noqa: N802
        a, b, _ = self._binary(node)
        return lambda focus, env: _distinct(a(focus, env) + b(focus, env))

    def _AdditiveExpression(self, node):  # noqa: N802
        a, b, op = self._binary(node)

        def fn(focus, env):
            x, y = a(focus, env), b(focus, env)
            if op == "&":
                return ["".join(str(v[0]) if v else "" for v in (x, y))]
            if not x or not y:
                return []
            if len(x) > 1 or len(y) > 1:
                raise EvalError("arithmetic on several items")
            u, v = x[0], y[0]
            if isinstance(u, str) and isinstance(v, str) and op == "+":
                return [u + v]
            if isinstance(u, (int, Decimal)) and isinstance(v, (int, Decimal)) \
                    and not isinstance(u, bool) and not isinstance(v, bool):
                return [u + v if op == "+" else u - v]
            raise EvalError("arithmetic on these kinds")
        return fn

    def _MultiplicativeExpression(self, node):  # noqa: N802
        raise Unsupported("multiplicative")


    # predicates: the common shapes of invariants, evaluated on one item without collections
    #
    # An invariant is always evaluated on a single item, and most are boolean combinations of
    # `name.exists()`, `name.empty()`, `name.hasValue()`, `name.startsWith('x')`... on it. The
    # closures above build a list at every step; a predicate returns the truth value directly,
    # and the usual leaves (`reference.startsWith('#').not()`) are one function. `pred(item, env)`
    # is exactly `truth(self.expr(node)([item], env))`, raising alike (the same checks run in the
    # same order), so the fallback to fhirpathpy happens in the same cases.

    def test(self, node: dict) -> Callable[[Any, "Env"], bool]:
        """`test(item, env)`: the expression does not evaluate to false on `item` (empty passes)."""
        node = _unparenthesized(node)
        if not _reads_only_env(node):  # (else the memoized predicate below)
            # an or/and chain or a leaf answers "holds" itself: one call less per evaluation
            if node["type"] in _JUNCTIONS and _operator(node) in ("or", "and"):
                return self._junction_predicate(node, holds=True)
            children = node.get("children", [])
            if node["type"] == "InvocationExpression" \
                    and children[1]["type"] == "FunctionInvocation":
                made = self._function_predicate(children[0], children[1]["children"][0],
                                                unknown=True)
                if made is not None:
                    return made
        pred, boolean = self.predicate(node)
        if boolean:  # the value is [] or [a boolean]: "not [False]" is "truth is not False"
            return lambda item, env: pred(item, env) is not False
        closure = self.expr(node)
        return lambda item, env: closure([item], env) != [False]

    def predicate(self, node: dict) -> tuple[Callable[[Any, "Env"], bool | None], bool]:
        """(pred, boolean): pred(item, env) is the truth of the expression on [item]; `boolean`
        when its value is always empty or one boolean (what not() and `=` of booleans need)."""
        node = _unparenthesized(node)
        kind = node["type"]
        children = node.get("children", [])
        op = _operator(node)
        if self.memoize and kind != "TermExpression" and _reads_only_env(node):
            self.memoize = False  # as in expr(): once per Env, for the largest such expression
            try:
                pred, boolean = self.predicate(node)
            finally:
                self.memoize = True
            return _memoized(pred), boolean
        if kind in _JUNCTIONS and op in ("or", "and"):
            return self._junction_predicate(node, holds=False), True
        if kind == "ImpliesExpression":
            return _implies(*(self.predicate(c)[0] for c in children)), True
        if kind == "EqualityExpression" and op in ("=", "!="):
            name, literal = self._member_name(children[0]), _string_literal(children[1])
            if name is not None and literal is not None and not literal[:1].isdigit():
                return _equals_literal_leaf(name, literal, op == "!="), True
            (a, a_bool), (b, b_bool) = (self.predicate(c) for c in children)
            if a_bool and b_bool:
                return _boolean_equality(a, b, op == "!="), True
        if kind == "InequalityExpression":
            return self._inequality_predicate(node), True
        if kind == "InvocationExpression" and children[1]["type"] == "FunctionInvocation":
            made = self._function_predicate(children[0], children[1]["children"][0])
            if made is not None:
                return made, True
        closure = self.expr(node)
        return (lambda item, env: truth(closure([item], env))), False

    def _junction_predicate(self, node: dict, holds: bool) -> Callable:
        """`a or b or c` (`and`): one function over the operands. With `holds`, the result is
        whether the value is not false (empty counts as holding), as Invariant.holds wants."""
        op = _operator(node)
        operands = tuple(self.predicate(c)[0] for c in _operands(node, op))
        unknown = True if holds else None
        if op == "and":
            return _junction(operands, False, unknown)
        if len(operands) == 2:
            return _either(*operands, unknown)
        return _junction(operands, True, unknown)

    def _inequality_predicate(self, node: dict) -> Callable:
        a, b = (self.expr(c) for c in node["children"])
        test = _ORDER[_operator(node)]

        def compare(item, env):
            x, y = a([item], env), b([item], env)
            if not x or not y:
                return None
            if len(x) > 1 or len(y) > 1:
                raise EvalError("comparison of several items")
            c = _compare(x[0], y[0])
            return None if c is None else test(c)
        return compare

    def _function_predicate(self, left: dict, functn: dict,
                            unknown: bool | None = None) -> Callable | None:
        """`<boolean>.not()`, or one of the leaves of `_leaf`; None for the rest. An empty
        value is returned as `unknown` (None, or True for a test)."""
        fname, params = functn["children"][0]["text"], _params(functn)
        if fname != "not" or params:
            return self._leaf(left, fname, params, False, unknown)
        if left["type"] == "InvocationExpression" \
                and left["children"][1]["type"] == "FunctionInvocation":
            inner = left["children"][1]["children"][0]
            leaf = self._leaf(left["children"][0], inner["children"][0]["text"], _params(inner),
                              True, unknown)
            if leaf is not None:
                return leaf
        inner_pred, boolean = self.predicate(left)
        if not boolean:
            return None  # not() of a non-boolean is an error the closure raises

        def not_(item, env):
            x = inner_pred(item, env)
            return unknown if x is None else not x
        return not_

    def _leaf(self, left: dict, fname: str, params: list, negate: bool,
              unknown: bool | None = None) -> Callable | None:
        """`a.b.exists()` and `a.b.empty()`, `a.b.where(criterion).exists()` (and empty),
        `name.hasValue()`, `name.startsWith('x')` (endsWith, contains) and `name.all(criterion)`
        on members of the item, negated when asked (`.not()` after it), an empty value returned
        as `unknown`; None for anything else."""
        if fname in ("exists", "empty") and not params:
            negate = negate if fname == "exists" else not negate
            if left["type"] == "InvocationExpression" \
                    and left["children"][1]["type"] == "FunctionInvocation":
                inner = left["children"][1]["children"][0]
                path = self._member_path(left["children"][0])
                if inner["children"][0]["text"] == "where" and len(_params(inner)) == 1 \
                        and path is not None:
                    criterion = self.predicate(_params(inner)[0])[0]
                    return _where_exists_leaf(path, criterion, negate)
                return None
            path = self._member_path(left)
            if path is None:
                return None
            return _exists_leaf(path[0], negate) if len(path) == 1 else \
                _path_exists_leaf(path, negate)
        name = self._member_name(left)
        if name is None:
            return None
        if fname == "hasValue" and not params:
            return _has_value_leaf(name, negate)
        if fname in _STRING_TESTS and len(params) == 1 and _string_literal(params[0]) is not None:
            return _string_leaf(name, _STRING_TESTS[fname], _string_literal(params[0]), negate,
                                unknown)
        if fname == "all" and len(params) == 1:
            criterion = self.predicate(params[0])[0]

            def all_(item, env):
                out: list = []
                _child(item, name, out)
                for v in out:
                    if not criterion(v, env):
                        return negate
                return not negate
            return all_
        return None

    def _member_path(self, node: dict) -> list[str] | None:
        """The names when `node` is a chain of members from the focus (`code.coding`)."""
        names: list[str] = []
        while node["type"] == "InvocationExpression" \
                and node["children"][1]["type"] == "MemberInvocation":
            names.append(node["children"][1]["children"][0]["text"].strip("`"))
            node = node["children"][0]
        first = self._member_name(node)
        return None if first is None else [first] + names[::-1]

    def _member_name(self, node: dict) -> str | None:
        """The name when `node` is a bare member of the focus (`code`, not `Patient` or `$this`)."""
        if node["type"] != "TermExpression" or node["children"][0]["type"] != "InvocationTerm":
            return None
        inv = node["children"][0]["children"][0]
        if inv["type"] != "MemberInvocation":
            return None
        name = inv["children"][0]["text"].strip("`")
        return None if name in self.resource_types else name


# --- predicates (see Compiler.predicate) --------------------------------------------------------

_JUNCTIONS = frozenset({"OrExpression", "AndExpression"})
_ORDER = {"<": lambda c: c < 0, ">": lambda c: c > 0, "<=": lambda c: c <= 0,
          ">=": lambda c: c >= 0}
_STRING_TESTS = {"startsWith": str.startswith, "endsWith": str.endswith,
                 "contains": operator.contains}  # (contains(s, a) is `a in s`)


def _params(functn: dict) -> list[dict]:
    """The parameter expressions of a function invocation node."""
    return functn["children"][1]["children"] if len(functn["children"]) > 1 else []


def _operator(node: dict) -> str:
    return node["terminalNodeText"][0] if node.get("terminalNodeText") else ""


def _unparenthesized(node: dict) -> dict:
    while node["type"] == "TermExpression" and node["children"][0]["type"] == "ParenthesizedTerm":
        node = node["children"][0]["children"][0]
    return node


def _operands(node: dict, op: str) -> list[dict]:
    """The operands of a chain of one junction, in order: `a or b or c` -> a, b, c."""
    out = []
    for c in node["children"]:
        if c["type"] == node["type"] and _operator(c) == op:
            out.extend(_operands(c, op))
        else:
            out.append(c)
    return out


def _junction(preds: tuple, decisive: bool, unknown: bool | None) -> Callable:
    """`a or b or ...` (decisive True) or `a and b and ...` (decisive False) in three-valued logic:
    `decisive` at the first operand that is it (the others are not evaluated), the other truth
    value when all operands are that, else `unknown`."""
    def junction(item, env):
        result = not decisive
        for pred in preds:
            x = pred(item, env)
            if x is decisive:
                return decisive
            if x is None:
                result = unknown
        return result
    return junction


def _either(a: Callable, b: Callable, unknown: bool | None) -> Callable:
    """`a or b`: _junction of two operands, unrolled (ref-1 on every Reference, cpt-2, qty-3...)."""
    def either(item, env):
        x = a(item, env)
        if x is True:
            return True
        y = b(item, env)
        if y is True:
            return True
        return False if x is False and y is False else unknown
    return either


def _implies(a: Callable, b: Callable) -> Callable:
    def implies(item, env):
        x = a(item, env)
        if x is False:
            return True
        y = b(item, env)
        if x is True:
            return y
        return True if y is True else None
    return implies


def _boolean_equality(a: Callable, b: Callable, negate: bool) -> Callable:
    """`a = b` (or `!=`) of two boolean predicates: both evaluated, empty when either is."""
    def equal(item, env):
        x = a(item, env)
        y = b(item, env)
        if x is None or y is None:
            return None
        return (x is y) != negate
    return equal


def _exists_leaf(name: str, negate: bool) -> Callable:
    """`name.exists()` (`name.empty()` negated): _has_child with its usual cases inlined."""
    extension = "_" + name

    def exists(item, env):
        value = item.get(name) if isinstance(item, dict) else None
        if value is None:
            if isinstance(item, dict) and extension not in item and name not in CHOICE_NAMES:
                return negate  # nothing: no value, no extension, not a choice
            return _has_child(item, name) != negate  # a choice, `_name` extensions, or nothing
        if isinstance(value, list):
            return (len(value) > value.count(None)) != negate  # some item is not null
        return not negate
    return exists


def _members(item: Any, names: list[str]) -> list:
    """The values at the end of a chain of members (the closures' member steps, in one loop)."""
    level = [item]
    for name in names:
        out: list = []
        for v in level:
            _child(v, name, out)
        level = out
    return level


def _path_exists_leaf(names: list[str], negate: bool) -> Callable:
    """`a.b.exists()` (`a.b.empty()` negated) without collecting the last step."""
    steps, last = names[:-1], names[-1]
    extension = "_" + last

    def exists(item, env):
        plain = last not in CHOICE_NAMES  # then an item without `last` or `_last` has none
        for v in _members(item, steps):
            # (bdl-2 asks it of every Bundle entry: the usual item, without it, in two tests)
            if plain and isinstance(v, dict) and last not in v and extension not in v:
                continue
            if _has_child(v, last):
                return not negate
        return negate
    return exists


def _where_exists_leaf(names: list[str], criterion: Callable, negate: bool) -> Callable:
    """`path.where(criterion).exists()` (`.empty()` negated). The criterion is evaluated on every
    item, as where() does, so that an item it cannot decide raises as in the closure."""
    def exists(item, env):
        found = False
        for v in _members(item, names):
            if criterion(v, env):
                found = True
        return found != negate
    return exists


def _equals_literal_leaf(name: str, literal: str, negate: bool) -> Callable:
    """`name = 'literal'` (`!=` negated) for a literal that is not a date or time: a string value
    equals it only as the same text (see _equal)."""
    expected = [literal]

    def equals(item, env):
        value = item.get(name) if isinstance(item, dict) else None
        if isinstance(value, str):
            return (value == literal) != negate  # the usual case, without the collections
        out: list = []
        _child(item, name, out)
        return truth(_equality(out, expected, negate))
    return equals


def _has_value_leaf(name: str, negate: bool) -> Callable:
    def has_value(item, env):
        value = item.get(name) if isinstance(item, dict) else None
        if isinstance(value, (str, bool, int, float, Decimal)):
            return not negate  # the usual case, without the collection
        out: list = []
        _child(item, name, out)
        return (len(out) == 1 and isinstance(out[0], (str, bool, int, float, Decimal))) != negate
    return has_value


def _string_leaf(name: str, test: Callable[[str, str], bool], arg: str, negate: bool,
                 unknown: bool | None) -> Callable:
    """`name.startsWith(arg)` and the like: `unknown` without a value, an error on several
    items."""
    def string_test(item, env):
        value = item.get(name) if isinstance(item, dict) else None
        if isinstance(value, str):
            return test(value, arg) != negate  # the usual case, without the collection
        out: list = []
        _child(item, name, out)
        s = _single_string(out)
        return unknown if s is None else test(s, arg) != negate
    return string_test


def _string_literal(node: dict) -> str | None:
    if node["type"] == "TermExpression" and node["children"][0]["type"] == "LiteralTerm":
        lit = node["children"][0]["children"][0]
        if lit["type"] == "StringLiteral":
            return _literal_string(lit["text"])
    return None


# --- functions (each builder gets the compiler and the compiled parameters) ---------------------

def _fn_exists(c, params):
    if params:
        crit = params[0]
        return lambda focus, env: [any(truth(crit([v], env)) for v in focus)]
    return lambda focus, env: [bool(focus)]


def _fn_where(c, params):
    crit = params[0]
    return lambda focus, env: [v for v in focus if truth(crit([v], env))]


def _fn_all(c, params):
    crit = params[0]
    return lambda focus, env: [all(truth(crit([v], env)) for v in focus)]


def _fn_select(c, params):
    proj = params[0]

    def fn(focus, env):
        out: list = []
        for v in focus:
            out.extend(proj([v], env))
        return out
    return fn


def _fn_not(c, params):
    def fn(focus, env):
        t = truth(focus)
        if t is None:
            return []
        if not isinstance(focus[0], bool):
            raise EvalError("not() of a non-boolean")
        return [not t]
    return fn


def _single_string(focus: list) -> str | None:
    if not focus:
        return None
    if len(focus) > 1:
        raise EvalError("string function on several items")
    v = focus[0]
    if isinstance(v, MissingValue):
        return None
    if not isinstance(v, str):
        raise EvalError("string function on a non-string")
    return v


def _string_fn(op):
    def builder(c, params):
        def fn(focus, env):
            s = _single_string(focus)
            if s is None:
                return []
            args = []
            for p in params:
                a = p(focus, env)
                if not a:
                    return []
                args.append(a[0])
            return op(s, *args)
        return fn
    return builder


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.DOTALL)


def _to_integer(focus, env):
    if not focus:
        return []
    v = focus[0]
    if isinstance(v, bool):
        return [int(v)]
    if isinstance(v, int):
        return [v]
    if isinstance(v, str) and re.fullmatch(r"[+-]?\d+", v):
        return [int(v)]
    return []


def _to_string(focus, env):
    if not focus:
        return []
    v = focus[0]
    if isinstance(v, bool):
        return ["true" if v else "false"]
    if isinstance(v, (str, int, Decimal)):
        return [str(v)]
    return []


def _children(focus: list) -> list:
    out: list = []
    for v in focus:
        if isinstance(v, dict):
            for k, x in v.items():
                if k == "resourceType" or k.startswith("_"):
                    continue
                if isinstance(x, list):
                    out.extend(x)
                else:
                    out.append(x)
    return out


def _descendants(focus, env):
    out: list = []
    level = _children(focus)
    while level:
        out.extend(level)
        level = _children(level)
    return out


def _fn_iif(c, params):
    crit, yes = params[0], params[1]
    no = params[2] if len(params) > 2 else (lambda focus, env: [])
    return lambda focus, env: yes(focus, env) if truth(crit(focus, env)) else no(focus, env)


def _fn_intersect(c, params):
    other = params[0]

    def fn(focus, env):
        if not focus:
            return []
        keys = {_key(v) for v in other(focus, env)}
        return _distinct([v for v in focus if _key(v) in keys])
    return fn


def _fn_combine(c, params):
    other = params[0]
    return lambda focus, env: focus + other(focus, env)


def _fn_has_value(c, params):
    return lambda focus, env: [len(focus) == 1 and isinstance(focus[0], (str, bool, int, float,
                                                                         Decimal))]


def _fn_html_checks(c, params):
    def fn(focus, env):
        if len(focus) != 1 or not isinstance(focus[0], str):
            return [False] if focus else []
        return [html_checks(focus[0])]
    return fn


def _substring(s, start, length=None):
    if not isinstance(start, int) or start < 0 or start >= len(s):
        return []
    return [s[start:] if length is None else s[start:start + int(length)]]


FUNCTIONS: dict[str, Callable[[Compiler, list], Fn]] = {
    "exists": _fn_exists,
    "where": _fn_where,
    "all": _fn_all,
    "select": _fn_select,
    "not": _fn_not,
    "empty": lambda c, p: lambda focus, env: [not focus],
    "count": lambda c, p: lambda focus, env: [len(focus)],
    "first": lambda c, p: lambda focus, env: focus[:1],
    "last": lambda c, p: lambda focus, env: focus[-1:],
    "tail": lambda c, p: lambda focus, env: focus[1:],
    "distinct": lambda c, p: lambda focus, env: _distinct(focus),
    "isDistinct": lambda c, p: lambda focus, env: [len(_distinct(focus)) == len(focus)],
    "hasValue": _fn_has_value,
    "trace": lambda c, p: lambda focus, env: focus,
    "children": lambda c, p: lambda focus, env: _children(focus),
    "descendants": lambda c, p: _descendants,
    "toInteger": lambda c, p: _to_integer,
    "toString": lambda c, p: _to_string,
    "iif": _fn_iif,
    "intersect": _fn_intersect,
    "combine": _fn_combine,
    "htmlChecks": _fn_html_checks,
    "startsWith": _string_fn(lambda s, p: [s.startswith(p)]),
    "endsWith": _string_fn(lambda s, p: [s.endswith(p)]),
    "contains": _string_fn(lambda s, p: [p in s]),
    "matches": _string_fn(lambda s, p: [_regex(p).search(s) is not None]),
    "replaceMatches": _string_fn(lambda s, p, r: [_regex(p).sub(r.replace("$", "\\"), s)]),
    "length": _string_fn(lambda s: [len(s)]),
    "substring": _string_fn(_substring),
    "upper": _string_fn(lambda s: [s.upper()]),
    "lower": _string_fn(lambda s: [s.lower()]),
}  # is(), as() and ofType() are Compiler.type_function


def _strings(value: Any, out: set) -> None:
    if isinstance(value, str):
        if value.startswith("#"):
            out.add(value)
    elif isinstance(value, dict):
        for v in value.values():
            _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)


def _dom_3(focus: list, env: Env) -> list:
    """dom-3: every contained resource is referenced from elsewhere in the resource, or refers to
    its container with `#`. Written by hand: the FHIRPath reads every descendant of the resource
    four times (about 1 ms in fhirpathpy for a resource with contained resources)."""
    contained = [c for item in focus if isinstance(item, dict)
                 for c in (item.get("contained") or []) if isinstance(c, dict)]
    if not contained:
        return [True]
    refs: set[str] = set()
    _strings(env.resource, refs)
    for c in contained:
        if "#" + str(c.get("id")) in refs:
            continue
        back: set[str] = set()
        _strings({k: v for k, v in c.items() if k != "id"}, back)
        if "#" not in back:
            return [False]
    return [True]


def _type_is_one_of(resource: Any, literals: list[list[str]]) -> bool | None:
    """`%resource.type = 'a' or %resource.type = 'b' or ...` in three-valued logic."""
    bundle_type: list = []
    _child(resource, "type", bundle_type)
    expected: bool | None = False
    for literal in literals:
        t = truth(_equality(bundle_type, literal, False))
        if t is True:
            return True
        if t is None:
            expected = None
    return expected


def _entries_match_type(member: str, types: tuple[str, ...]) -> Fn:
    """bdl-3 and bdl-4: `entry.all(<member>.exists() = (%resource.type = 'a' or ... = 'c'))`.
    Written by hand: the expression tests the Bundle's type again for every entry (half of the
    walk of an HL7 v2 message's Bundle); here it is tested once, with the same three-valued logic:
    an unknown type (none, or only an extension) makes `all` false as soon as there is an entry."""
    literals = [[t] for t in types]
    extension = "_" + member
    # a string equals a literal that does not start with a digit only as the same text (_equal)
    textual = not any(t[:1].isdigit() for t in types)

    def fn(focus: list, env: Env) -> list:
        entries: list = []
        for item in focus:
            _child(item, "entry", entries)
        if not entries:
            return [True]
        given = env.resource.get("type") if isinstance(env.resource, dict) else None
        if isinstance(given, str) and textual:  # (the usual case)
            expected: bool | None = given in types
        else:
            expected = _type_is_one_of(env.resource, literals)
        if expected is None:
            return [False]
        plain = member not in CHOICE_NAMES  # then an entry without member or _member has none
        for e in entries:
            if plain and isinstance(e, dict) and member not in e and extension not in e:
                has = False
            else:
                has = _has_child(e, member)
            if has is not expected:
                return [False]
        return [True]
    return fn


def sure_leaf(tree: dict, resource_types: frozenset[str]
              ) -> tuple[str, Callable | None, str, str | None] | None:
    """(name, test, arg, extension) when the expression is, or is an `or` chain led by,
    `name.exists()` (test None) or `name.startsWith(arg).not()` (endsWith, contains: test is that
    string test).

    The compiled test evaluates that leaf first and stops at true: the invariant holds when the
    item's `name` is a value that is not a list (for exists) or a string that fails the test (for
    the others), and Invariant.holds says so without the calls (bdl-5 and bdl-8 on every Bundle
    entry, ref-1...). `extension` is `_name` when the expression is also empty, so holds, on an
    item without `name` and `_name` (ref-1: `reference.startsWith('#').not() or
    (reference.substring(1) in ...)`), else None."""
    node = _unparenthesized(tree)
    first = node
    if node["type"] == "OrExpression" and _operator(node) == "or":
        first = _unparenthesized(_operands(node, "or")[0])
    name, test, arg = None, None, ""
    if _is_call(first, "exists", 0):
        name = Compiler(resource_types)._member_name(first["children"][0])
    elif _is_call(first, "not", 0):
        left = first["children"][0]
        for fname, string_test in _STRING_TESTS.items():
            if _is_call(left, fname, 1):
                literal = _string_literal(_params(left["children"][1]["children"][0])[0])
                if literal is not None:
                    name = Compiler(resource_types)._member_name(left["children"][0])
                    test, arg = string_test, literal
    if name is None:
        return None
    without = name not in CHOICE_NAMES and _empty_without(node, name, resource_types)
    return name, test, arg, "_" + name if without else None


def unless_prefixed(tree: dict, resource_types: frozenset[str]) -> tuple[str, str] | None:
    """(name, prefix) when the expression holds (is true or empty) whenever member `name` is a
    string that does not start with `prefix`, and whenever `name` and `_name` are both absent:
    ref-1 (see sure_leaf). The walk then knows the result without the call
    (walk.Plan.ref_prefix)."""
    leaf = sure_leaf(tree, resource_types)
    if leaf is None or leaf[1] is not str.startswith or leaf[3] is None:
        return None
    return leaf[0], leaf[2]


# Functions whose result is empty on an empty input (whatever their parameters)
_EMPTY_IN_EMPTY_OUT = frozenset({"not", "startsWith", "endsWith", "contains", "substring",
                                 "trace", "lower", "upper", "matches", "replace", "length"})


def _empty_without(node: dict, name: str, resource_types: frozenset[str]) -> bool:
    """The expression is empty on an item without member `name` (nor `_name`): it is `name`, a
    member or an empty-preserving function of such an expression, `x in y` of one, or an
    and/or chain of them."""
    node = _unparenthesized(node)
    kind = node["type"]
    if kind == "TermExpression":
        return Compiler(resource_types)._member_name(node) == name
    children = node.get("children", [])
    if kind == "InvocationExpression":
        step = children[1]
        if step["type"] == "FunctionInvocation" \
                and step["children"][0]["children"][0]["text"] not in _EMPTY_IN_EMPTY_OUT:
            return False
        return _empty_without(children[0], name, resource_types)
    if kind == "MembershipExpression":
        return _empty_without(children[0 if _operator(node) == "in" else 1], name,
                              resource_types)
    if kind in _JUNCTIONS and _operator(node) in ("or", "and"):
        return all(_empty_without(c, name, resource_types) for c in children)
    return False


def _is_call(node: dict, fname: str, arity: int) -> bool:
    """`node` is `<something>.fname(...)` with `arity` parameters."""
    if node["type"] != "InvocationExpression" \
            or node["children"][1]["type"] != "FunctionInvocation":
        return False
    functn = node["children"][1]["children"][0]
    return functn["children"][0]["text"] == fname and len(_params(functn)) == arity


# Invariants whose official expression is evaluated by a hand-written equivalent (tested against
# fhirpathpy in tests/test_validate_fhirpath.py).
HAND_WRITTEN: dict[str, Fn] = {
    "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants()"
    ".as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or "
    "descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#')"
    ".exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id)"
    ".empty()": _dom_3,
    "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or "
    "%resource.type = 'history'))": _entries_match_type("request", ("batch", "transaction",
                                                                    "history")),
    "entry.all(response.exists() = (%resource.type = 'batch-response' or %resource.type = "
    "'transaction-response' or %resource.type = 'history'))": _entries_match_type(
        "response", ("batch-response", "transaction-response", "history")),
}


def expand(tree: list) -> dict:
    """The parse tree stored compact in the artifact, back in fhirpathpy's dict form."""
    kind, text, op, children = tree
    return {"type": kind, "text": text, "terminalNodeText": [op] if op else [],
            "children": [expand(c) for c in children]}


def parse_tree(expression: str) -> dict:
    """fhirpathpy's parse tree of an expression (the ANTLR parser: about 2 ms)."""
    from fhirpathpy.parser import parse

    return parse(expression)["children"][0]


def compile_closure(expression: str, tree: dict, resource_types: frozenset[str]) -> Fn:
    """The closure for an expression; raises Unsupported when fhirpathpy must evaluate it."""
    if expression in HAND_WRITTEN:
        return HAND_WRITTEN[expression]
    return Compiler(resource_types).expr(tree)


def compile_test(expression: str, tree: dict, resource_types: frozenset[str]) -> Callable[[Any, Env], bool]:
    """`test(item, env)`: the invariant holds on `item` (does not evaluate to false); raises
    Unsupported when fhirpathpy must evaluate it, EvalError (and the like) where the closure would."""
    if expression in HAND_WRITTEN:
        closure = HAND_WRITTEN[expression]
        return lambda item, env: closure([item], env) != [False]
    return Compiler(resource_types).test(tree)


def context_heads(tree: dict) -> frozenset[str] | None:
    """The element names an expression reads from its context, or None when it reads more.

    When none of them is present in a context element, the expression evaluates as on an empty
    element, so its result there can be computed once. None means the result may depend on
    something else ($this, %resource at the top level, children()...).
    """
    heads: set[str] = set()

    def chain_start(node: dict) -> dict:
        while node["type"] in ("InvocationExpression", "IndexerExpression"):
            node = node["children"][0]
        return node

    def visit(node: dict) -> bool:
        kind = node.get("type")
        if kind in ("InvocationExpression", "IndexerExpression", "TermExpression"):
            start = chain_start(node)
            if start["type"] == "TermExpression":
                term = start["children"][0]
                if term["type"] == "InvocationTerm":
                    inv = term["children"][0]
                    if inv["type"] == "MemberInvocation":
                        heads.add(inv["children"][0]["text"].strip("`"))
                        return True  # what follows only runs on the items of this head
                    return False  # $this, or a function of the context
                if term["type"] == "ExternalConstantTerm":
                    return False
                if term["type"] == "ParenthesizedTerm":
                    return visit(term["children"][0])
                return True  # literal
            return all(visit(c) for c in node.get("children", []))
        return all(visit(c) for c in node.get("children", []))

    return frozenset(heads) if visit(tree) else None

"""The fhir.resources R4B models, compiled: one pydantic-core validator per resource type.

Why: fhir_core re-enters Python at every complex element (a wrap validator that calls
`model_validate` on the child, a custom `__init__`, a before- and an after-hook), about 6 us per
element: 1.7 of the 4.7 ms an HL7 v2 message took (bench/bench_hl7v2.py). The models' own core
schemas already hold everything they check (element names and aliases, datatypes, patterns,
required elements, unknown elements), so the same schemas are reused with only those hooks changed:

- a complex child's wrap validator becomes a reference to the child model's compiled schema, so
  pydantic-core validates the whole tree without leaving Rust;
- the custom `__init__` is off: all it does is pop `resourceType`, which `validate()` does;
- the before-hook that refuses a null inside a list of complex elements is dropped: the child's
  schema refuses the null itself;
- the after-hook (a required primitive present as value or `_x` extension; at most one type of a
  choice) is kept, only on the classes that have such elements.

Elements typed Resource (`contained`, `Bundle.entry.resource`) keep the original validator, which
picks the class by resourceType. Primitive validators written in Python (dateTime, decimal...) are
kept as they are. tests/test_validate_models.py checks that the compiled and the original models
give the same verdict on the corpus output, the official examples and damaged copies of them.

A second, stricter form (`clean()`) answers the common question "is this resource fine?" almost
without re-entering Python (the choice rule stays a small hook): the primitive validators written
in Python become native schemas, required primitives plain required fields, fhir_comments and
(unless asked for) the `_x` elements are unknown, and it also refuses the empty strings and arrays
FHIR forbids. Stricter only: whatever it accepts, the exact form accepts and holds no such empty
value (each rewrite below says why), for values as JSON gives them (a subclass of str or of a
number type that redefines str() or isspace() is no JSON). A refusal decides nothing: the caller
then runs the exact form, for the verdict and the messages (tests/test_validate_models.py checks
the rule on odd values and damaged resources).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

from fhir_core import types as fhir_types
from pydantic_core import PydanticCustomError, SchemaValidator, ValidationError

from ..collector import loads_static_data

# fhir_core's hooks, by qualified name (the functions are closures or bound methods).
_CHILD_VALIDATOR = "FhirBase.__get_pydantic_core_schema__.<locals>._validate"
_NULL_IN_LIST_HOOK = "FHIRAbstractModel.reject_null_complex_elements"
_POLYMORPHIC = ("Resource", "DomainResource")


def _qualname(schema: dict) -> str:
    fn = schema.get("function")
    fn = fn.get("function") if isinstance(fn, dict) else fn
    return getattr(fn, "__qualname__", "")


def _child_class(wrap: dict) -> type:
    """The model class a fhir_core child validator stands for (held in its closure)."""
    fn = wrap["function"]["function"]
    cells = dict(zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__)))
    return cells["source_type"].get_model_klass()


def _required(klass: type) -> list[tuple[str, str, str | None]]:
    """(field, element name, field of its `_x` sibling) of each required primitive element
    (fhir_core's generated get_*_fields methods ignore `self`)."""
    aliases = klass.get_alias_mapping()
    fields = klass.model_fields
    return [(aliases[name], fields[aliases[name]].alias or name, ext)
            for name, ext in klass.get_required_fields(None)]


def _choices(klass: type) -> list[tuple[list[str], bool]]:
    """(fields, required) of each choice element (value[x])."""
    fields = klass.model_fields
    return [(names, fields[names[0]].json_schema_extra["one_of_many_required"] is True)
            for names in klass.get_one_of_many_fields(None).values()]


def _after_checks(klass: type) -> Callable[[dict], dict] | None:
    """fhir_core's after-hook, on the plain dict: required primitives and choice elements.

    A required primitive may be absent when its `_x` sibling carries an extension; a choice
    element (value[x]) takes at most one type, and exactly one where it is required. Same rules
    and messages as FHIRAbstractModel._validate_required_primitive_elements/_validate_one_of_many."""
    required, choices = _required(klass), _choices(klass)
    if not required and not choices:
        return None

    def check(value: dict) -> dict:
        errors: list = []
        for key, element, ext in required:
            if value.get(key) is not None:
                continue
            ext_value = value.get(ext) if ext else None
            if not (isinstance(ext_value, dict) and ext_value.get("extension")):
                errors.append({"type": PydanticCustomError(
                    "model_field_validation.missing",
                    "Value for the field '{field_name}' is required.", {"field_name": element}),
                    "loc": (element,), "input": None})
        if errors:
            raise ValidationError.from_exception_data(klass.__name__, errors)
        for names, needed in choices:
            present = [n for n in names if value.get(n) is not None]
            if len(present) > 1:
                raise ValueError(f"Any of one field value is expected from this list {names}, "
                                 "but got multiple!")
            if needed and not present:
                raise ValueError(f"Expect any of field value from this list {names}.")
        return value

    return check


def _before(hook: Callable[[Any], Any], schema: dict) -> dict:
    """Run `hook` on objects only: the schema after it refuses anything else with a clear error
    (fhir_core's own hooks assume an object and would raise AttributeError)."""
    return {"type": "function-before", "schema": schema, "function": {
        "type": "no-info", "function": lambda v: hook(v) if isinstance(v, dict) else v}}


def _not_null(value: Any) -> Any:
    """A contained resource may not be null (fhir_core's null-in-list hook, for the one element
    type whose original validator stays)."""
    if value is None:
        raise PydanticCustomError("list_type", "None is not allowed as a resource")
    return value


class _Compiler:
    """Collects the compiled schema of every model class reachable from one resource type."""

    def __init__(self) -> None:
        self.definitions: dict[str, dict] = {}

    def reference(self, klass: type) -> dict:
        ref = f"{klass.__module__}.{klass.__qualname__}"
        if ref not in self.definitions:
            self.definitions[ref] = {}  # placeholder: models refer to themselves (Extension)
            self.definitions[ref] = {**self._model(klass), "ref": ref}
        return {"type": "definition-ref", "schema_ref": ref}

    def _model(self, klass: type) -> dict:
        """The class's fields as a typed dict: absent elements stay absent (no defaults built)."""
        node = klass.__pydantic_core_schema__
        before, config = [], {}
        while node["type"] in ("function-after", "function-before", "model"):
            if node["type"] == "function-before" and _qualname(node) != _NULL_IN_LIST_HOOK:
                before.append(node["function"])  # e.g. a `_x` element needs an extension
            if node["type"] == "model":
                config = node.get("config", {})
            node = node["schema"]
        fields = {}
        for name, field in node["fields"].items():
            schema = field["schema"]
            optional = schema["type"] == "default"
            fields[name] = {"type": "typed-dict-field", "required": not optional,
                            "schema": self.rewrite(schema["schema"] if optional else schema),
                            **{k: field[k] for k in ("validation_alias", "serialization_alias")
                               if k in field}}
        # JSON names only: fhir_core also takes its Python field names (`class_fhir` for
        # `class`), which are no FHIR; refusing them also saves a second look-up per field
        config = {**config, "validate_by_name": False}
        compiled: dict = {"type": "typed-dict", "fields": fields, "config": config,
                          "extra_behavior": config.get("extra_fields_behavior", "forbid")}
        for function in before:
            compiled = _before(function["function"], compiled)
        check = self._adapt(klass, fields)
        if check is not None:
            compiled = {"type": "function-after", "schema": compiled,
                        "function": {"type": "no-info", "function": check}}
        return compiled

    def _adapt(self, klass: type, fields: dict) -> Callable[[dict], dict] | None:
        """The class's after-hook; the stricter form also changes some `fields` here."""
        return _after_checks(klass)

    def rewrite(self, node: Any) -> Any:
        """A copy of a core schema with each child validator replaced by a reference."""
        if isinstance(node, list):
            return [self.rewrite(v) for v in node]
        if not isinstance(node, dict):
            return node
        if node.get("type") == "function-wrap" and _qualname(node) == _CHILD_VALIDATOR:
            klass = _child_class(node)
            if klass.__name__ in _POLYMORPHIC:
                return {"type": "function-before", "schema": node,
                        "function": {"type": "no-info", "function": _not_null}}
            return self.reference(klass)
        return {k: (v if k in ("serialization", "metadata") else self.rewrite(v))
                for k, v in node.items() if k != "ref"}


# --- the stricter form (clean) ---------------------------------------------------------------

# Every character str.isspace() accepts (a test checks the list against Python's): the structural
# check calls a string of these alone empty. Rust's \s lacks the four separators \x1c-\x1f.
_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
               "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
# A character that is neither whitespace for Python nor \s for the Rust regex engine; it is thus
# in every \S of fhir_core's patterns.
_SOLID = "[^\\s" + "".join(f"\\x{{{ord(c):x}}}" for c in _WHITESPACE) + "]"
# A string holding at least one such character (pydantic-core searches, it does not fullmatch).
_NOT_BLANK = {"type": "str", "strict": True, "pattern": _SOLID}
# fhir_core's string patterns that a string with a solid character always matches (searched, as
# pydantic-core does): string `[ \r\n\t\S]+`, uri and canonical `\S*`, markdown `\s*(\S|\s)*`.
_ANY_TEXT = {None, "[ \r\n\t\\S]+", "\\S*", "\\s*(\\S|\\s)*"}
# Patterns that no empty or whitespace string matches: id and oid.
_SOLID_ONLY = {"^[A-Za-z0-9\\-.]+$", "^urn:oid:[0-2](\\.(0|[1-9][0-9]*))+$"}
# code `^[^\s]+(\s[^\s]+)*$` with solid characters only: a sub-language of the original.
_CODE = "^[^\\s]+(\\s[^\\s]+)*$"
_SOLID_CODE = f"^{_SOLID}+(\\s{_SOLID}+)*$"

# fhir_core's date and time patterns (fhir_core/types.py), split so that each native form below
# accepts a sub-language of the original; leap seconds (:60) are left to the exact form.
_YEAR = "([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_MONTH = "(0[1-9]|1[0-2])"
_DAY = "(0[1-9]|[1-2][0-9]|3[0-1])"
_CLOCK = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?"
_ZONE = "(Z|([+\\-])((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_PARTIAL_DATE = f"^{_YEAR}(-{_MONTH})?$"


def _text(pattern: str) -> dict:
    return {"type": "str", "strict": True, "pattern": pattern}


def _then(pattern: str, inner: dict) -> dict:
    """A string matching `pattern`, then the original inner validator on that same string."""
    return {"type": "chain", "steps": [_text(pattern), inner]}


def _closure_class(fn: Any) -> Any:
    """The `cls` a fhir_core validator defined inside a classmethod closes over, if any."""
    code, closure = getattr(fn, "__code__", None), getattr(fn, "__closure__", None)
    if code is None or not closure:
        return None
    return dict(zip(code.co_freevars, (c.cell_contents for c in closure))).get("cls")


def _native_primitive(node: dict) -> dict | None:
    """The native stand-in for one of fhir_core's Python primitive validators (a function-wrap
    around a core schema), or None when it is not one of those below.

    For a string, each original first fullmatches its fhir_core pattern; a partial date (YYYY,
    YYYY-MM) is then kept as it is, a leap second checked apart, and anything else handed to the
    inner core schema (`validator(input_value)`). The forms below take only strings matching a
    sub-language of that pattern without leap seconds, and hand full dates and times to the same
    inner schema: whatever they accept, the original accepts. None of these patterns matches an
    empty or blank string."""
    fn = node["function"]["function"]
    inner = node["schema"]
    if fn == fhir_types.DateTime._validate:
        # a time always carries a zone in the pattern, so the original's zone check holds
        return {"type": "union", "choices": [
            _text(_PARTIAL_DATE),
            _then(f"^{_YEAR}-{_MONTH}-{_DAY}(T{_CLOCK}{_ZONE})?$", inner)]}
    if fn == fhir_types.Date._validate:
        return {"type": "union", "choices": [
            _text(_PARTIAL_DATE), _then(f"^{_YEAR}-{_MONTH}-{_DAY}$", inner)]}
    if fn == fhir_types.Instant._validate:
        return _then(f"^{_YEAR}-{_MONTH}-{_DAY}T{_CLOCK}{_ZONE}$", inner)
    owner = _closure_class(fn)
    if owner is fhir_types.Time and inner.get("type") == "time":
        return _then(f"^{_CLOCK}$", inner)
    if owner is fhir_types.Url and inner == {"type": "str"}:
        # the original passes any string (a primitive type's name, else the plain str schema)
        return _NOT_BLANK
    if owner is fhir_types.Decimal:
        # the original fullmatches str(value) against the decimal pattern, then makes a Decimal
        # of it: str() of any finite Decimal, int (bool is no int in strict mode) or float is a
        # plain or exponent number without leading zeros, which it matches
        return {"type": "union", "choices": [
            {"type": "decimal", "strict": True, "allow_inf_nan": False},
            {"type": "int", "strict": True},
            {"type": "float", "strict": True, "allow_inf_nan": False}]}
    return None


def _not_null_nor_empty(value: Any) -> Any:
    """A resource held in an element typed Resource keeps fhir_core's validator, which does not
    look for empty values: look here (rare: contained resources)."""
    from .structure import _has_empty  # structure imports this module

    if _has_empty(_not_null(value)):
        raise PydanticCustomError("empty_value", "empty value")
    return value


def _choice_checks(klass: type) -> Callable[[dict], dict] | None:
    """The after-hook's choice rule: at most one key of a choice element (exactly one where
    required); the fields of a choice take no null in this form (_FastCompiler._after_hook), so
    the keys present are the values present. The required primitives are required fields here."""
    groups = [(frozenset(names), needed) for names, needed in _choices(klass)]
    if not groups:
        return None

    def one_of_many(value: dict) -> dict:
        for names, needed in groups:
            count = len(names.intersection(value))  # iterates the few keys present
            if count > 1 or (needed and not count):
                raise ValueError("choice element")
        return value

    return one_of_many


def _not_null_schema(field: dict) -> dict:
    """A typed-dict field's schema without its null."""
    schema = field["schema"]
    return schema["schema"] if schema["type"] == "nullable" else schema


def _kept(node: dict) -> dict:
    """An original leaf validator as it is (no `ref`: definitions are the compiler's own)."""
    return {k: v for k, v in node.items() if k != "ref"}


class _Unknown(Exception):
    """A schema node _FastCompiler has no proven stricter rewrite for."""


class _FastCompiler(_Compiler):
    """The stricter form: see the module docstring. Raises _Unknown on a schema node it has no
    proven rewrite for (then the model has no stricter form and every resource takes the exact
    one)."""

    def __init__(self, extensions: bool) -> None:
        super().__init__()
        self.extensions = extensions

    def _adapt(self, klass: type, fields: dict) -> Callable[[dict], dict] | None:
        # fhir_comments (no FHIR JSON) and, unless asked for, the `_x` elements of primitives
        # (rare): refused as unknown elements. Why: each field is one look-up per object, present
        # or not, and these are half the fields of most classes.
        for key, field in list(fields.items()):
            alias = field.get("validation_alias", key)
            if alias == "fhir_comments" or (not self.extensions and str(alias).startswith("_")):
                del fields[key]
        # required primitives: present and not null, where the exact form also takes an absent
        # value whose `_x` sibling carries an extension
        for key, _, _ in _required(klass):
            fields[key] = {**fields[key], "required": True, "schema": _not_null_schema(fields[key])}
        # choice elements: not null either, so that a key present is a value present
        for names, _ in _choices(klass):
            for key in names:
                fields[key] = {**fields[key], "schema": _not_null_schema(fields[key])}
        return _choice_checks(klass)

    def rewrite(self, node: Any) -> Any:
        """The stricter stand-in for one node of a core schema (why, per kind of node)."""
        if not isinstance(node, dict) or "type" not in node:
            return super().rewrite(node)
        kind = node["type"]
        if kind == "str":
            return self._string(node)
        if kind in ("int", "bool"):  # no string is an int or a bool in strict mode
            return {**_kept(node), "strict": True}
        if kind == "list":  # an empty array is an empty value
            return {**super().rewrite(node), "min_length": max(1, node.get("min_length", 0))}
        if kind == "function-wrap":
            if _qualname(node) == _CHILD_VALIDATOR:
                out = super().rewrite(node)
                if out.get("type") == "function-before":  # a Resource: fhir_core's validator
                    out = {**out, "function": {"type": "no-info", "function": _not_null_nor_empty}}
                return out
            native = _native_primitive(node)
            if native is None:
                raise _Unknown(node)
            return native
        if kind == "function-after" and node["schema"].get("type") == "bytes":
            # base64Binary: decoded in Python as before, but from a string with content only
            return {"type": "chain", "steps": [_NOT_BLANK, _kept(node)]}
        if kind in ("nullable", "union", "definition-ref", "uuid"):  # uuid refuses a blank string
            return super().rewrite(node)
        raise _Unknown(node)

    @staticmethod
    def _string(node: dict) -> dict:
        """Only strings with a solid character, matching a sub-language of the original pattern."""
        pattern = node.get("pattern")
        rest = {k: v for k, v in node.items() if k not in ("pattern", "type", "ref")}
        if pattern in _ANY_TEXT:
            return {**_NOT_BLANK, **rest}
        if pattern == _CODE:
            return {**_text(_SOLID_CODE), **rest}
        if pattern in _SOLID_ONLY:
            return {**_kept(node), "strict": True}
        # any other pattern: checked as before, on a string with content only
        return {"type": "chain", "steps": [_NOT_BLANK, _kept(node)]}


@lru_cache(maxsize=None)
@loads_static_data
def compiled(model: type) -> SchemaValidator:
    """The compiled validator of one fhir.resources model class (built once, about 30 ms)."""
    compiler = _Compiler()
    root = compiler.reference(model)
    return SchemaValidator({"type": "definitions", "schema": root,
                            "definitions": list(compiler.definitions.values())})


def validate(model: type, resource: dict) -> None:
    """Validate a resource dict against its model class; raises pydantic_core.ValidationError."""
    data = {k: v for k, v in resource.items() if k != "resourceType"}
    compiled(model).validate_python(data)


@lru_cache(maxsize=None)
@loads_static_data
def _strict(model: type, extensions: bool) -> SchemaValidator | None:
    """The stricter form of one model class, with or without the `_x` elements (None where it
    holds a node without a proven rewrite). Its root also takes `resourceType`, which validate()
    removes from a copy."""
    compiler = _FastCompiler(extensions)
    try:
        compiler.reference(model)
    except _Unknown:
        return None
    definition = compiler.definitions[f"{model.__module__}.{model.__qualname__}"]
    root = node = {k: v for k, v in definition.items() if k != "ref"}
    while node["type"] != "typed-dict":  # copies down to the fields: the definition stays as is
        node["schema"] = {**node["schema"]}
        node = node["schema"]
    node["fields"] = {**node["fields"], "resourceType": {
        "type": "typed-dict-field", "required": False, "schema": {"type": "any"}}}
    return SchemaValidator({"type": "definitions", "schema": root,
                            "definitions": list(compiler.definitions.values())})


def clean(model: type, resource: dict, extensions: bool = True) -> bool:
    """True when validate() accepts the resource and it holds no empty or blank string and no
    empty array (empty objects are not looked for). False decides nothing: ask validate().

    `extensions=False` is faster and refuses every `_x` element of a primitive (for a resource
    known to hold no key starting with `_`)."""
    strict = _strict(model, extensions)
    if strict is None:
        return False
    try:
        strict.validate_python(resource)
    except Exception:  # noqa: BLE001 - a ValidationError, or whatever fhir_core's validator of a
        # contained resource raises on an odd shape: validate() reports it
        return False
    return True


__all__ = ["clean", "compiled", "validate", "ValidationError"]

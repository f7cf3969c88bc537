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
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

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


def _after_checks(klass: type) -> Callable[[dict], dict] | None:
    """fhir_core's after-hook, on the plain dict: required primitives and choice elements.

    A required primitive may be absent when its `_x` sibling carries an extension; a choice
    element (value[x]) takes at most one type, and exactly one where it is required. Same rules
    and messages as FHIRAbstractModel._validate_required_primitive_elements/_validate_one_of_many
    (whose generated get_*_fields methods ignore `self`)."""
    aliases = klass.get_alias_mapping()
    fields = klass.model_fields
    required = [(aliases[name], fields[aliases[name]].alias or name, ext)
                for name, ext in klass.get_required_fields(None)]
    choices = [(names, fields[names[0]].json_schema_extra["one_of_many_required"] is True)
               for names in klass.get_one_of_many_fields(None).values()]
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
        check = _after_checks(klass)
        if check is not None:
            compiled = {"type": "function-after", "schema": compiled,
                        "function": {"type": "no-info", "function": check}}
        return compiled

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


__all__ = ["compiled", "validate", "ValidationError"]

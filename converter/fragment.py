"""Fragment: what one message, document or study produced, the unit that readers hand to assembly."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .issues import Issue


@dataclass(slots=True)
class Fragment:
    """The resources one input unit produced, its issues, and where it came from.

    `resources` are plain FHIR dicts with deterministic ids; references between them use
    `urn:uuid:<id>`. `kind` is the detected message or document type (e.g. "ORU^R01").
    """

    source: str
    format: str
    kind: str = ""
    index: int | None = None  # message index within a file, study index within a folder
    resources: list[dict[str, Any]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    unusable: bool = False  # True when the unit could not be read at all

    def add(self, resource: dict[str, Any]) -> dict[str, Any]:
        """Append a resource (returned for chaining) and return it."""
        self.resources.append(resource)
        return resource

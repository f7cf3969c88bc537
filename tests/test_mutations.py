"""Hostile and damaged input, made by mutating real corpus files (fixed seed, so the cases are the
same every run): conversion never raises, and output that carries FHIR errors always comes with a
reader issue saying what in the input caused them."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from converter import convert

from conftest import CORPUS

STRUCTURAL = {"structure", "empty-value", "unresolved-reference", "duplicate-fullurl"}


def _sources() -> list[Path]:
    hl7 = sorted((CORPUS / "hl7v2").rglob("*.hl7"))
    cda = sorted((CORPUS / "ccda-samples" / "ms-fhir-converter").iterdir())
    return hl7[::3] + cda[::3]


def _mutants(n: int, seed: int) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    sources = _sources()
    out = []
    for k in range(n):
        path = rng.choice(sources)
        data = bytearray(path.read_bytes())
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(len(data))
            kind = rng.random()
            if kind < 0.4:
                data[i] = rng.choice(b"|^~\\&\r\n<>\"'0123456789Z\x00\xff")
            elif kind < 0.8:
                del data[i:i + rng.randint(1, 30)]
            else:
                data = data[:i]
        out.append((f"{path.name}#{k}", bytes(data)))
    return out


@pytest.mark.parametrize("name,data", _mutants(120, 20261128), ids=lambda v: v
                         if isinstance(v, str) else "")
def test_mutated_input_never_raises_and_errors_are_explained(name, data):
    result = convert(data)
    assert result.exit_code in (0, 1, 2)
    structural = [i for i in result.issues if i.code in STRUCTURAL]
    if structural:
        # the damage is reported at its source, not only as invalid output
        assert any(i.is_error and not i.location.expression for i in result.issues), structural

"""The HL7 v2 maps build resources clean, so that Context.add checks only a resource's own elements
(`compact`) instead of pruning it all: what every map hands to `add` prunes to exactly what compact
gives, and no dict or list sits in two places (the code repairs change elements in place).

Run over the corpus, damaged copies of it, and copies with white space around delimiters and
emptied components, the inputs where an empty or padded value would slip through."""
from __future__ import annotations

import random

import pytest

from converter import convert
from converter.fhir.datatypes import prune
from converter.readers.hl7v2 import context as context_module
from converter.readers.hl7v2 import mapper
from converter.readers.hl7v2.datatypes import clone, compact

from conftest import HL7_CORPUS


def _inputs() -> list[bytes]:
    corpus = [p.read_bytes() for p in sorted(HL7_CORPUS.rglob("*")) if p.is_file()]
    rng = random.Random(20260101)
    out = list(corpus)
    for _ in range(400):
        data = bytearray(rng.choice(corpus))
        for _ in range(rng.randint(1, 8)):
            if not data:
                break
            i = rng.randrange(len(data))
            kind = rng.random()
            if kind < 0.3:
                data[i] = rng.choice(b"|^~\\&\r\n \t0123456789Z\"")
            elif kind < 0.5:
                data[i:i] = rng.choice([b" ", b"|", b"^", b"~", b"&", b'""', b"^^", b"| |"])
            elif kind < 0.8:
                del data[i:i + rng.randint(1, 30)]
            else:
                data = data[:i]
        out.append(bytes(data))
    for data in corpus:
        padded, emptied = [], []
        for line in data.split(b"\r"):
            if line[:3] == b"MSH":
                padded.append(line)
                emptied.append(line)
                continue
            padded.append(line.replace(b"|", b" | ").replace(b"^", b" ^ ").replace(b"~", b" ~ ")
                          .replace(b"&", b" & "))
            emptied.append(b"|".join(
                b"^".join(b"" if rng.random() < 0.5 else c for c in f.split(b"^"))
                for f in line.split(b"|")))
        out += [b"\r".join(padded), b"\r".join(emptied)]
    return out


@pytest.mark.skipif(not context_module.__file__.endswith(".py"),
                    reason="Context is compiled (mypyc): its methods cannot be replaced; the "
                           "pure-Python run of the tests checks this")
def test_maps_hand_add_clean_unshared_resources(monkeypatch):
    dirty: list[tuple[str, list[str]]] = []
    shared: list[tuple[str, str]] = []
    add = context_module.Context.add

    def checking_add(self, resource, seg=None):
        pruned, compacted = prune(resource), compact(resource)
        if pruned != compacted:
            dirty.append((resource["resourceType"],
                          [k for k in resource if pruned.get(k) != compacted.get(k)]))
        return add(self, resource, seg)

    map_message = mapper.map_message
    kept = []  # every fragment stays alive, so that object ids stay unique across messages
    places: dict[int, str] = {}

    def walk(value, path: str) -> None:
        if type(value) is dict or type(value) is list:
            if id(value) in places:
                shared.append((path, places[id(value)]))
                return
            places[id(value)] = path
            for k, v in (value.items() if type(value) is dict else enumerate(value)):
                walk(v, f"{path}.{k}")

    def checking_map(msg, source):
        frag = map_message(msg, source)
        kept.append(frag)
        for r in frag.resources:
            walk(r, r["resourceType"])
        return frag

    monkeypatch.setattr(context_module.Context, "add", checking_add)
    monkeypatch.setattr("converter.readers.hl7v2.map_message", checking_map)
    for data in _inputs():
        convert(data, validate=False)
    assert kept
    assert not dirty, dirty[:10]
    assert not shared, shared[:10]


@pytest.mark.skipif(not context_module.__file__.endswith(".py"),
                    reason="Context is compiled (mypyc): its methods cannot be replaced; the "
                           "pure-Python run of the tests checks this")
def test_shared_resources_are_handed_in_clean(monkeypatch):
    """Context.add_shared takes the people, organisations and places as their builders made them,
    without compacting them: each must already be what prune() would make of it."""
    dirty: list[tuple[str, dict]] = []
    add_shared = context_module.Context.add_shared

    def checking_add_shared(self, resource):
        if prune(resource) != resource:
            dirty.append((resource["resourceType"], resource))
        return add_shared(self, resource)

    monkeypatch.setattr(context_module.Context, "add_shared", checking_add_shared)
    for data in _inputs():
        convert(data, validate=False)
    assert not dirty, dirty[:10]


@pytest.mark.parametrize("value", [
    {"a": None, "b": "", "c": "x", "d": [], "e": {}, "f": 0, "g": False, "h": [{"x": "y"}]},
    {}, {"only": ""}])
def test_compact_is_prune_for_one_level_of_clean_values(value):
    assert compact(value) == prune(value)


def test_clone_copies_every_container():
    value = {"a": [{"b": {"c": ["d"]}}], "e": 1}
    copy = clone(value)
    assert copy == value
    assert copy["a"] is not value["a"] and copy["a"][0]["b"] is not value["a"][0]["b"]
    assert copy["a"][0]["b"]["c"] is not value["a"][0]["b"]["c"]

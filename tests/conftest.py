"""Shared test helpers: where the shared corpus is, and small lookups over Bundles."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("MEDBUNDLE_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus"
HL7_CORPUS = CORPUS / "hl7v2"


def resources(bundle: dict, rtype: str | None = None) -> list[dict]:
    """The resources of a Bundle, optionally of one type."""
    return [e["resource"] for e in bundle.get("entry", [])
            if rtype is None or e["resource"]["resourceType"] == rtype]


def one(bundle: dict, rtype: str) -> dict:
    found = resources(bundle, rtype)
    assert len(found) == 1, f"expected one {rtype}, found {len(found)}"
    return found[0]


def by_ref(bundle: dict, reference: dict) -> dict:
    url = reference["reference"]
    return next(e["resource"] for e in bundle["entry"] if e["fullUrl"] == url)


@pytest.fixture(autouse=True)
def _pinned_time(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)

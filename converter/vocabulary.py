"""Loads the vocabulary tables of mappings/ (CSV), with user overrides, once per process.

A table is a CSV whose first column is the source code. Files in `overrides/` next to a table folder
replace rows by code, and a directory named by MEDBUNDLE_MAPPINGS may hold files with the same
relative path to override any table without touching the code.
"""
from __future__ import annotations

import csv
import io
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .collector import loads_static_data


def _read_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@lru_cache(maxsize=1)
def _root():
    """`mappings/` beside the package when it is imported from a source checkout, else the
    installed `converter.mappings` (where the wheel puts the same files)."""
    checkout = Path(__file__).resolve().parent.parent / "mappings"
    if (checkout / "__init__.py").is_file():
        return checkout
    return resources.files("converter.mappings")


def _package_text(relpath: str) -> str | None:
    node = _root()
    for part in relpath.split("/"):
        node = node / part
    try:
        return node.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _user_text(relpath: str) -> str | None:
    root = os.environ.get("MEDBUNDLE_MAPPINGS")
    if not root:
        return None
    p = Path(root) / relpath
    return p.read_text(encoding="utf-8") if p.is_file() else None


@lru_cache(maxsize=None)
def text(relpath: str) -> str:
    """The raw text of a mappings/ file (JSON string tables, say), user override first."""
    found = _user_text(relpath) or _package_text(relpath)
    if found is None:
        raise FileNotFoundError(f"mapping file not found: {relpath}")
    return found


@lru_cache(maxsize=None)
@loads_static_data
def rows(relpath: str) -> tuple[dict[str, str], ...]:
    """All rows of the table at `relpath` (e.g. "hl7v2/coding-systems.csv")."""
    text = _user_text(relpath) or _package_text(relpath)
    if text is None:
        raise FileNotFoundError(f"mapping table not found: {relpath}")
    return tuple(_read_rows(text))


@lru_cache(maxsize=None)
@loads_static_data
def table(relpath: str, key: str = "code") -> dict[str, dict[str, str]]:
    """The table at `relpath` keyed by column `key`, with overrides applied.

    For "hl7v2/tables/X.csv" the rows of "hl7v2/overrides/X.csv" replace those with the same key.
    """
    out = {r[key]: r for r in rows(relpath)}
    head, _, name = relpath.rpartition("/tables/")
    if name:
        override = f"{head}/overrides/{name}"
        text = _user_text(override) or _package_text(override)
        if text:
            out.update({r[key]: r for r in _read_rows(text)})
    return out


def lookup(relpath: str, code: str | None, column: str = "target") -> str | None:
    """The `column` value for `code` in a table, or None when the code is absent or unmapped."""
    if not code:
        return None
    row = table(relpath).get(code)
    if row is None:
        return None
    return row.get(column) or None

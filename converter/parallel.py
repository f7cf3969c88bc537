"""Reading and validation spread over worker processes (`convert(..., workers=N)`, `--jobs N`).

Converting one message or document is a pure function of its bytes (DESIGN.md, principle 7), so
sources are read in chunks by a process pool and the fragments come back in input order: the output
is the same bytes as a serial run. DICOM is read serially, since a study is grouped across files.
Each finished Bundle is then validated in the pool. Processes are forked where the platform allows
it (the loaded definitions and models are then shared, not rebuilt in every worker).
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Iterator

from .fragment import Fragment
from .issues import Issue
from .readers import reader_for
from .sources import Source
from .validate import validate_bundle

PARALLEL_FORMATS = frozenset({"hl7v2", "cda"})


def pool(workers: int) -> ProcessPoolExecutor:
    """A process pool of `workers`, forked where possible."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def _read_chunk(args: tuple[str, list[Source], bool]) -> list[Fragment]:
    fmt, chunk, keep_source = args
    read = reader_for(fmt)
    assert read is not None
    if keep_source and fmt == "cda":
        return list(read(chunk, keep_source=True))
    return list(read(chunk))


def read_sources(executor: ProcessPoolExecutor, fmt: str, group: list[Source],
                 keep_source: bool, workers: int) -> Iterator[Fragment]:
    """The fragments of `group`, read in chunks by the pool, in input order."""
    size = max(1, len(group) // (workers * 4))
    chunks = [group[i:i + size] for i in range(0, len(group), size)]
    for frags in executor.map(_read_chunk, [(fmt, c, keep_source) for c in chunks]):
        yield from frags


def _validate(args: tuple[dict, str]) -> list[Issue]:
    bundle, source = args
    return validate_bundle(bundle, source=source)


def validate_all(executor: ProcessPoolExecutor, bundles: list[dict]) -> list[list[Issue]]:
    """The validation issues of each Bundle, computed in the pool, in order."""
    return list(executor.map(_validate, [(b, f"Bundle/{b['id']}") for b in bundles]))

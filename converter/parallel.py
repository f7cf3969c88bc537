"""Reading and validation spread over worker processes (`convert(..., workers=N)`, `--jobs N`).

Converting one message or document is a pure function of its bytes (DESIGN.md, principle 7), so the
work is cut into chunks for a process pool and the results come back in input order: the output is
the same bytes as a serial run. A reader that frames its input itself (HL7 v2: a stream holds many
messages) exposes `units(sources)` and `read_unit(unit)`: framing stays here, mapping goes to the
pool; other readers get whole sources. DICOM is read serially, since a study is grouped across
files. Validation sends the entries' resources (the costly per-resource checks) to the pool and
keeps the Bundle-level checks (references, fullUrls, profiles) here. Processes are forked where the
platform allows it (the loaded definitions and models are then shared, not rebuilt per worker).
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from itertools import chain
from typing import Any, Iterator, Sequence

from .fragment import Fragment
from .issues import Issue
from .readers import reader_module
from .sources import Source
from .validate import validate_bundle
from .validate.validator import bundle_entries, resource_findings

PARALLEL_FORMATS = frozenset({"hl7v2", "cda"})
CHUNKS_PER_WORKER = 4  # small enough chunks to even out uneven messages, few enough to batch IPC
# Below these sizes the work stays in this process: a worker's start and the pickling back and
# forth cost more than they save (measured with bench/bench_hl7v2.py).
MIN_UNITS, MIN_RESOURCES = 16, 256


def available_cores() -> int:
    """The cores this process may run on (what `--jobs 0` uses)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def pool(workers: int) -> ProcessPoolExecutor:
    """A process pool of `workers`, forked where possible."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def _chunks(items: Sequence[Any], workers: int) -> list[Sequence[Any]]:
    size = max(1, -(-len(items) // (workers * CHUNKS_PER_WORKER)))
    return [items[i:i + size] for i in range(0, len(items), size)]


def _read_chunk(args: tuple[str, list, bool]) -> list[Fragment]:
    fmt, chunk, keep_source = args
    module = reader_module(fmt)
    if hasattr(module, "read_unit"):
        return [module.read_unit(unit) for unit in chunk]
    if keep_source and fmt == "cda":
        return list(module.read(chunk, keep_source=True))
    return list(module.read(chunk))


def read_sources(executor: ProcessPoolExecutor, fmt: str, group: list[Source],
                 keep_source: bool, workers: int) -> Iterator[Fragment]:
    """The fragments of `group`, read in chunks by the pool, in input order."""
    module = reader_module(fmt)
    items: Sequence[Any] = list(module.units(group)) if hasattr(module, "units") else group
    if len(items) < MIN_UNITS:
        yield from _read_chunk((fmt, items, keep_source))
        return
    jobs = [(fmt, chunk, keep_source) for chunk in _chunks(items, workers)]
    for frags in executor.map(_read_chunk, jobs):
        yield from frags


def _findings(resources: Sequence[dict]) -> list:
    return [resource_findings(r) for r in resources]


def validate_all(executor: ProcessPoolExecutor, bundles: list[dict],
                 workers: int) -> list[list[Issue]]:
    """The validation issues of each Bundle, in order: resources checked in the pool."""
    # per Bundle, each entry's resource when it is one to check (validate_bundle's own rule)
    slots = [[e["resource"] if isinstance(e, dict) and isinstance(e.get("resource"), dict)
              else None for e in bundle_entries(b)] for b in bundles]
    resources = [r for per_bundle in slots for r in per_bundle if r is not None]
    if len(resources) < MIN_RESOURCES:
        found = iter(_findings(resources))
    else:
        found = iter(chain.from_iterable(executor.map(_findings, _chunks(resources, workers))))
    return [validate_bundle(bundle, source=f"Bundle/{bundle['id']}",
                            findings=[None if r is None else next(found) for r in per_bundle])
            for bundle, per_bundle in zip(bundles, slots)]

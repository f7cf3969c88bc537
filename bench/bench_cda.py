"""CDA / C-CDA benchmark: ms per document over the shared corpus (22 + 12 full documents).

    python bench/bench_cda.py [--rounds N]

Prints, per phase: the reader alone (parse + mapping), `converter.convert` without validation, and
`converter.convert` with validation, the last both with the validator's per-resource cache cleared
before each document (cold: what a first conversion costs) and kept (warm: documents that repeat
resources, such as the same practitioners). Peak memory is measured with tracemalloc on one pass.
Numbers are per document, best of N rounds, on this machine.
"""
from __future__ import annotations

import argparse
import importlib
import os
import platform
import resource
import time
import tracemalloc
from pathlib import Path

from converter import convert
from converter.readers.cda import read_document
from converter.sources import Source

CORPUS = Path(os.environ.get("MEDBUNDLE_CORPUS",
                           Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"))


def documents() -> list[Path]:
    samples = sorted((CORPUS / "ccda-samples" / "ms-fhir-converter").glob("*"))
    examples = sorted(p for p in (CORPUS / "ccda-examples" / "Documents").rglob("*")
                      if p.suffix.lower() == ".xml")
    return samples + examples


def _clear_validation_cache() -> None:
    try:
        importlib.import_module("converter.validate.validator")._cache.clear()
    except (ImportError, AttributeError):
        pass


def best_of(rounds: int, run) -> float:
    best = float("inf")
    for _ in range(rounds):
        best = min(best, run())
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    paths = documents()
    datas = [p.read_bytes() for p in paths]
    sources = [Source(str(p), "cda", data=d) for p, d in zip(paths, datas)]
    n = len(datas)
    resources = sum(len(read_document(s)[0].resources) for s in sources)
    for d in datas:  # warm up: imports, mapping tables, validator definitions
        convert(d)

    def reader() -> float:
        t = time.perf_counter()
        for s in sources:
            read_document(s)
        return (time.perf_counter() - t) / n * 1000

    def pipeline(validate: bool, cold: bool) -> float:
        total = 0.0
        for d in datas:
            if cold:
                _clear_validation_cache()
            t = time.perf_counter()
            convert(d, validate=validate)
            total += time.perf_counter() - t
        return total / n * 1000

    print(f"CDA benchmark: {n} documents, {sum(map(len, datas)) / n / 1024:.0f} KB and "
          f"{resources / n:.0f} resources per document on average")
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}; best of {args.rounds} rounds")
    print(f"  reader only (parse + map)            {best_of(args.rounds, reader):6.2f} ms/doc")
    print(f"  convert, no validation               "
          f"{best_of(args.rounds, lambda: pipeline(False, False)):6.2f} ms/doc")
    print(f"  convert + validation (cold cache)    "
          f"{best_of(args.rounds, lambda: pipeline(True, True)):6.2f} ms/doc")
    print(f"  convert + validation (warm cache)    "
          f"{best_of(args.rounds, lambda: pipeline(True, False)):6.2f} ms/doc")
    _clear_validation_cache()
    tracemalloc.start()
    for d in datas:
        convert(d)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    largest = max(datas, key=len)
    tracemalloc.start()
    convert(largest)
    _current, one = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  peak traced Python memory: {peak / 2**20:.1f} MiB over the corpus, "
          f"{one / 2**20:.1f} MiB for the largest document ({len(largest) / 1024:.0f} KB); "
          "libxml2's own allocations are not traced")
    print(f"  process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB "
          "(Python, fhir.resources models and validator definitions included)")


if __name__ == "__main__":
    main()

"""IPS document benchmark: ms per document for `converter.assemble.ips.document`.

    python bench/bench_ips.py [--rounds N]

The inputs are the patient histories the real readers make of the shared corpus (every C-CDA
document and HL7 v2 file that yields a Patient), read once beforehand: only the document builder
is timed (profiles and fills, sections, narratives, Composition, identifier). It prints ms per
document (best of N rounds), ms per thousand input resources, the structural validation of the
result for comparison, and the builder's peak memory (tracemalloc, one pass).
"""
from __future__ import annotations

import argparse
import copy
import os
import platform
import time
import tracemalloc
from pathlib import Path

from converter import convert
from converter.assemble.ips import document
from converter.validate import validate_bundle

CORPUS = Path(os.environ.get("MEDBUNDLE_CORPUS",
                           Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"))
TS = "2024-05-01T10:00:00+02:00"


def histories() -> list[tuple[list[dict], dict]]:
    paths = sorted(p for p in CORPUS.rglob("*")
                   if p.is_file() and p.suffix.lower() in (".xml", ".ccda", ".hl7"))
    out = []
    for path in paths:
        for bundle in convert(str(path), validate=False).bundles:
            res = [e["resource"] for e in bundle.get("entry", [])]
            patient = next((r for r in res if r["resourceType"] == "Patient"), None)
            if patient is not None:
                out.append((res, patient))
    return out


def run(items: list[tuple[list[dict], dict]]) -> float:
    start = time.perf_counter()
    for res, patient in items:
        document(res, patient, TS, "bench")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    items = histories()
    if not items:
        raise SystemExit(f"no patient history read from {CORPUS} (set MEDBUNDLE_CORPUS)")
    n, resources = len(items), sum(len(r) for r, _ in items)
    run(items)  # warm up: mapping tables, lxml
    best = min(run(copy.deepcopy(items)) for _ in range(args.rounds))
    docs = [document(r, p, TS, "bench")[0] for r, p in items]
    start = time.perf_counter()
    for doc in docs:
        validate_bundle(doc)
    validation = time.perf_counter() - start
    tracemalloc.start()
    run(items)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"{n} patient histories, {resources} resources in")
    print(f"document():       {best * 1000 / n:.2f} ms per document, "
          f"{best * 1e6 / resources:.1f} ms per 1000 resources")
    print(f"validate_bundle:  {validation * 1000 / n:.2f} ms per document (for comparison)")
    print(f"peak memory of one pass over all documents: {peak / 1e6:.1f} MB")


if __name__ == "__main__":
    main()

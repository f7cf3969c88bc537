"""Benchmark: convert the shared HL7 v2 corpus repeatedly; ms per message (validation on and off)
and peak memory. Numbers go in the README; run on the 2-core CI-class machine.

    python bench/bench_hl7v2.py [--rounds N] [--corpus DIR]

Run so, it imports the installed medbundle (with the modules setup.py compiles); with
PYTHONPATH=. it measures the source tree as plain Python.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import time
import tracemalloc
from pathlib import Path

from converter import convert

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    shared = Path(os.environ.get("MEDBUNDLE_SHARED", ROOT.parent / "shared"))
    ap.add_argument("--corpus", type=Path, default=shared / "corpus" / "hl7v2")
    args = ap.parse_args()
    files = sorted(p for p in args.corpus.rglob("*") if p.suffix in (".hl7", ".txt"))
    if not files:
        raise SystemExit(f"no .hl7/.txt files under {args.corpus} (--corpus or MEDBUNDLE_SHARED)")
    blobs = [p.read_bytes() for p in files]
    messages = sum(convert(b, validate=False).fragments for b in blobs)  # warm-up, and count
    print(f"machine: {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {len(os.sched_getaffinity(0))} cores")
    print(f"corpus: {len(files)} files, {messages} messages")
    from converter.validate import validator

    for validate, label in ((True, "with validation, cold"), (True, "with validation, warm"),
                            (False, "without validation")):
        best = best_cpu = float("inf")
        for _ in range(args.rounds):
            if "cold" in label:
                # the validator caches findings per resource across calls (the same Practitioner
                # in a feed); a cold round measures every message as if never seen
                validator._cache.clear()
            t0, c0 = time.perf_counter(), time.process_time()
            for b in blobs:
                convert(b, validate=validate)
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        # CPU time is the steadier number on a shared machine; wall time is what a user waits.
        print(f"{label}: {best / messages * 1000:.3f} ms per message wall, "
              f"{best_cpu / messages * 1000:.3f} ms CPU (best of {args.rounds})")
    # One Result per message on both cores (convert_each, workers=2): this process and one
    # worker, started once as a service would, share the messages; each round empties both
    # processes' caches first.
    from converter import convert_each, parallel

    parallel.start(2)
    for _result in convert_each(blobs, workers=2):  # the worker's own warm-up
        pass
    best = float("inf")
    for _ in range(args.rounds):
        parallel.clear_caches()
        t0 = time.perf_counter()
        for _result in convert_each(blobs, workers=2, batch=len(blobs)):
            pass
        best = min(best, time.perf_counter() - t0)
    parallel.shutdown()
    print(f"one Result per message, convert_each(workers=2), 2 processes, with validation, cold: "
          f"{best / messages * 1000:.3f} ms per message wall (best of {args.rounds})")
    # The feed (`cat *.hl7 | medbundle convert -`): one stream, framed once; messages of the same
    # patient share one Bundle, so repeated practitioners and locations are validated once.
    stream = b"\r".join(blobs)  # files may lack a final CR: keep messages apart
    for workers in (1, 2):
        best = float("inf")
        for _ in range(args.rounds):
            validator._cache.clear()
            t0 = time.perf_counter()
            result = convert(stream, workers=workers)
            best = min(best, time.perf_counter() - t0)
        print(f"the corpus as one stream ({result.fragments} messages, {len(result.bundles)} "
              f"bundles), {workers} process(es), with validation, cold: "
              f"{best / result.fragments * 1000:.3f} ms per message wall")
    # Memory of a long stream stays proportional to the output, not to parsing.
    validator._cache.clear()
    stream = stream * 4
    tracemalloc.start()
    t0 = time.perf_counter()
    result = convert(stream)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"one stream of {result.fragments} messages (under tracemalloc, which slows it "
          f"several times): {elapsed:.2f} s, "
          f"{len(result.bundles)} bundles, tracemalloc peak {peak / 2**20:.1f} MiB, "
          f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()

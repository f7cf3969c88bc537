"""Benchmark of the validator: ms per resource, per 1,000-resource Bundle, per HL7 v2 message.

    python bench/bench_validate.py

Bundles measured:
- "medbundle 1000": 1,000 distinct resources of medbundle's own output over the shared HL7 v2 corpus
  (the entries of every message's Bundle, de-duplicated by fullUrl, copied with new UUIDs up to
  1,000);
- "examples 1000": 1,000 official R4 examples of the emitted types (ids made unique), which are
  larger than medbundle's resources;
- every single-message Bundle of the corpus, as convert() validates them.
Each is validated with the fhir.resources models (default) and without (models=False). "first" is
the first call in the process (loads the definitions, compiles what it meets, imports the models);
the others are best of 5 with the per-resource cache emptied, so nothing is reused between runs.
Peak memory is the process's maximum resident set size.
"""
from __future__ import annotations

import copy
import gzip
import os
import platform
import re
import resource
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from converter import convert  # noqa: E402
from converter.validate import validate_bundle, validator  # noqa: E402
from converter.writers.json import dumps, loads  # noqa: E402

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

CORPUS = Path(os.environ.get("MEDBUNDLE_SHARED", ROOT.parent / "shared")) / "corpus" / "hl7v2"


def corpus_bundles() -> list[dict]:
    paths = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".hl7", ".txt"))
    return [b for p in paths for b in convert(str(p), validate=False).bundles]


def medbundle_1000(bundles: list[dict]) -> dict:
    """1,000 distinct resources: the corpus output de-duplicated by fullUrl, then copies of it
    with every UUID replaced (references stay consistent, no resource repeats)."""
    seen, entries = set(), []
    for b in bundles:
        for e in b.get("entry", []):
            if e["fullUrl"] not in seen:
                seen.add(e["fullUrl"])
                entries.append(e)
    text = dumps(entries).decode()
    copies = [entries]
    for k in range(1, 1000 // len(entries) + 1):
        copies.append(loads(UUID.sub(lambda m: str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                                m.group(0) + str(k))), text)))
    merged = [e for c in copies for e in c][:1000]
    return {"resourceType": "Bundle", "type": "collection", "entry": merged}


def examples_1000() -> dict:
    data = loads(gzip.decompress((ROOT / "tests" / "test_validate_data" / "examples.json.gz")
                                 .read_bytes()))
    pool = [r for r in data["r4"] if r["resourceType"] != "Bundle"]
    entries = []
    for i in range(1000):
        r = copy.deepcopy(pool[i % len(pool)])
        r["id"] = f"x{i}"
        entries.append({"fullUrl": f"https://example.org/fhir/{r['resourceType']}/x{i}",
                        "resource": r})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def timed(bundle: dict, models: bool) -> float:
    validator._cache.clear()
    t = time.perf_counter()
    validate_bundle(bundle, models=models)
    return time.perf_counter() - t


def best(bundle: dict, models: bool, runs: int = 5) -> float:
    return min(timed(bundle, models) for _ in range(runs))


def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    bundles = corpus_bundles()
    med = medbundle_1000(bundles)
    ex = examples_1000()
    n = len(med["entry"])
    first = timed(med, models=True)
    print(f"first call (definitions load, compile, model import), medbundle {n}: "
          f"{first * 1000:.0f} ms")
    for name, bundle in (("medbundle", med), ("examples", ex)):
        count = len(bundle["entry"])
        for models in (True, False):
            secs = best(bundle, models)
            label = "models + definitions" if models else "definitions only"
            print(f"{name} {count} resources, {label}: {secs * 1000:.0f} ms "
                  f"({secs * 1000 / count:.3f} ms per resource)")
    resources_total = sum(len(b.get("entry", [])) for b in bundles)
    for models in (True, False):
        validator._cache.clear()
        times = []
        for b in bundles:
            t = time.perf_counter()
            validate_bundle(b, models=models)
            times.append(time.perf_counter() - t)
        times.sort()
        label = "models + definitions" if models else "definitions only"
        print(f"{len(bundles)} single-message Bundles ({resources_total} resources), {label}: "
              f"median {times[len(times) // 2] * 1000:.2f} ms, "
              f"p90 {times[int(len(times) * 0.9)] * 1000:.2f} ms per message, "
              f"{sum(times) * 1000 / resources_total:.3f} ms per resource "
              "(cache shared across messages, as in one convert() run)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB")


if __name__ == "__main__":
    main()

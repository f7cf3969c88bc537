"""convert() called from several threads at once gives each caller what a lone call gives
(HL7 v2 messages and C-CDA documents)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conftest import CORPUS, HL7_CORPUS

from converter import convert
from converter.validate import validator
from converter.writers.json import dumps


def _out(data: bytes) -> bytes:
    r = convert(data, timestamp="2026-01-01T00:00:00Z")
    return dumps({"bundles": r.bundles, "issues": [str(i) for i in r.issues]})


def test_threads_convert_the_corpus_as_one_thread_does(monkeypatch):
    messages = [p.read_bytes() for p in sorted(Path(HL7_CORPUS).rglob("*")) if p.is_file()]
    messages += [p.read_bytes() for p in sorted((CORPUS / "ccda-samples").rglob("*.xml"))[:8]]
    alone = [_out(m) for m in messages]
    monkeypatch.setattr(validator, "_CACHE_SIZE", 64)  # evictions while other threads read
    validator._cache.clear()
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(_out, messages * 2))
    assert together == alone * 2

"""Static data (definitions, compiled models, code tables) kept out of the cycle collector's way.

Why: once loaded, the R4 definitions, the fhir.resources models and the code tables are about
250,000 objects that live as long as the process and never become garbage, yet every full
collection walked them all: a fifth of the time of converting an HL7 v2 message
(bench/bench_hl7v2.py). `gc.freeze()` moves every object alive into a generation the collector
never scans; objects freed by reference counting are still freed. The loaders of static data are
wrapped with `@loads_static_data`, so the freeze follows each first load (a cache miss).
"""
from __future__ import annotations

import functools
import gc
from typing import Callable, TypeVar

T = TypeVar("T")


def loads_static_data(loader: Callable[..., T]) -> Callable[..., T]:
    """Freeze what exists once `loader` has built its data (put it under the lru_cache)."""
    @functools.wraps(loader)
    def load(*args, **kwargs) -> T:
        value = loader(*args, **kwargs)
        gc.freeze()
        return value

    return load

"""medbundle and Python's cycle collector: static data frozen, collection paused while converting.

Why (bench/bench_hl7v2.py, 2026-11-28): the cycle collector scans every live container object, and
a conversion makes hundreds of thousands of them, all trees without cycles, which reference
counting frees anyway.
- Once loaded, the R4 definitions, the fhir.resources models and the code tables are about 250,000
  objects that live as long as the process; every full collection walked them all: a fifth of an
  HL7 v2 message's time. `gc.freeze()` moves the objects alive into a generation the collector never
  scans; the loaders of static data are wrapped with `@loads_static_data`, so the freeze follows
  each first load (a cache miss).
- During a conversion the collector kept rescanning the growing output: pausing it for the call
  took a message from 2.3 to 1.6 ms in a process holding a large output, and unpickling a worker's
  fragments from 0.37 to 0.07 s. `paused()` restores the collector afterwards, which then finds
  whatever cyclic garbage the call left (normally none).
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


class paused:
    """No cyclic collection inside the block (nested uses and a caller's own gc.disable() kept).

    A class rather than a @contextmanager generator: entered once per convert() call, where the
    generator form cost a few microseconds of a one-message call."""

    __slots__ = ("was_enabled",)

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc_info: object) -> None:
        if self.was_enabled:
            gc.enable()

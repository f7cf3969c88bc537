"""Work shared with worker processes: the reading and validation of one conversion
(`convert(..., workers=N)`, `--jobs N`), or whole conversions (`convert_each(..., workers=N)`).

Converting one message or document is a pure function of its bytes (DESIGN.md, principle 7), so the
work is cut into chunks and the results are put back in input order: the output is the same bytes
as a serial run. A reader that frames its input itself (HL7 v2: a stream holds many messages)
exposes `units(sources)` and `read_unit(unit)`: framing stays here, the chunks hold a few messages;
other readers get whole sources. DICOM is read serially, since a study is grouped across files.
Validation shares out the per-resource checks (validator findings, the costly part) of the
assembled Bundles' resources, each distinct JSON once, and keeps the Bundle-level checks here.

How the work is shared, and why (bench/bench_hl7v2.py on the 2-core machine, where a pool forked
per call, with this process only waiting, was slower than one process):
- `workers=N` is this process and N-1 worker processes, all working. They take the next chunk
  from one shared counter, so a worker on a core that something else keeps busy simply takes fewer
  chunks, and nobody waits at the end for more than one chunk.
- The workers are started once, at the first call that needs them, and serve every later call
  (`_Pool`): forking per call cost a process start and the copy-on-write faults of its first
  touches of the inherited heap at every call. Where the platform allows it they are forked, so the
  definitions, models and tables already loaded here are shared. At exit they are told to stop.
- The checks are shared after assembly, not done by whoever read a resource: a stream restates
  the same Practitioner and updates the same Encounter in many messages, and checking what
  was read (918 distinct resources on the corpus stream, 51 ms) costs twice checking what the
  Bundles keep (626, 22 ms). Only the distinct resources go out, as pickles (exact: a Decimal
  stays a Decimal; msgspec would encode faster but bring a Decimal back as a str or a float),
  and their findings come back.
- A resource already in this process's validator cache is not sent out, and what the workers
  found is cached here, as a serial run caches what it checks.
- `convert_each` sends out chunks of inputs (bytes or paths) and gets whole Results back: each
  worker runs convert() itself, with its own cache; a Result costs about 0.4 ms of pickling in
  all (0.18 to make, 0.24 to read), which is why one Result per message gains less from the
  second core than a feed does.
- A call made while another thread's call holds the workers, or on an input too small to gain,
  is done here alone, as with workers=1.
"""
from __future__ import annotations

import atexit
import gc
import multiprocessing
import os
import pickle
import signal
import threading
from itertools import islice
from multiprocessing.connection import Connection, wait
from typing import Any, Iterable, Iterator, Sequence

import msgspec

from . import collector
from .fragment import Fragment
from .issues import Issue
from .readers import reader_module
from .sources import Source
from .validate import validate_bundle, validator
from .validate.validator import bundle_entries, cache_key, uncached_findings
from .validate.walk import Findings, Problem

PARALLEL_FORMATS = frozenset({"hl7v2", "cda"})
# Chunks: small, so that the last ones even out who finishes when (eight messages, a document, or
# 32 resources to check take a few ms), big enough that their replies cost little beside the work
# (on the corpus stream, 8 and 32 were 3 to 7 % faster than 4 and 16, and than 16 and 32). With
# fewer than MIN_CHUNKS, a call stays in this process.
CHUNK_UNITS, CHUNK_RESOURCES, MIN_CHUNKS = 8, 32, 3

Checked = tuple[list[Problem], Findings]  # what validator.resource_findings returns
_PICKLE = pickle.HIGHEST_PROTOCOL
_DONE = pickle.dumps(None, _PICKLE)


def available_cores() -> int:
    """The cores this process may run on (what `--jobs 0` uses)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# The work of one chunk, in a worker or here (module functions: a worker gets them by name)

def _read_chunk(chunk: Sequence[Any], fmt: str, keep_source: bool) -> list[Fragment]:
    """The fragments of a chunk of units (messages), or of documents as (offset, sources)."""
    module = reader_module(fmt)
    if hasattr(module, "read_unit"):
        return [module.read_unit(unit) for unit in chunk]
    offset, sources = chunk
    frags = list(module.read(sources, keep_source=True) if keep_source and fmt == "cda" else
                 module.read(sources))
    if offset:
        # read() numbers the documents of the list it is given from 1: here, where they are in
        # the whole list, as a serial run numbers them (the index goes into resource ids)
        for frag in frags:
            if frag.index is not None:
                frag.index += offset
    return frags


def _check_chunk(chunk: Sequence[tuple[bytes, dict]]) -> list[Checked]:
    """The findings of each (JSON, resource): the validator's own check of a resource and its
    cache key, so these are what validate_bundle computes, or finds in its cache, for the same
    JSON."""
    return [uncached_findings(resource, True, key) for key, resource in chunk]


def _convert_chunk(chunk: Sequence[Any], options: dict) -> list:
    """convert() of each item of a chunk (convert_each)."""
    from .convert import convert  # (convert imports this module)

    return [convert(item, **options) for item in chunk]


def _take(counter) -> int:
    """The next chunk to do (shared by this process and the workers)."""
    with counter.get_lock():
        i = counter.value
        counter.value = i + 1
    return i


def _serve(conn: Connection, counter) -> None:
    """A worker: for each job (work, chunks, args), take chunks from `counter` and send back
    (i, `work`(chunk, *args)) until none is left, then None. A chunk that raised is sent back as
    (i, None): the caller does it again itself, and so raises as a serial run would."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle
    gc.freeze()  # what was inherited is never collected here, so no collection copies its pages
    gc.enable()
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        work, chunks, args = job
        do = globals()[work]
        if chunks is None:  # a job for every worker, once (_Pool.everyone)
            do(*args)
        with collector.paused():
            while chunks is not None and (i := _take(counter)) < len(chunks):
                try:
                    reply = pickle.dumps((i, do(chunks[i], *args)), _PICKLE)
                except Exception:  # noqa: BLE001 (raised again where the caller redoes it)
                    reply = pickle.dumps((i, None), _PICKLE)
                conn.send_bytes(reply)
                del reply
        del job, chunks, args  # (not kept until the next call)
        conn.send_bytes(_DONE)


class _Pool:
    """Worker processes that live across calls, used by one call at a time (`busy`)."""

    def __init__(self, size: int) -> None:
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.size = size
        self.counter = context.Value("q", 0)
        self.busy = threading.Lock()
        self.conns: list[Connection] = []
        self.processes = []
        for _ in range(size):
            here, there = context.Pipe()
            process = context.Process(target=_serve, args=(there, self.counter), daemon=True,
                                      name="medbundle-worker")
            process.start()
            there.close()
            self.conns.append(here)
            self.processes.append(process)

    def share(self, work: str, chunks: list, args: tuple = ()) -> list:
        """`work`(chunk, *args) of every chunk, in order, done here and by the workers (`work`
        names a function of this module, as the workers find it)."""
        done: list = [None] * len(chunks)
        with self.counter.get_lock():
            self.counter.value = 0
        working = []
        for conn in self.conns:
            try:
                conn.send((work, chunks, args))
                working.append(conn)
            except OSError:
                pass
        lost = len(working) < len(self.conns)
        do = globals()[work]
        try:
            while (i := _take(self.counter)) < len(chunks):
                done[i] = do(chunks[i], *args)
                # what the workers sent meanwhile, so that none waits on a full pipe
                lost |= _receive(done, working, block=False)
            while working:
                lost |= _receive(done, working, block=True)
        except BaseException:  # (a reader's bug, Ctrl-C): the workers may still be at it
            with self.counter.get_lock():
                self.counter.value = len(chunks)  # (they take no further chunk)
            _discard(self)
            raise
        if lost:
            _discard(self)
        for i, result in enumerate(done):  # a chunk that raised in a worker, or a lost worker's
            if result is None:
                done[i] = do(chunks[i], *args)
        return done

    def everyone(self, work: str) -> None:
        """`work`() once in every worker, and here (no chunks: nothing to share)."""
        working = []
        for conn in self.conns:
            try:
                conn.send((work, None, ()))
                working.append(conn)
            except OSError:
                pass
        lost = len(working) < len(self.conns)
        globals()[work]()
        while working:
            lost |= _receive([], working, block=True)
        if lost:  # (the next call starts new workers, which inherit what was done here)
            _discard(self)

    def close(self) -> None:
        for conn in self.conns:
            try:
                conn.send(None)
            except OSError:
                pass
        for process in self.processes:
            process.join(timeout=2)
            if process.is_alive():
                process.terminate()
        for conn in self.conns:
            conn.close()


def _receive(done: list, working: list[Connection], block: bool) -> bool:
    """Store the replies waiting (or wait for one); False unless a worker was lost."""
    lost = False
    for conn in wait(working, timeout=None if block else 0):
        try:
            reply = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            reply, lost = None, True
        if reply is None:  # that worker is done with this job (or died)
            working.remove(conn)
            continue
        i, result = reply
        done[i] = result
    return lost


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def _acquire(size: int) -> _Pool | None:
    """The pool of `size` workers, reserved for the caller (None: another call is using it)."""
    global _pool
    with _pool_lock:
        if _pool is not None and _pool.size != size:
            if not _pool.busy.acquire(blocking=False):
                return None
            _pool.busy.release()
            _pool.close()
            _pool = None
        if _pool is None:
            _pool = _Pool(size)
        return _pool if _pool.busy.acquire(blocking=False) else None


def _discard(pool: _Pool) -> None:
    """Stop a pool that lost a worker or a job (the next call starts a new one)."""
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.close()


def start(workers: int) -> None:
    """Start workers-1 worker processes now rather than at the first call that needs them (a
    service pays the fork before the first message; a benchmark, outside what it times). They
    inherit this process's state, caches included."""
    if workers > 1:
        pool = _acquire(workers - 1)
        if pool is not None:
            pool.busy.release()


def _clear_cache() -> None:
    validator._cache.clear()


def _cache_size(_chunk: Any) -> int:
    """The number of findings cached in the process that takes the chunk (for tests)."""
    return len(validator._cache)


def clear_caches() -> None:
    """Empty the validator's cache of findings here and in the workers, if any and if no other
    thread's call holds them (a benchmark's cold round: no process then finds a resource checked
    in an earlier round)."""
    current = _pool
    pool = _acquire(current.size) if current is not None else None
    if pool is None:
        _clear_cache()
        return
    try:
        pool.everyone("_clear_cache")
    finally:
        pool.busy.release()


def shutdown() -> None:
    """Stop the workers (at exit; a later call starts new ones)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.close()


def _forget() -> None:
    # In a child forked from this process the pool's pipes are the parent's: start afresh
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


atexit.register(shutdown)
os.register_at_fork(after_in_child=_forget)


def _shared(size: int, work: str, chunks: list, args: tuple = ()) -> list | None:
    """work(chunk, *args) of every chunk by this process and `size` workers; None when the
    workers are busy with another thread's call."""
    pool = _acquire(size)
    if pool is None:
        return None
    try:
        return pool.share(work, chunks, args)
    finally:
        pool.busy.release()


def read_sources(fmt: str, group: list[Source], keep_source: bool, workers: int
                 ) -> list[Fragment]:
    """The fragments of `group`, in input order, read here and by workers-1 workers."""
    module = reader_module(fmt)
    chunks: list[Any]
    if hasattr(module, "units"):  # messages, a few to a chunk
        units = list(module.units(group))
        chunks = [units[i:i + CHUNK_UNITS] for i in range(0, len(units), CHUNK_UNITS)]
    else:  # whole documents, one to a chunk, with the offset of each
        chunks = [(i, group[i:i + 1]) for i in range(len(group))]
    done = None
    if len(chunks) >= MIN_CHUNKS:
        done = _shared(workers - 1, "_read_chunk", chunks, (fmt, keep_source))
    if done is None:
        done = [_read_chunk(chunk, fmt, keep_source) for chunk in chunks]
    return [frag for frags in done for frag in frags]


def _sendable(item: Any) -> bool:
    """An input a worker can convert as this process would: bytes, or a path (not "-", this
    process's stdin; a file object stays here)."""
    return isinstance(item, (bytes, bytearray)) or \
        (isinstance(item, (str, os.PathLike)) and item != "-")


def convert_batches(inputs: Iterable[Any], workers: int, batch: int, options: dict
                    ) -> Iterator[Any]:
    """convert(item, **options) of each input, in order (the Results of convert_each): `batch`
    inputs at a time, each batch shared between this process and workers-1 workers."""
    items = iter(inputs)
    while batch_items := list(islice(items, batch)):
        chunks = [batch_items[i:i + CHUNK_UNITS]
                  for i in range(0, len(batch_items), CHUNK_UNITS)]
        done = None
        if len(chunks) >= MIN_CHUNKS and all(_sendable(item) for item in batch_items):
            done = _shared(workers - 1, "_convert_chunk", chunks, (options,))
        if done is None:
            done = [_convert_chunk(chunk, options) for chunk in chunks]
        for results in done:
            yield from results


def validate_all(bundles: list[dict], workers: int) -> list[list[Issue]]:
    """The validation issues of each Bundle, in order; the distinct resources not in the
    validator's cache are checked here and by workers-1 workers (and then cached here, as
    validate_bundle caches what it checks), the rest by validate_bundle here."""
    keys: list[list[bytes | None]] = []  # per Bundle, per entry: the resource's JSON
    todo: dict[bytes, dict] = {}  # each JSON to check once, with a resource that has it
    for bundle in bundles:
        per_bundle: list[bytes | None] = []
        for entry in bundle_entries(bundle):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            key = None
            if isinstance(resource, dict):
                try:
                    key = cache_key(resource)
                except (TypeError, ValueError, msgspec.EncodeError):
                    pass  # no JSON, or a lone surrogate: validate_bundle checks it
                else:
                    if not validator.is_cached(key):  # (validate_bundle finds it there)
                        todo.setdefault(key, resource)
            per_bundle.append(key)
        keys.append(per_bundle)
    known: dict[bytes, Checked] = {}
    items = list(todo.items())
    chunks = [items[i:i + CHUNK_RESOURCES] for i in range(0, len(items), CHUNK_RESOURCES)]
    if len(chunks) >= MIN_CHUNKS:
        done = _shared(workers - 1, "_check_chunk", chunks)
        if done is not None:
            known = dict(zip(todo, (found for chunk in done for found in chunk)))
            for key, found in known.items():  # for later calls, as a serial run keeps them
                validator.remember(key, found)
    return [validate_bundle(bundle, source=f"Bundle/{bundle['id']}",
                            findings=[None if key is None else known.get(key)
                                      for key in per_bundle] if known else None)
            for bundle, per_bundle in zip(bundles, keys)]

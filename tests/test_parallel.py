"""`convert(..., workers=N)` (`--jobs N`): this process and N-1 workers that live across calls
share the reading and the per-resource checks; the output is that of a serial run, also when a
worker fails, when threads share the workers, and on malformed input."""
from __future__ import annotations

import os
import threading
import time

import pytest

from conftest import CORPUS, HL7_CORPUS

from converter import convert, parallel
from converter.readers import hl7v2
from converter.writers.json import dumps


def _stream() -> bytes:
    return b"\r".join(p.read_bytes() for p in sorted(HL7_CORPUS.rglob("*.hl7")))


def _out(result) -> tuple[list[bytes], list[str], int]:
    return [dumps(b) for b in result.bundles], [str(i) for i in result.issues], result.fragments


@pytest.fixture(autouse=True)
def _fresh_workers():
    """Each test starts and ends without workers (some fork them with a patched reader)."""
    parallel.shutdown()
    yield
    parallel.shutdown()


def test_this_process_and_a_worker_both_take_chunks(monkeypatch):
    stream = _stream()
    serial = _out(convert(stream))
    here, read_chunk = os.getpid(), parallel._read_chunk
    taken_here = []

    def slow_here(chunk, fmt, keep_source):
        if os.getpid() == here:  # (this process is slow: the worker must take most chunks)
            taken_here.append(len(chunk))
            time.sleep(0.02)
        return read_chunk(chunk, fmt, keep_source)

    monkeypatch.setattr(parallel, "_read_chunk", slow_here)
    assert _out(convert(stream, workers=2)) == serial
    assert 0 < sum(taken_here) < serial[2]


def test_the_workers_serve_later_calls():
    stream = _stream()
    convert(stream, workers=2)
    pids = [p.pid for p in parallel._pool.processes]
    convert(stream, workers=2)
    assert [p.pid for p in parallel._pool.processes] == pids
    assert all(p.is_alive() for p in parallel._pool.processes)


def test_a_small_input_stays_in_this_process():
    one = next(HL7_CORPUS.rglob("*.hl7")).read_bytes()
    assert _out(convert(one, workers=2)) == _out(convert(one))
    assert parallel._pool is None  # no worker was started for it


def test_a_worker_that_dies_is_replaced_and_its_chunks_read_here(monkeypatch):
    stream = _stream()
    serial = _out(convert(stream))
    here, read_chunk = os.getpid(), parallel._read_chunk

    def dies_in_a_worker(chunk, fmt, keep_source):
        if os.getpid() != here:
            os._exit(3)
        return read_chunk(chunk, fmt, keep_source)

    monkeypatch.setattr(parallel, "_read_chunk", dies_in_a_worker)
    parallel._acquire(1).busy.release()  # a worker forked with the patch
    dead = parallel._pool.processes
    assert _out(convert(stream, workers=2)) == serial
    assert all(not p.is_alive() for p in dead)
    assert parallel._pool is None or all(p.is_alive() for p in parallel._pool.processes)
    monkeypatch.undo()
    assert _out(convert(stream, workers=2)) == serial


def test_a_reader_error_raises_as_in_a_serial_run(monkeypatch):
    stream = _stream()
    expected = _out(convert(stream))
    read_unit = hl7v2.read_unit

    def fails_on_the_tenth(unit, seen=[]):  # noqa: B006 (counts calls in each process)
        seen.append(1)
        if len(seen) == 10:
            raise ValueError("a reader's bug")
        return read_unit(unit)

    monkeypatch.setattr(hl7v2, "read_unit", fails_on_the_tenth)
    with pytest.raises(ValueError, match="a reader's bug"):
        convert(stream, workers=2)
    monkeypatch.undo()
    # nothing of the failed call is left in the pipes: the next call gets its own results
    assert _out(convert(stream, workers=2)) == expected


def test_threads_sharing_the_workers_get_what_a_serial_run_gives():
    stream = _stream()
    serial = _out(convert(stream))
    outs: list = [None] * 3

    def run(k: int) -> None:
        outs[k] = _out(convert(stream, workers=2))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outs == [serial] * 3


def test_malformed_streams_give_the_issues_of_a_serial_run():
    corpus = [p.read_bytes() for p in sorted(HL7_CORPUS.rglob("*.hl7"))]
    junk = [b"\x00\xff garbage line\r", b"PID|1||no message header\r", b"MSH|^~\\&|\r",
            b"MSH|^~\\&|A|B|C|D|2024||ORU^R01|1|P|2.5\rOBX|1|NM|x^y||abc|mg\r",
            "MSH|^~\\&|A|B|C|D|2024||ADT^A01|2|P|2.5|||||||8859/1\rPID|1||7||M\u00fcller\r"
            .encode("latin-1"), b"\xef\xbb\xbfMSH|^~\\&|A|B\r" + b"OBX|" * 50 + b"\r"]
    stream = b"\r".join(m for pair in zip(corpus, junk * len(corpus)) for m in pair)
    assert _out(convert(stream, workers=2)) == _out(convert(stream))
    assert _out(convert(stream, workers=3)) == _out(convert(stream))


def test_without_validation_nothing_is_checked_in_the_workers():
    stream = _stream()
    assert _out(convert(stream, validate=False, workers=2)) == _out(convert(stream,
                                                                             validate=False))


def test_documents_keep_their_place_in_the_list():
    """CDA documents go out one to a chunk; each keeps the index a serial run gives it (its place
    in the whole list, which goes into resource ids), not its place in its chunk."""
    docs = sorted((CORPUS / "ccda-samples").rglob("*.ccda"))
    docs += sorted((CORPUS / "ccda-examples").rglob("*.xml"))[:24]
    assert len(docs) > parallel.MIN_CHUNKS
    assert _out(convert(docs, workers=2)) == _out(convert(docs))


# --- convert_each: one Result per input ----------------------------------------------------------

def _messages() -> list[bytes]:
    return [p.read_bytes() for p in sorted(HL7_CORPUS.rglob("*.hl7"))]


def test_convert_each_gives_the_results_of_convert_one_by_one():
    from converter import convert_each

    messages = _messages()
    serial = [_out(convert(m)) for m in messages]
    assert [_out(r) for r in convert_each(messages)] == serial
    here, convert_chunk = os.getpid(), parallel._convert_chunk
    assert [_out(r) for r in convert_each(iter(messages), workers=2, batch=40)] == serial
    assert parallel._pool is not None and all(p.is_alive() for p in parallel._pool.processes)
    assert convert_chunk is parallel._convert_chunk and os.getpid() == here


def test_convert_each_shares_the_work_with_a_worker(monkeypatch):
    from converter import convert_each

    messages = _messages()
    here, convert_chunk = os.getpid(), parallel._convert_chunk
    done_here = []

    def slow_here(chunk, options):
        if os.getpid() == here:
            done_here.extend(chunk)
            time.sleep(0.02)
        return convert_chunk(chunk, options)

    monkeypatch.setattr(parallel, "_convert_chunk", slow_here)
    results = list(convert_each(messages, workers=2, timestamp="2026-01-01T00:00:00Z"))
    assert [r.bundles[0]["timestamp"] for r in results] == ["2026-01-01T00:00:00Z"] * len(messages)
    assert 0 < len(done_here) < len(messages)


def test_convert_each_keeps_bad_inputs_and_file_objects_here():
    """Each bad input gets its own Result with its issues; an input a worker cannot take (a file
    object) makes its batch convert here."""
    import io

    from converter import convert_each

    messages = _messages()[:20]
    bad = [b"", b"\x00\xff not hl7", b"MSH|^~\\&|A|B\rPID|1||7"]
    items = [item for pair in zip(messages, bad * 7) for item in pair]
    assert [_out(r) for r in convert_each(items, workers=2)] == [_out(convert(i)) for i in items]
    assert [r.exit_code for r in convert_each(bad, workers=2)] == [2, 2, 1]
    files = [io.BytesIO(m) for m in messages]
    assert [_out(r) for r in convert_each(files, workers=2)] == \
        [_out(convert(io.BytesIO(m))) for m in messages]


def test_convert_each_refuses_what_a_worker_cannot_do():
    from converter import convert_each

    for option in ({"on_fragment": print}, {"stdin": None}):
        with pytest.raises(TypeError):
            convert_each([b""], **option)


def test_clear_caches_empties_every_process():
    from converter.validate import validator

    stream = _stream()
    convert(stream, workers=2)
    convert(stream)  # (fills this process's cache)
    parallel.clear_caches()
    assert not validator._cache
    sizes = parallel._shared(1, "_cache_size", [None] * 8)
    assert sizes == [0] * 8


def test_resources_checked_before_are_not_sent_again(monkeypatch):
    """The workers' findings land in this process's cache, as a serial run's would: a second
    call finds every resource there and shares nothing."""
    from converter.validate import validator

    stream = _stream()
    validator._cache.clear()
    first = _out(convert(stream, workers=2))
    shared = []
    share = parallel._shared

    def spy(size, work, chunks, args=()):
        shared.append(work)
        return share(size, work, chunks, args)

    monkeypatch.setattr(parallel, "_shared", spy)
    assert _out(convert(stream, workers=2)) == first == _out(convert(stream))
    assert shared == ["_read_chunk"]

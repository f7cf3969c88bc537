"""Readers turn Sources of one format into Fragments. Each reader module exposes

    read(sources: list[Source]) -> Iterator[Fragment]

taking all sources of its format at once (DICOM groups files into studies across a folder). A reader
whose sources hold many independent units (an HL7 v2 stream) may also expose `units(sources)` and
`read_unit(unit)`, so that converter/parallel.py can spread the units over processes.
Reader modules are imported on first use so that a v2-only user never pays for lxml or pydicom.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Callable, Iterator

from ..fragment import Fragment
from ..sources import Source

READERS = {
    "hl7v2": "converter.readers.hl7v2",
    "cda": "converter.readers.cda",
    "dicom": "converter.readers.dicom",
}


def reader_module(fmt: str) -> ModuleType | None:
    """The reader module of a format, or None when this build has no reader for it."""
    name = READERS.get(fmt)
    if name is None:
        return None
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


def reader_for(fmt: str) -> Callable[[list[Source]], Iterator[Fragment]] | None:
    """The `read` function for a format, or None when this build has no reader for it."""
    module = reader_module(fmt)
    return None if module is None else module.read

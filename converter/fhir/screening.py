"""`BUILT`, the mark of an element the code repairs would change (converter/fhir/terminology.py
exports it and tells its use).

A module of its own so that it stays a plain Python class where the modules around it are compiled
with mypyc: a subclass of threading.local, a C type, cannot be a mypyc native class (compiled, it
crashes on the first attribute set), and tests replace its methods.
"""
from __future__ import annotations

import threading


class BuiltElements(threading.local):
    """Whether an element built since `reset()` is one `repair()` would change (see the module
    docstring): set by the builders (fhir/datatypes.screen), read by the HL7 v2 reader, which
    maps one message at a time in a thread. Builders screen only between `reset()` and `stop()`:
    the CDA and DICOM readers build codings through the same builders and have no use for the
    mark (nor for the definitions a verdict loads). Per thread, so that conversions running side
    by side in one process (a library user's threads) do not reset each other's mark."""

    def __init__(self) -> None:
        self.screening = False
        self.unsettled = False

    def reset(self) -> None:
        """Start screening a message's elements."""
        self.screening = True
        self.unsettled = False

    def stop(self) -> bool:
        """Stop screening; whether an element built since reset() needs the repair walk."""
        unsettled, self.screening, self.unsettled = self.unsettled, False, False
        return unsettled


BUILT = BuiltElements()

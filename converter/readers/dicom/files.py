"""Reading one DICOM file's header (never its pixel data) and checking that it was not cut short.

pydicom reads a file cut inside its meta as an empty dataset, and one cut inside a value as a
shorter value, without any error. The file object handed to pydicom here counts every short read,
so a truncated header is noticed; the pixel data's declared length is checked against the file
size without reading it.
"""
from __future__ import annotations

import io
import os
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset

from ...issues import Issue, Location
from ...sources import Source

DICOMDIR_CLASS = "1.2.840.10008.1.3.10"  # Media Storage Directory Storage
DEFLATED = "1.2.840.10008.1.2.1.99"
PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)  # Pixel Data, Float and Double Float Pixel Data
SEQUENCE_DELIMITER_LE = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
SEQUENCE_DELIMITER_BE = b"\xff\xfe\xe0\xdd\x00\x00\x00\x00"
# Values larger than this are not loaded (pydicom re-reads them from the path if ever asked), so a
# header with a huge overlay, waveform or private blob costs no more memory than a small one.
DEFER_SIZE = 8 * 1024 * 1024


class _CountedReads:
    """A file object for pydicom that remembers every read that returned fewer bytes than asked."""

    __slots__ = ("_fh", "size", "name", "short", "past_end")

    def __init__(self, fh: io.BufferedIOBase, size: int, name: str) -> None:
        self._fh = fh
        self.size = size
        self.name = name
        self.short: list[tuple[int, int, int]] = []  # (offset, wanted, got)
        self.past_end = False

    def read(self, n: int = -1) -> bytes:
        data = self._fh.read(n)
        if n is not None and n > 0 and len(data) < n:
            self.short.append((self._fh.tell() - len(data), n, len(data)))
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        pos = self._fh.seek(offset, whence)
        if pos > self.size:
            self.past_end = True
        return pos

    def tell(self) -> int:
        return self._fh.tell()

    def cut_short(self) -> int | None:
        """The offset where the data ran out, or None when every read was complete.

        The one allowed short read is the empty one at the very end of the file, where pydicom
        looks for the next element (8 bytes) or peeks for content (1 byte).
        """
        for offset, wanted, got in self.short:
            if got == 0 and offset == self.size and wanted in (1, 8):
                continue
            return offset + got
        if self.past_end:
            return self.size
        return None


@dataclass(slots=True)
class Header:
    """One file's header: its dataset (without pixel data), or the issues that made it unreadable."""

    source: Source
    dataset: Dataset | None = None
    issues: list[Issue] = field(default_factory=list)
    mtime: float | None = None  # when the file (or the archive holding it) was last written

    @property
    def is_dicomdir(self) -> bool:
        ds = self.dataset
        if ds is None:
            return False
        meta = getattr(ds, "file_meta", None)
        cls = meta.get("MediaStorageSOPClassUID") if meta is not None else None
        return cls == DICOMDIR_CLASS or 0x00041220 in ds


def read_header(source: Source, mtimes: dict[str, float | None] | None = None) -> Header:
    """The header of one DICOM source; a truncated or unreadable file gives issues, not exceptions."""
    header = Header(source)
    loc = Location(source=source.name)
    try:
        if source.data is not None:
            fh: io.BufferedIOBase = io.BytesIO(source.data)
            size = len(source.data)
            header.mtime = _archive_mtime(source.name, mtimes)
        else:
            assert source.path is not None
            fh = open(source.path, "rb")  # noqa: SIM115 - closed below
            st = os.fstat(fh.fileno())
            size, header.mtime = st.st_size, st.st_mtime
    except OSError as exc:
        header.issues.append(Issue("error", "unreadable",
                                   f"cannot read the file: {exc.strerror or exc}", loc))
        return header
    counted = _CountedReads(fh, size, str(source.path or source.name))
    try:
        with fh, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                ds = dcmread(counted, stop_before_pixels=True, force=True,
                             defer_size=DEFER_SIZE if source.data is None else None)
            except Exception as exc:  # pydicom raises many types on malformed input
                header.issues.append(Issue("error", "unreadable",
                                           f"not a readable DICOM file: {_short(exc)}", loc))
                return header
            cut = counted.cut_short()
            if cut is None:
                cut = _pixel_data_cut(ds, counted)
            header.issues.extend(_warning_issues(caught, loc))
    except OSError as exc:
        header.issues.append(Issue("error", "unreadable",
                                   f"cannot read the file: {exc.strerror or exc}", loc))
        return header
    if cut is not None:
        header.issues.append(Issue(
            "error", "truncated",
            f"the file ends at byte {cut} of {size} in the middle of a DICOM element: it was cut "
            "short (incomplete copy or download); not converted", loc))
        return header
    if size <= 132 or (len(ds) == 0 and not _has_meta(ds)):
        header.issues.append(Issue("error", "unreadable", "no DICOM data set in the file", loc))
        return header
    header.dataset = ds
    return header


def _pixel_data_cut(ds: Dataset, counted: _CountedReads) -> int | None:
    """Where the pixel data runs past the end of the file (read from its element header only)."""
    pos = counted.tell()
    if pos >= counted.size or _transfer_syntax(ds) == DEFLATED:
        return None
    little = getattr(ds, "is_little_endian", None)
    implicit = getattr(ds, "is_implicit_VR", None)
    if little is None:
        little = True
    head = counted._fh.read(12)
    if len(head) < 8:
        return counted.size
    order = "<" if little else ">"
    group, elem = struct.unpack(order + "HH", head[:4])
    if (group << 16 | elem) not in PIXEL_TAGS:
        return None
    if implicit:
        length, value_start = struct.unpack(order + "L", head[4:8])[0], pos + 8
    else:
        if len(head) < 12:
            return counted.size
        length, value_start = struct.unpack(order + "L", head[8:12])[0], pos + 12
    if length == 0xFFFFFFFF:  # encapsulated: the fragments end with a sequence delimiter
        counted._fh.seek(-8, os.SEEK_END)
        tail = counted._fh.read(8)
        if tail not in (SEQUENCE_DELIMITER_LE, SEQUENCE_DELIMITER_BE):
            return counted.size
        return None
    if value_start + length > counted.size:
        return counted.size
    return None


def _transfer_syntax(ds: Dataset) -> str | None:
    meta = getattr(ds, "file_meta", None)
    return meta.get("TransferSyntaxUID") if meta is not None else None


def _has_meta(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    return bool(meta is not None and len(meta))


def _archive_mtime(name: str, cache: dict[str, float | None] | None) -> float | None:
    """The modification time of the zip archive that holds a member named `archive.zip!member`."""
    if "!" not in name:
        return None
    archive = name.rsplit("!", 1)[0]
    if cache is not None and archive in cache:
        return cache[archive]
    try:
        value: float | None = Path(archive).stat().st_mtime
    except OSError:
        value = None
    if cache is not None:
        cache[archive] = value
    return value


def _warning_issues(caught: list[warnings.WarningMessage], loc: Location) -> list[Issue]:
    """pydicom's warnings about odd encodings as information issues, once each."""
    seen: set[str] = set()
    out = []
    for w in caught:
        text = str(w.message)
        if text in seen:
            continue
        seen.add(text)
        out.append(Issue("warning", "invalid-value", f"DICOM reader: {text}", loc))
    return out


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."

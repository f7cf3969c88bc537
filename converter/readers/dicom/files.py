"""Reading one DICOM file's header (never its pixel data) and checking that it was not cut short.

pydicom reads a file cut inside its meta as an empty data set, and one cut inside a value as a
shorter value, without any error. So the file object handed to pydicom here counts every short
read, the last value read is checked against its declared length, and the pixel data's length (or
its fragments' item headers) is checked against the file size without reading the pixels. A file
cut exactly between two elements looks whole; an image that ends before its Pixel Data is flagged.
"""
from __future__ import annotations

import io
import os
import struct
import warnings
from dataclasses import dataclass, field

from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID

from ...issues import Issue, Location
from ...sources import SNIFF_BYTES, Source, sniff
from .values import ascii_value

DICOMDIR_CLASS = "1.2.840.10008.1.3.10"  # Media Storage Directory Storage
DEFLATED = "1.2.840.10008.1.2.1.99"
PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)  # Pixel Data, Float and Double Float Pixel Data
ITEM, SEQUENCE_DELIMITER = 0xFFFEE000, 0xFFFEE0DD
EXPLICIT_LONG_VRS = (b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"UN")
MAX_FRAGMENTS = 1_000_000  # frames walked to check encapsulated pixel data; beyond, trusted
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
    """One file's header: its data set (no pixel data), or the issues that made it unreadable."""

    source: Source
    dataset: Dataset | None = None
    issues: list[Issue] = field(default_factory=list)
    # An image storage instance that ends before any Pixel Data: either written without its image
    # or cut exactly between two elements (which no structural check can tell from a whole file).
    no_pixels: bool = False

    @property
    def is_dicomdir(self) -> bool:
        """True for a DICOMDIR (Media Storage Directory Storage, or directory records)."""
        ds = self.dataset
        if ds is None:
            return False
        if 0x00041220 in ds:  # Directory Record Sequence
            return True
        meta = getattr(ds, "file_meta", None)
        return meta is not None and ascii_value(meta, 0x00020002) == DICOMDIR_CLASS


def read_header(source: Source) -> Header:
    """The header of one DICOM source; a cut or unreadable file gives issues, not exceptions."""
    header = Header(source)
    loc = Location(source=source.name)
    try:
        fh, size = _open(source)
    except OSError as exc:
        header.issues.append(Issue("error", "unreadable",
                                   f"cannot read the file: {exc.strerror or exc}", loc))
        return header
    if size == 0:
        fh.close()
        header.issues.append(Issue("error", "empty-input", "the file is empty", loc))
        return header
    counted = _CountedReads(fh, size, str(source.path or source.name))
    noted: list[Issue] = []
    try:
        with fh, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds, problem = _parse(source, counted, header)
            noted = warning_issues(caught, loc)
    except OSError as exc:
        ds, problem = None, ("unreadable", f"cannot read the file: {exc.strerror or exc}")
    if problem is not None:
        header.issues = [Issue("error", problem[0], problem[1], loc), *noted]
        return header
    header.issues = noted
    header.dataset = ds
    return header


def _open(source: Source) -> tuple[io.BufferedIOBase, int]:
    if source.data is not None:
        return io.BytesIO(source.data), len(source.data)
    assert source.path is not None
    fh = open(source.path, "rb")  # noqa: SIM115 - the caller closes it
    return fh, os.fstat(fh.fileno()).st_size


def _parse(source: Source, counted: _CountedReads, header: Header
           ) -> tuple[Dataset | None, tuple[str, str] | None]:
    """The data set, or (code, message) of why the file is not usable."""
    size = counted.size
    head = counted._fh.read(SNIFF_BYTES)
    counted._fh.seek(0)
    if sniff(head) != "dicom":  # e.g. a file a DICOMDIR names that holds something else
        return None, ("unreadable", "not a DICOM file: no DICM prefix at byte 128 and no DICOM "
                      "data set at its start")
    try:
        ds = dcmread(counted, stop_before_pixels=True, force=True,
                     defer_size=DEFER_SIZE if source.data is None else None)
    except Exception as exc:  # pydicom raises many types on malformed input
        return None, ("unreadable", f"not a readable DICOM file: {_short(exc)}")
    if source.path is not None:  # deferred values are re-read from the path, with open()
        ds.fileobj_type = open
    header.no_pixels = counted.tell() >= size and _is_image_class(ds)
    cut = counted.cut_short()
    if cut is None:
        cut = _last_value_cut(ds)
    if cut is None:
        cut = _pixel_data_cut(ds, counted)
    if cut is not None:
        return None, ("truncated", f"the file ends at byte {cut} of {size} in the middle of a "
                      "DICOM element: it was cut short (incomplete copy or download); not "
                      "converted")
    if size <= 132 or (len(ds) == 0 and not _has_meta(ds)):
        return None, ("unreadable", "no DICOM data set in the file")
    return ds, None


def _last_value_cut(ds: Dataset) -> int | None:
    """Where the last value read came up short (a cut right after an element header reads its
    value as b"", which no read count can tell from the end of the file)."""
    while True:
        keys = ds.keys()
        if not keys:
            return None
        elem = ds.get_item(next(reversed(keys)), keep_deferred=True)
        value = getattr(elem, "value", None)
        if isinstance(elem, RawDataElement):
            if isinstance(value, bytes) and elem.length != 0xFFFFFFFF and len(value) < elem.length:
                return elem.value_tell + len(value)
            return None
        if isinstance(value, Sequence) and len(value):
            ds = value[-1]  # a sequence read last: look at its last item's last element
            continue
        return None


def _pixel_data_cut(ds: Dataset, counted: _CountedReads) -> int | None:
    """Where the pixel data runs past the end of the file, from element and item headers only."""
    pos, size = counted.tell(), counted.size
    if pos >= size or _transfer_syntax(ds) == DEFLATED:
        return None
    little = getattr(ds, "is_little_endian", None)
    order = ">" if little is False else "<"
    fh = counted._fh
    head = fh.read(12)
    if len(head) < 8:
        return size
    group, elem = struct.unpack(order + "HH", head[:4])
    if (group << 16 | elem) not in PIXEL_TAGS:
        return None
    if head[4:6] in EXPLICIT_LONG_VRS:  # decided here: some files switch VR encoding midway
        if len(head) < 12:
            return size
        length, start = struct.unpack(order + "L", head[8:12])[0], pos + 12
    else:
        length, start = struct.unpack(order + "L", head[4:8])[0], pos + 8
    if length == 0xFFFFFFFF:
        return _fragments_cut(fh, start, size, order)
    return size if start + length > size else None


def _fragments_cut(fh: io.BufferedIOBase, start: int, size: int, order: str) -> int | None:
    """Walk encapsulated pixel data item by item (seeking over the frames) to its delimiter."""
    fh.seek(start)
    for _ in range(MAX_FRAGMENTS):
        head = fh.read(8)
        if len(head) < 8:
            return size
        group, elem, length = struct.unpack(order + "HHL", head)
        tag = group << 16 | elem
        if tag == SEQUENCE_DELIMITER:
            return None
        if tag != ITEM:
            return None  # not item structure: a problem for an image decoder, not for the header
        end = fh.tell() + length
        if end > size:
            return size
        fh.seek(end)
    return None


def _is_image_class(ds: Dataset) -> bool:
    """True for an image storage SOP class (one whose instances carry pixel data)."""
    uid = ascii_value(ds, 0x00080016)
    return bool(uid) and UID(uid).name.endswith("Image Storage")


def _transfer_syntax(ds: Dataset) -> str | None:
    meta = getattr(ds, "file_meta", None)
    return ascii_value(meta, 0x00020010) if meta is not None else None


def _has_meta(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    return bool(meta is not None and len(meta))


def warning_issues(caught: list[warnings.WarningMessage], loc: Location) -> list[Issue]:
    """pydicom's warnings (odd encodings, values that break their VR) as issues, once each."""
    seen: set[str] = set()
    out = []
    for w in caught:
        text = str(w.message)
        if text in seen:
            continue
        seen.add(text)
        if "encod" in text.lower() or "decode" in text.lower():
            out.append(Issue("warning", "bad-encoding", f"DICOM reader: {text}",
                             Location(source=loc.source, tag="(0008,0005)")))
        else:
            out.append(Issue("warning", "invalid-value", f"DICOM reader: {text}", loc))
    return out


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."

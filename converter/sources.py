"""Input discovery and format sniffing: files, directories, stdin, bytes and file objects -> Sources."""
from __future__ import annotations

import io
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

from .issues import Issue, Location

FORMATS = ("hl7v2", "cda", "dicom")
SNIFF_BYTES = 4096
# A zip member larger than this is not expanded in memory (zip bombs); it is reported instead.
MAX_ZIP_MEMBER = 512 * 1024 * 1024


@dataclass(slots=True)
class Source:
    """One input as found: a name for messages, its sniffed format, and bytes or a path to read."""

    name: str
    format: str | None
    data: bytes | None = None
    path: Path | None = None

    def read(self) -> bytes:
        """The whole content (read from disk on demand)."""
        if self.data is None:
            assert self.path is not None
            return self.path.read_bytes()
        return self.data

    def head(self, n: int = SNIFF_BYTES) -> bytes:
        if self.data is not None:
            return self.data[:n]
        assert self.path is not None
        with self.path.open("rb") as fh:
            return fh.read(n)


def sniff(head: bytes, name: str = "") -> str | None:
    """The format of content from its first bytes: hl7v2, cda, dicom, zip, or None."""
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    if "DICOMDIR" in name.upper() and Path(name).name.upper() == "DICOMDIR":
        # the substring test first: a Path costs more than sniffing (once per input)
        return "dicom"
    if head[:4] == b"PK\x03\x04":
        return "zip"
    text = head.lstrip(b"\xef\xbb\xbf\x0b\r\n\t \x00")
    if text[:3] in (b"MSH", b"FHS", b"BHS"):
        return "hl7v2"
    if text[:1] == b"<":
        low = head.lower()
        if b"clinicaldocument" in low:
            return "cda"
        return "xml"
    if text[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 text: decode the start and sniff again
        try:
            decoded = text.decode("utf-16").lstrip("\ufeff \r\n\t").encode("utf-8")
        except UnicodeDecodeError:
            return None
        return sniff(decoded, name)
    if _looks_like_raw_dicom(head):
        return "dicom"
    return None


def _looks_like_raw_dicom(head: bytes) -> bool:
    """A DICOM dataset without preamble starts with a group 0x0002 or 0x0008 element, little endian."""
    if len(head) < 8:
        return False
    group = int.from_bytes(head[0:2], "little")
    elem = int.from_bytes(head[2:4], "little")
    if group not in (0x0002, 0x0008):
        return False
    vr = head[4:6]
    return elem < 0x0100 and (vr.isalpha() and vr.isupper() or head[6:8] == b"\x00\x00")


def discover(inputs: Any, fmt: str = "auto", stdin: BinaryIO | None = None
             ) -> tuple[list[Source], list[Issue]]:
    """Expand the inputs into Sources with their formats, and issues for what cannot be read.

    `inputs` is a path (str or PathLike), "-" for standard input, bytes, a binary file object, or a
    list of any of these. Directories are walked recursively in sorted order; inside a directory,
    files of no known format are reported and skipped (discs carry viewers and readme files).
    """
    sources: list[Source] = []
    issues: list[Issue] = []
    items = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    for n, item in enumerate(items, 1):
        for src, walked in _expand(item, n, stdin, issues):
            _classify(src, fmt, issues, explicit=not walked)
            if src.format == "zip":
                for member in expand_zip(src, issues):
                    _classify(member, fmt, issues, explicit=False)
                    if member.format in FORMATS:
                        sources.append(member)
            elif src.format in FORMATS:
                sources.append(src)
    return sources, issues


def _expand(item: Any, n: int, stdin: BinaryIO | None, issues: list[Issue]
            ) -> Iterator[tuple[Source, bool]]:
    """The Sources an input item stands for, each with True when found by walking a directory."""
    if isinstance(item, (bytes, bytearray, memoryview)):
        yield Source(name=f"<bytes {n}>", format=None, data=bytes(item)), False
        return
    if hasattr(item, "read"):
        data = item.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
        name = getattr(item, "name", None)
        yield Source(name=str(name) if isinstance(name, str) else f"<stream {n}>", format=None,
                     data=data), False
        return
    if isinstance(item, str) and item == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        yield Source(name="<stdin>", format=None, data=stream.read()), False
        return
    if isinstance(item, str) and ("\r" in item or "\n" in item or item.startswith("MSH|")):
        yield Source(name=f"<text {n}>", format=None, data=item.encode("utf-8")), False
        return
    if not isinstance(item, (str, os.PathLike)):
        raise TypeError(f"cannot read an input of type {type(item).__name__}")
    path = Path(item)
    if path.is_dir():
        found = False
        for p in _walk(path):
            found = True
            yield Source(name=str(p), format=None, path=p), True
        if not found:
            issues.append(Issue("fatal", "empty-input", "the directory holds no files",
                                Location(source=str(path))))
        return
    if not path.exists():
        issues.append(Issue("fatal", "not-found", "no such file or directory",
                            Location(source=str(path))))
        return
    yield Source(name=str(path), format=None, path=path), False


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for f in sorted(filenames):
            yield Path(dirpath) / f


def _classify(src: Source, fmt: str, issues: list[Issue], explicit: bool) -> None:
    try:
        head = src.head()
    except OSError as exc:
        issues.append(Issue("fatal", "unreadable", f"cannot read the file: {exc.strerror or exc}",
                            Location(source=src.name)))
        return
    if not head:
        issues.append(Issue("fatal", "empty-input", "the input is empty",
                            Location(source=src.name)))
        return
    found = sniff(head, src.name)
    if fmt != "auto" and found != "zip":
        if found not in (fmt, None, "xml"):
            issues.append(Issue("warning", "format-mismatch",
                                f"--format {fmt} given, but the content looks like {found}",
                                Location(source=src.name)))
        src.format = fmt
        return
    src.format = found
    if found in FORMATS or found == "zip":
        return
    loc = Location(source=src.name)
    if found == "xml":
        msg = "XML, but not a CDA document (no ClinicalDocument root)"
    else:
        msg = "not a recognised format (HL7 v2, CDA/C-CDA XML or DICOM expected)"
    if explicit:
        issues.append(Issue("fatal", "unknown-format", msg, loc))
    else:
        issues.append(Issue("information", "skipped-file", msg + "; skipped", loc))


def expand_zip(src: Source, issues: list[Issue]) -> list[Source]:
    """The members of a zip archive as Sources named `archive.zip!member`."""
    out: list[Source] = []
    try:
        with zipfile.ZipFile(io.BytesIO(src.read())) as zf:
            for info in sorted(zf.infolist(), key=lambda i: i.filename):
                if info.is_dir():
                    continue
                name = f"{src.name}!{info.filename}"
                if info.file_size > MAX_ZIP_MEMBER:
                    issues.append(Issue("error", "too-large", "zip member too large to expand",
                                        Location(source=name)))
                    continue
                out.append(Source(name=name, format=None, data=zf.read(info)))
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
        issues.append(Issue("fatal", "bad-zip", f"unreadable zip archive: {exc}",
                            Location(source=src.name)))
    return out


def group_by_format(sources: Iterable[Source]) -> dict[str, list[Source]]:
    """Sources grouped by format, each group in input order."""
    out: dict[str, list[Source]] = {}
    for s in sources:
        out.setdefault(s.format or "", []).append(s)
    return out

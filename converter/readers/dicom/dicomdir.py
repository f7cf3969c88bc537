"""DICOMDIR file-sets (PS3.10, PS3.3 Annex F): which files a disc says it holds, found on the disc.

The directory records are walked through their offsets (root -> next -> lower level), as readers of
media must; a record whose In-use Flag is 0000H is skipped with everything below it, and records
that no offset reaches are still used when they reference a file. Referenced File IDs are matched
case-insensitively (discs are written in upper case, copies are often lower case) and ignore the
ISO 9660 ";1" version suffix. pydicom's FileSet is not used for this: it needs the DICOMDIR on disk,
matches names case-sensitively and keeps records that are not in use.
"""
from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset

from ...issues import Issue, Location
from ...sources import Source
from .values import ascii_value, sequence, text_value

RECORDS, ROOT_OFFSET = 0x00041220, 0x00041200
NEXT_OFFSET, IN_USE, LOWER_OFFSET, RECORD_TYPE = 0x00041400, 0x00041410, 0x00041420, 0x00041430
FILE_ID, FILE_SOP_CLASS, FILE_SOP_INSTANCE = 0x00041500, 0x00041510, 0x00041511
FILE_SET_ID = 0x00041130
PATIENT_ID, PATIENT_NAME, STUDY_UID, SERIES_UID = 0x00100020, 0x00100010, 0x0020000D, 0x0020000E
# Records that reference files other readers handle (an HL7 CDA document on the disc).
NOT_DICOM_RECORDS = frozenset({"HL7 STRUC DOC"})


@dataclass(slots=True)
class Reference:
    """A file that a directory record references, with the study it belongs to."""

    file_id: str  # as written, "/"-separated
    key: str  # the normalised name it must be found under
    sop_uid: str
    record_type: str
    study_uid: str
    patient: str
    offset: int
    source: Source | None = None  # the file, once found


@dataclass(slots=True)
class FileSet:
    """One DICOMDIR: its references, and what was odd about its records."""

    source: Source
    root: str | None  # normalised key of the folder the DICOMDIR is in (None for bytes input)
    file_set_id: str
    references: list[Reference] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    @property
    def missing(self) -> list[Reference]:
        return [r for r in self.references if r.source is None]


def _component(name: str) -> str:
    """A path component as compared: case folded, without an ISO 9660 version or a trailing dot."""
    return name.split(";", 1)[0].rstrip(".").casefold()


def source_key(source: Source) -> str | None:
    """The normalised name a file is found under: absolute path (archive!member for zip members)."""
    if source.path is not None:
        parts = os.path.abspath(str(source.path)).split(os.sep)
        return "/".join(_component(p) for p in parts)
    if "!" in source.name:
        archive, member = source.name.rsplit("!", 1)
        parts = [p for p in posixpath.normpath(member).split("/") if p not in ("", ".")]
        arch = "/".join(_component(p) for p in os.path.abspath(archive).split(os.sep))
        return arch + "!" + "/".join(_component(p) for p in parts)
    return None


def _parent(key: str) -> str:
    if "!" in key:
        archive, member = key.rsplit("!", 1)
        return archive + "!" + posixpath.dirname(member)
    return posixpath.dirname(key)


def _join(root: str, parts: list[str]) -> str:
    tail = "/".join(_component(p) for p in parts)
    if root.endswith("!"):
        return root + tail
    return root + "/" + tail


def under(key: str, root: str) -> bool:
    """True when the file `key` is inside the folder `root`."""
    if root.endswith("!"):
        return key.startswith(root)
    return key.startswith(root + "/")


def parse(source: Source, ds: Dataset) -> FileSet:
    """The references of a DICOMDIR data set, walking its records as PS3.10 describes."""
    key = source_key(source)
    fs = FileSet(source, _parent(key) if key else None, text_value(ds, FILE_SET_ID))
    loc = Location(source=source.name)
    records = sequence(ds, RECORDS)
    by_offset: dict[int, Dataset] = {}
    for rec in records:
        offset = getattr(rec, "seq_item_tell", None)
        if isinstance(offset, int):
            by_offset[offset] = rec
    visited: set[int] = set()
    skipped = [0]

    def walk(offset: int, active: bool, context: dict[str, str]) -> None:
        while offset and offset in by_offset and offset not in visited:
            visited.add(offset)
            rec = by_offset[offset]
            in_use = _int(rec, IN_USE, 0xFFFF) != 0
            if not in_use and active:
                skipped[0] += 1
            here = active and in_use
            ctx = _context(rec, context)
            if here:
                _add_reference(fs, rec, offset, ctx, loc)
            lower = _int(rec, LOWER_OFFSET, 0)
            if lower:
                walk(lower, here, ctx)
            offset = _int(rec, NEXT_OFFSET, 0)

    walk(_int(ds, ROOT_OFFSET, 0), True, {})
    orphans = [(o, r) for o, r in by_offset.items() if o not in visited]
    if len(by_offset) < len(records):  # offsets unknown: every record counts, in file order
        orphans = [(getattr(r, "seq_item_tell", 0) or 0, r) for r in records
                   if getattr(r, "seq_item_tell", None) not in visited]
    linked = 0
    for offset, rec in orphans:
        if FILE_ID in rec and _int(rec, IN_USE, 0xFFFF) != 0:
            linked += 1
            _add_reference(fs, rec, offset, _context(rec, {}), loc)
    if linked:
        fs.issues.append(Issue("information", "dicomdir-record",
                               f"{linked} directory records are not reachable through the record "
                               "offsets; the files they reference are read all the same", loc))
    if skipped[0]:
        fs.issues.append(Issue("information", "dicomdir-record",
                               f"{skipped[0]} directory records are marked not in use (In-use Flag "
                               "0000H) and were skipped with the records below them", loc))
    if fs.root is None and fs.references:
        fs.issues.append(Issue("error", "not-found",
                               "a DICOMDIR given without its folder: the files it references "
                               "cannot be found", loc))
    return fs


def _add_reference(fs: FileSet, rec: Dataset, offset: int, ctx: dict[str, str],
                   loc: Location) -> None:
    if FILE_ID not in rec:
        return
    record_type = ascii_value(rec, RECORD_TYPE)
    if record_type in NOT_DICOM_RECORDS:
        return
    parts = [p.strip() for p in ascii_value(rec, FILE_ID).split("\\") if p.strip()]
    if not parts:
        return
    file_id = "/".join(parts)
    if any(p in ("..", ".") or "/" in p or ":" in p for p in parts):
        fs.issues.append(Issue("error", "invalid-value",
                               f"Referenced File ID {file_id!r} points outside the file-set; "
                               "ignored", loc))
        return
    key = _join(fs.root, parts) if fs.root is not None else ""
    fs.references.append(Reference(file_id, key, ascii_value(rec, FILE_SOP_INSTANCE), record_type,
                                   ctx.get("study", ""), ctx.get("patient", ""), offset))


def _context(rec: Dataset, parent: dict[str, str]) -> dict[str, str]:
    kind = ascii_value(rec, RECORD_TYPE)
    if kind == "PATIENT":
        name = text_value(rec, PATIENT_NAME)
        pid = text_value(rec, PATIENT_ID)
        return {**parent, "patient": f"{name} (ID {pid})" if pid else name}
    if kind == "STUDY":
        return {**parent, "study": ascii_value(rec, STUDY_UID)}
    return parent


def _int(ds: Dataset, tag: int, default: int) -> int:
    if tag not in ds:
        return default
    try:
        value = ds[tag].value
    except Exception:  # a value that breaks its VR
        return default
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def find_on_disk(fs: FileSet, ref: Reference, listings: dict[Path, dict[str, str]]) -> Path | None:
    """The file a reference names, looked up case-insensitively next to an on-disk DICOMDIR."""
    if fs.source.path is None:
        return None
    here = Path(os.path.abspath(str(fs.source.path))).parent
    for part in ref.file_id.split("/"):
        names = listings.get(here)
        if names is None:
            try:
                names = {_component(n): n for n in sorted(os.listdir(here))}
            except OSError:
                names = {}
            listings[here] = names
        real = names.get(_component(part))
        if real is None:
            return None
        here = here / real
    return here if here.is_file() else None

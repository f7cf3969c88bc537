"""DICOM reader: files, folders, DICOMDIR file-sets and zip members -> one Fragment per study.

    read(sources) -> Iterator[Fragment]

All DICOM sources of a conversion arrive at once, because a study's files are spread over a folder
and a DICOMDIR names files that sit elsewhere. Headers are read one by one (never pixel data) and
reduced at once to small records (files, grouping); DICOMDIRs are followed (dicomdir); then the
patients are told apart (patient) and each study becomes a Fragment with its Patient,
ImagingStudy, reports and Provenance (fragments), and the completeness report in its issues
(completeness). Files that cannot be read give Fragments marked unusable that carry their issues;
the other files are converted all the same.
"""
from __future__ import annotations

import base64
import binascii
import warnings
from collections.abc import Iterable, Iterator

from ...fragment import Fragment
from ...issues import Issue, Location
from ...sources import Source
from .completeness import duplicate_issue, missing_issue, unreferenced_issue
from .dicomdir import FileSet, find_on_disk, parse, source_key, under
from .files import read_header, warning_issues
from .fragments import common_source, study_fragment
from .grouping import Collector, Study


class _Reading:
    """The state of one read(): what was read, the file-sets, and issues not tied to a study."""

    def __init__(self) -> None:
        self.collector = Collector()
        self.filesets: list[FileSet] = []
        self.unusable: list[Fragment] = []
        self.notes: list[Issue] = []  # issues of files that were read, tied to no study
        self.sop_by_key: dict[str, str] = {}
        self.keys: dict[str, Source] = {}
        self.dicom_keys: list[str] = []  # files read as instances (not DICOMDIRs), in order

    def take(self, source: Source, key: str | None) -> None:
        """Read one source's header and file it as an instance, a DICOMDIR or an unusable file."""
        header = read_header(source)
        ds = header.dataset
        if ds is None:
            self.unusable.append(Fragment(source=source.name, format="dicom", kind="unreadable",
                                          issues=header.issues, unusable=True))
            if key:
                self.dicom_keys.append(key)
            return
        if header.is_dicomdir:
            fs = parse(source, ds)
            self.filesets.append(fs)
            self.notes.extend(header.issues)
            return
        problems = self.collector.add(source.name, ds, header.no_pixels)
        if key:
            self.dicom_keys.append(key)
            sop = ds.get_item(0x00080018)
            if sop is not None and isinstance(sop.value, bytes):
                self.sop_by_key[key] = sop.value.decode("ascii", "replace").strip(" \x00")
        if any(p.is_error for p in problems):
            self.unusable.append(Fragment(source=source.name, format="dicom", kind="unreadable",
                                          issues=header.issues + problems, unusable=True))
        else:
            self.notes.extend(header.issues + problems)


# MIME types of an Encapsulated CDA (0042,0012); "text/XML" is what PS3.3 names
CDA_TYPES = frozenset({"text/xml", "text/XML", "application/xml", "application/cda+xml"})


def read(sources: Iterable[Source]) -> Iterator[Fragment]:
    """One Fragment per study (and patient), then Fragments for what could not be read."""
    with warnings.catch_warnings(record=True) as caught:  # pydicom's warnings become issues
        warnings.simplefilter("always")
        fragments = list(_read(sources))
    if caught:
        fragments.append(Fragment(source="", format="dicom", kind="notes",
                                  issues=warning_issues(caught, Location())))
    yield from fragments
    yield from _encapsulated_cda(fragments)


def _encapsulated_cda(fragments: list[Fragment]) -> Iterator[Fragment]:
    """An Encapsulated CDA travels as a DocumentReference, and its content is read as the CDA
    document it is too, so its problems, medications and results join the patient's history."""
    from ..cda import read as read_cda

    docs = []
    for frag in fragments:
        for r in frag.resources:
            if r["resourceType"] != "DocumentReference":
                continue
            for content in r.get("content", []):
                att = content.get("attachment", {})
                if att.get("contentType", "").split(";")[0].strip() in CDA_TYPES and \
                        att.get("data"):
                    try:
                        data = base64.b64decode(att["data"])
                    except (binascii.Error, ValueError):
                        continue
                    docs.append(Source(name=f"{frag.source} (encapsulated CDA)",
                                       format="cda", data=data))
    if docs:
        yield from read_cda(docs)


def _read(sources: Iterable[Source]) -> Iterator[Fragment]:
    state = _Reading()
    todo: list[tuple[Source, str | None]] = []
    for source in sources:
        key = source_key(source)
        if key is not None and key in state.keys:
            continue  # the same file named twice
        if key is not None:
            state.keys[key] = source
        todo.append((source, key))
    for source, key in todo:
        state.take(source, key)
    by_study = _follow_filesets(state)
    studies, _ = state.collector.studies()
    yield from _study_fragments(state, studies, by_study)
    yield from state.unusable
    if state.notes:
        yield Fragment(source=common_source([s.name for s, _ in todo]) if todo else "",
                       format="dicom", kind="notes", issues=state.notes)


def _follow_filesets(state: _Reading) -> dict[str, list[Issue]]:
    """Find every referenced file (reading those not given), and report missing, mismatched and
    unreferenced files; returns the issues that belong to a study, by Study Instance UID."""
    by_study: dict[str, list[Issue]] = {}
    listings: dict = {}
    referenced: set[str] = set()
    for fs in state.filesets:
        state.notes.extend(fs.issues)
        for ref in fs.references:
            source = state.keys.get(ref.key) if ref.key else None
            if source is None and ref.key:
                path = find_on_disk(fs, ref, listings)
                if path is not None:
                    source = Source(name=str(path), format="dicom", path=path)
                    key = source_key(source)
                    if key is not None and key in state.keys:
                        source = state.keys[key]
                    else:
                        if key is not None:
                            state.keys[key] = source
                        state.take(source, key)
                    ref.key = key or ref.key
            ref.source = source
            if source is None:
                by_study.setdefault(ref.study_uid, []).append(missing_issue(fs, ref))
                continue
            referenced.add(ref.key)
            found = state.sop_by_key.get(ref.key)
            if ref.sop_uid and found and found != ref.sop_uid:
                state.notes.append(Issue(
                    "warning", "uid-mismatch",
                    f"the DICOMDIR record says {ref.file_id} holds SOP Instance UID "
                    f"{ref.sop_uid}, but the file holds {found}", Location(source=source.name)))
    roots = sorted((fs for fs in state.filesets if fs.root), key=lambda f: -len(f.root or ""))
    for key in state.dicom_keys:
        if key in referenced:
            continue
        fs = next((f for f in roots if f.root and under(key, f.root)), None)
        if fs is not None:
            state.notes.append(unreferenced_issue(state.keys[key].name, fs))
    return by_study


def _study_fragments(state: _Reading, studies: list[Study],
                     by_study: dict[str, list[Issue]]) -> Iterator[Fragment]:
    patients: dict[str, Study] = {}
    for study in studies:
        assert study.identity is not None
        patients.setdefault(study.identity.patient_id, study)
    if len(patients) > 1:
        labels = "; ".join(s.identity.info.label for s in patients.values() if s.identity)
        state.notes.append(Issue(
            "warning", "multiple-patients",
            f"the input holds {len(patients)} different patients, kept apart (one Bundle each): "
            f"{labels}", Location(source=common_source([s.source for s in studies]))))
    for dup in state.collector.duplicates:
        by_study.setdefault(dup.instance.study_uid, []).append(duplicate_issue(dup))
    noted: set[str] = set()
    dicomdirs: dict[str, set[str]] = {}  # the DICOMDIRs through which each study's files came
    for fs in state.filesets:
        for ref in fs.references:
            if ref.source is not None:
                dicomdirs.setdefault(ref.study_uid, set()).add(fs.source.name)
    for index, study in enumerate(studies, 1):
        identity = study.identity
        assert identity is not None
        extra = list(by_study.pop(study.uid, []))
        if identity.patient_id not in noted:
            noted.add(identity.patient_id)
            extra += [Issue(n.severity, n.code, n.message, Location(source=study.source, tag=n.tag))
                      for n in identity.notes]
            if identity.info.identity_removed:
                extra.append(Issue("information", "completeness",
                                   "the files are de-identified (Patient Identity Removed = YES)",
                                   Location(source=study.source, tag="(0012,0062)")))
            if identity.conflict:
                extra.append(Issue(
                    "warning", "identity-conflict",
                    f"Patient ID {identity.info.patient_id!r} also names {identity.conflict}, "
                    f"but {identity.info.label} differs in birth date or family name: kept as "
                    "two patients", Location(source=study.source, tag="(0010,0020)")))
        if study.shared_uid:
            extra.append(Issue(
                "error", "identity-conflict",
                f"Study Instance UID {study.uid} is used by files of different patients; "
                f"the files of {identity.info.label} are kept as a study of their own",
                Location(source=study.source, tag="(0020,000D)")))
        try:
            yield study_fragment(study, index, sorted(dicomdirs.get(study.uid, ())), extra)
        except Exception as exc:  # a defect here must not lose the other studies
            yield Fragment(source=study.source, format="dicom", kind="study", index=index,
                           unusable=True, issues=extra + [Issue(
                               "fatal", "internal",
                               f"medbundle failed on study {study.uid}: {type(exc).__name__}: "
                               f"{exc} (please report it)", Location(source=study.source))])
    for issues in by_study.values():  # about studies of which no file could be read
        state.notes.extend(issues)

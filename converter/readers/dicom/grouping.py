"""Files -> studies -> series -> instances, keeping only what the output needs from each file.

Each header is reduced at once to a small Instance record (UIDs, numbers, file name); the data set
itself is kept only for the first file of each series, of each study and of each distinct patient,
and for report documents. So memory grows by a few hundred bytes per file, whatever the image size.
A study is keyed by its Study Instance UID *and* its patient: files of two different patients that
share a Study Instance UID are never merged.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pydicom.dataset import Dataset

from ...fhir.ids import resource_id
from ...issues import Issue, Location
from ...vocabulary import table
from .patient import Identity, PatientInfo, decode, resolve, signature
from .values import ascii_value, int_value, is_uid, sequence, text_value

SOP_CLASS, SOP_INSTANCE = 0x00080016, 0x00080018
STUDY_UID, SERIES_UID = 0x0020000D, 0x0020000E
INSTANCE_NUMBER, IMAGE_LATERALITY = 0x00200013, 0x00200062
DOCUMENT_TITLE, CONCEPT_NAME, CODE_MEANING = 0x00420010, 0x0040A043, 0x00080104
REPORT_CLASSES = "dicom/report-sop-classes.csv"
MAPPED_TAGS = frozenset({SOP_CLASS, SOP_INSTANCE, STUDY_UID, SERIES_UID, INSTANCE_NUMBER,
                         IMAGE_LATERALITY, DOCUMENT_TITLE, CONCEPT_NAME})


@dataclass(slots=True)
class Instance:
    """One file as the ImagingStudy lists it."""

    source: str
    sop_uid: str
    sop_class: str
    number: int | None
    laterality: str
    study_uid: str = ""
    series_uid: str = ""
    title: str = ""  # for reports and documents: their title
    no_pixels: bool = False  # an image storage instance whose file holds no Pixel Data


@dataclass(slots=True)
class Series:
    """The files of one Series Instance UID (the first file's header stands for the series)."""

    uid: str
    header: Dataset
    instances: list[Instance] = field(default_factory=list)
    tags: set[int] = field(default_factory=set)  # every attribute seen in the series' files


@dataclass(slots=True)
class Report:
    """A Structured Report or encapsulated document, kept whole (it is small) to be mapped."""

    kind: str  # "sr" or "document"
    header: Dataset
    instance: Instance


@dataclass(slots=True)
class Study:
    """The files of one Study Instance UID and one patient."""

    uid: str
    header: Dataset  # the first file's header stands for the study
    source: str
    series: dict[str, Series] = field(default_factory=dict)
    reports: list[Report] = field(default_factory=list)
    identity: Identity | None = None
    shared_uid: bool = False  # another patient's files carry the same Study Instance UID

    @property
    def instances(self) -> list[Instance]:
        return [i for s in self.series.values() for i in s.instances]


@dataclass(slots=True)
class Duplicate:
    """A file whose SOP Instance UID was already read from another file."""

    instance: Instance
    first: Instance


class Collector:
    """Takes headers one by one and groups them; `studies()` resolves patients at the end."""

    def __init__(self) -> None:
        self._parts: dict[tuple[str, tuple], Study] = {}
        self._patients: dict[tuple, Dataset] = {}
        self._seen: dict[str, Instance] = {}
        self.duplicates: list[Duplicate] = []
        self.files = 0

    def add(self, name: str, ds: Dataset, no_pixels: bool = False
            ) -> list[Issue]:
        """Group one header; issues when it lacks what an instance needs (then it is not listed)."""
        loc = Location(source=name)
        meta = getattr(ds, "file_meta", None)
        sop = ascii_value(ds, SOP_INSTANCE) or (ascii_value(meta, 0x00020003) if meta else "")
        study_uid, series_uid = ascii_value(ds, STUDY_UID), ascii_value(ds, SERIES_UID)
        missing = [label for label, v in (("SOP Instance UID (0008,0018)", sop),
                                          ("Study Instance UID (0020,000D)", study_uid),
                                          ("Series Instance UID (0020,000E)", series_uid)) if not v]
        if missing:
            return [Issue("error", "missing-field",
                          f"no {', '.join(missing)}: not a usable DICOM instance; not converted",
                          loc)]
        bad = [v for v in (sop, study_uid, series_uid) if not is_uid(v)]
        if bad:
            return [Issue("error", "invalid-value",
                          f"UID {bad[0]!r} is not a valid DICOM UID; not converted", loc)]
        sop_class = ascii_value(ds, SOP_CLASS) or (ascii_value(meta, 0x00020002) if meta else "")
        inst = Instance(name, sop, sop_class, int_value(ds, INSTANCE_NUMBER),
                        ascii_value(ds, IMAGE_LATERALITY), study_uid, series_uid,
                        no_pixels=no_pixels)
        self.files += 1
        first = self._seen.get(sop)
        if first is not None:
            self.duplicates.append(Duplicate(inst, first))
            return []
        self._seen[sop] = inst
        sig = signature(ds)
        self._patients.setdefault(sig, ds)
        study = self._parts.get((study_uid, sig))
        if study is None:
            study = self._parts[(study_uid, sig)] = Study(study_uid, ds, name)
        series = study.series.get(series_uid)
        if series is None:
            series = study.series[series_uid] = Series(series_uid, ds)
        series.instances.append(inst)
        series.tags.update(ds.keys())
        kind = table(REPORT_CLASSES).get(sop_class)
        if kind is not None:
            inst.title = report_title(ds)
            study.reports.append(Report(kind["kind"], ds, inst))
        return []

    def studies(self) -> tuple[list[Study], dict[tuple, PatientInfo]]:
        """The studies, one per Study Instance UID and patient, in order of first appearance."""
        infos = {sig: decode(ds) for sig, ds in self._patients.items()}
        identities = resolve(infos)
        merged: dict[tuple[str, str], Study] = {}
        for (uid, sig), part in self._parts.items():
            identity = identities.get(sig)
            if identity is None:  # nothing names the patient: one patient per study
                identity = Identity(resource_id("Patient", "study", uid), infos[sig])
                identity.note(infos[sig])
            key = (uid, identity.patient_id)
            study = merged.get(key)
            if study is None:
                part.identity = identity
                merged[key] = part
                continue
            for series_uid, series in part.series.items():
                into = study.series.get(series_uid)
                if into is None:
                    study.series[series_uid] = series
                else:
                    into.instances.extend(series.instances)
                    into.tags.update(series.tags)
            study.reports.extend(part.reports)
        per_uid: dict[str, int] = {}
        for uid, _ in merged:
            per_uid[uid] = per_uid.get(uid, 0) + 1
        for (uid, _), study in merged.items():
            study.shared_uid = per_uid[uid] > 1
        return list(merged.values()), infos


def report_title(ds: Dataset) -> str:
    """The title of a report or document: Document Title, else its concept name's meaning."""
    title = text_value(ds, DOCUMENT_TITLE)
    if title:
        return title
    for item in sequence(ds, CONCEPT_NAME)[:1]:
        return text_value(item, CODE_MEANING)
    return ""

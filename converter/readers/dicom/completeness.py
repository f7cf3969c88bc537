"""The completeness report: what arrived, per series, and what is missing, doubled or unreadable.

Every study gets a summary and every series its instance count and Instance Number range; gaps in
the numbering, the same SOP Instance UID in two files, files a DICOMDIR references that are not
there, and DICOM files that no DICOMDIR references are reported with the files involved.
"""
from __future__ import annotations

from ...issues import Issue, Location
from .dicomdir import FileSet, Reference
from .grouping import Duplicate, Series, Study
from .values import ascii_value, int_value, text_value

MODALITY, SERIES_DESCRIPTION, SERIES_NUMBER = 0x00080060, 0x0008103E, 0x00200011


def ranges(numbers: list[int]) -> str:
    """Sorted whole numbers as compact ranges: [1, 2, 3, 7, 9, 10] -> "1-3, 7, 9-10"."""
    out: list[str] = []
    nums = sorted(set(numbers))
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        out.append(str(nums[i]) if i == j else f"{nums[i]}-{nums[j]}")
        i = j + 1
    return ", ".join(out)


def count(n: int, noun: str) -> str:
    """ "1 instance", "3 instances"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def missing_numbers(numbers: list[int]) -> list[int]:
    """The Instance Numbers absent between the lowest and the highest present."""
    present = set(numbers)
    if not present:
        return []
    return [n for n in range(min(present), max(present) + 1) if n not in present]


def series_label(series: Series) -> str:
    ds = series.header
    number = int_value(ds, SERIES_NUMBER)
    desc = text_value(ds, SERIES_DESCRIPTION)
    parts = [f"series {number}" if number is not None else "series (no number)",
             ascii_value(ds, MODALITY), f"'{desc}'" if desc else ""]
    return " ".join(p for p in parts if p) + f" [{series.uid}]"


def study_issues(study: Study) -> list[Issue]:
    """The summary of a study and of each of its series, with gaps and unnumbered instances."""
    loc = Location(source=study.source)
    instances = study.instances
    out = [Issue("information", "completeness",
                 f"study {study.uid}: {len(study.series)} series, "
                 f"{count(len(instances), 'instance')} received", loc)]
    for series in study.series.values():
        sloc = Location(source=series.instances[0].source)
        label = series_label(series)
        numbers = [i.number for i in series.instances if i.number is not None]
        unnumbered = len(series.instances) - len(numbers)
        span = f", Instance Numbers {ranges(numbers)}" if numbers else ""
        out.append(Issue("information", "completeness",
                         f"{label}: {count(len(series.instances), 'instance')}{span}", sloc))
        gaps = missing_numbers(numbers)
        if gaps:
            out.append(Issue("warning", "instance-gap",
                             f"{label}: Instance Number{'s' if len(gaps) > 1 else ''} "
                             f"{ranges(gaps)} {'are' if len(gaps) > 1 else 'is'} missing "
                             f"({len(gaps)} of {max(numbers) - min(numbers) + 1} between "
                             f"{min(numbers)} and {max(numbers)}): images may not have arrived",
                             Location(source=sloc.source, tag="(0020,0013)")))
        repeated = sorted({n for n in numbers if numbers.count(n) > 1}) if \
            len(set(numbers)) < len(numbers) else []
        if repeated:
            out.append(Issue("information", "completeness",
                             f"{label}: Instance Numbers {ranges(repeated)} are used by more than "
                             "one instance (different SOP Instance UIDs)",
                             Location(source=sloc.source, tag="(0020,0013)")))
        empty = [i for i in series.instances if i.no_pixels]
        if empty:
            out.append(Issue("warning", "truncated",
                             f"{label}: {count(len(empty), 'image instance')} without Pixel Data "
                             "(7FE0,0010): written without their image, or cut short exactly "
                             "between two elements; their headers are converted",
                             Location(source=empty[0].source, tag="(7FE0,0010)")))
        if unnumbered:
            out.append(Issue("information", "completeness",
                             f"{label}: {count(unnumbered, 'instance')} without Instance Number",
                             Location(source=sloc.source, tag="(0020,0013)")))
    return out


def duplicate_issue(dup: Duplicate) -> Issue:
    """The same SOP Instance UID read from a second file: listed once, the second file reported."""
    first = dup.first
    where = "" if (first.study_uid, first.series_uid) == (dup.instance.study_uid,
                                                          dup.instance.series_uid) \
        else f" (there in study {first.study_uid}, series {first.series_uid})"
    return Issue("warning", "duplicate-instance",
                 f"SOP Instance UID {dup.instance.sop_uid} was already read from "
                 f"{first.source}{where}; this copy is not listed again",
                 Location(source=dup.instance.source, tag="(0008,0018)"))


def missing_issue(fs: FileSet, ref: Reference) -> Issue:
    """A file the DICOMDIR references that is not there."""
    about = f", study {ref.study_uid}" if ref.study_uid else ""
    who = f", patient {ref.patient}" if ref.patient else ""
    return Issue("error", "not-found",
                 f"the DICOMDIR references {ref.file_id} ({ref.record_type or 'record'} "
                 f"{ref.sop_uid}{about}{who}), which is missing: that instance did not arrive",
                 Location(source=fs.source.name))


def unreferenced_issue(name: str, fs: FileSet) -> Issue:
    """A DICOM file inside a file-set's folder that its DICOMDIR does not list."""
    return Issue("warning", "unreferenced-file",
                 f"a DICOM file in the folder of {fs.source.name} that the DICOMDIR does not "
                 "reference; it is converted all the same", Location(source=name))

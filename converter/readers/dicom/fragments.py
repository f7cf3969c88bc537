"""One study -> one Fragment: Patient, ImagingStudy, Practitioners, reports, Provenance, issues."""
from __future__ import annotations

import os
import warnings

from ...fragment import Fragment
from ...issues import Issue, Location
from .completeness import study_issues
from .files import warning_issues
from .grouping import Study
from .imagingstudy import Built, imaging_study
from .patient import patient_resource
from .provenance import converter_device, provenance
from .reports import encapsulated_document, structured_report
from .unmapped import unmapped_issue


def common_source(names: list[str]) -> str:
    """The folder (or file) that holds all these files, to name a study in messages."""
    if len(set(names)) == 1:
        return names[0]
    try:
        return os.path.commonpath(names) or names[0]
    except ValueError:  # relative and absolute names mixed
        return names[0]


def study_fragment(study: Study, index: int, dicomdirs: list[str],
                   issues: list[Issue]) -> Fragment:
    """The Fragment of one study, with `issues` (DICOMDIR, patient notes...) added to its own."""
    assert study.identity is not None
    instances = study.instances
    source = common_source([i.source for i in instances])
    out = Built()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        patient = out.add(patient_resource(study.identity.info, study.identity.patient_id))
        assert patient is not None
        image_study = imaging_study(study, patient, out)
        assert image_study is not None
        targets = [image_study]
        for report in study.reports:
            build = structured_report if report.kind == "sr" else encapsulated_document
            made = build(report, patient, image_study, out.issues)
            if made:
                targets.append(made[0])
            for resource in made:
                out.add(resource)
    out.issues.extend(warning_issues(caught, Location(source=study.source)))
    if out.cut_times:
        out.issues.append(Issue(
            "information", "timezone-assumed",
            f"no Timezone Offset From UTC (0008,0201): {', '.join(sorted(set(out.cut_times)))} "
            "kept as dates only (the host's time zone is never assumed)",
            Location(source=study.source, tag="(0008,0201)")))
    device = converter_device()
    out.add(device)
    out.add(provenance(targets, instances, dicomdirs, device, study.uid))
    unmapped = unmapped_issue(study)
    all_issues = study_issues(study) + issues + out.issues + ([unmapped] if unmapped else [])
    return Fragment(source=source, format="dicom", kind="study", index=index,
                    resources=out.resources, issues=all_issues)

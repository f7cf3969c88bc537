"""Makes DICOM files with pydicom for the DICOM tests and bench (no tests here: a helper module).

Every UID is derived from the arguments, so the files, and the Bundles made from them, are the same
on every run.
"""
from __future__ import annotations

import io
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (CTImageStorage, ExplicitVRLittleEndian, JPEGBaseline8Bit,
                         PYDICOM_ROOT_UID)

ROOT = PYDICOM_ROOT_UID + "99."
PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"


def uid(*parts: object) -> str:
    """A valid DICOM UID made from small numbers: uid(1, 2, 3) -> '<root>1.2.3'."""
    return ROOT + ".".join(str(int(p)) for p in parts)


def instance(*, patient_id: str = "P1", name: str = "Doe^John", birth: str = "19700101",
             sex: str = "M", study: int = 1, series: int = 1, number: int | None = 1,
             sop: int | None = None, modality: str = "CT", charset: str | None = "ISO_IR 100",
             study_date: str = "20240102", study_time: str = "101500", tz: str | None = None,
             body_part: str | None = "CHEST", laterality: str | None = None,
             issuer: str | None = None, accession: str | None = "ACC1",
             description: str | None = "CT chest", pixels: int = 8,
             sop_class: str = CTImageStorage, **extra: object) -> Dataset:
    """An image instance; `extra` sets any other attribute by keyword."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    sop_uid = uid(study, series, sop if sop is not None else (number or 0))
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    if charset:
        ds.SpecificCharacterSet = charset
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate, ds.StudyTime = study_date, study_time
    ds.SeriesDate, ds.SeriesTime = study_date, study_time
    if tz is not None:
        ds.TimezoneOffsetFromUTC = tz
    if accession is not None:
        ds.AccessionNumber = accession
    ds.Modality = modality
    if description is not None:
        ds.StudyDescription = description
    ds.SeriesDescription = f"series {series}"
    ds.PatientName = name
    ds.PatientID = patient_id
    if issuer is not None:
        ds.IssuerOfPatientID = issuer
    ds.PatientBirthDate = birth
    ds.PatientSex = sex
    if body_part is not None:
        ds.BodyPartExamined = body_part
    ds.StudyInstanceUID = uid(study)
    ds.SeriesInstanceUID = uid(study, series)
    ds.StudyID = str(study)
    ds.SeriesNumber = series
    if number is not None:
        ds.InstanceNumber = number
    if laterality is not None:
        ds.Laterality = laterality
    for key, value in extra.items():
        setattr(ds, key, value)
    if pixels:
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows = ds.Columns = pixels
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.PixelData = b"\x00\x01" * (pixels * pixels)
    return ds


def encapsulated(ds: Dataset) -> Dataset:
    """The same image with its pixel data encapsulated (JPEG Baseline transfer syntax)."""
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelData = encapsulate([b"\xff\xd8" + b"\x11" * 300 + b"\xff\xd9"])
    ds["PixelData"].VR = "OB"
    return ds


def pdf_report(*, study: int = 1, series: int = 90, title: str = "Radiology report",
               data: bytes = b"%PDF-1.4\n%test\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
               **patient: object) -> Dataset:
    """An Encapsulated PDF instance in the study."""
    ds = instance(study=study, series=series, number=1, modality="DOC", sop_class=PDF_STORAGE,
                  pixels=0, body_part=None, **patient)
    ds.DocumentTitle = title
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.ContentDate, ds.ContentTime = ds.StudyDate, "113000"
    ds.EncapsulatedDocument = data + (b"\x00" if len(data) % 2 else b"")
    ds.EncapsulatedDocumentLength = len(data)
    return ds


def text_sr(*, study: int = 1, series: int = 91, findings: str = "No acute abnormality.",
            diameter: str = "3.50", **patient: object) -> Dataset:
    """A Basic Text SR: a title, a TEXT finding and a NUM measurement in mm."""
    ds = instance(study=study, series=series, number=1, modality="SR", sop_class=BASIC_TEXT_SR,
                  pixels=0, body_part=None, **patient)
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "VERIFIED"
    ds.ContentDate, ds.ContentTime = ds.StudyDate, "120000"
    ds.ConceptNameCodeSequence = [_code("18748-4", "LN", "Diagnostic imaging study")]
    observer = Dataset()
    observer.VerifyingObserverName = "Reader^Rita"
    observer.VerifyingOrganization = "Test Hospital"
    observer.VerificationDateTime = ds.StudyDate + "130000"
    ds.VerifyingObserverSequence = [observer]
    finding = Dataset()
    finding.RelationshipType, finding.ValueType = "CONTAINS", "TEXT"
    finding.ConceptNameCodeSequence = [_code("121071", "DCM", "Finding")]
    finding.TextValue = findings
    measure = Dataset()
    measure.RelationshipType, measure.ValueType = "CONTAINS", "NUM"
    measure.ConceptNameCodeSequence = [_code("81827009", "SCT", "Diameter")]
    value = Dataset()
    value.NumericValue = diameter
    value.MeasurementUnitsCodeSequence = [_code("mm", "UCUM", "millimeter")]
    measure.MeasuredValueSequence = [value]
    ds.ContentSequence = [finding, measure]
    return ds


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def to_bytes(ds: Dataset) -> bytes:
    """The Part 10 file (preamble, DICM, meta, data set) of a data set."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def write(ds: Dataset, path: Path) -> Path:
    """Write a data set as a Part 10 file, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_bytes(ds))
    return path


STRUCTURE_CODES = frozenset({"structure", "empty-value", "unresolved-reference",
                             "duplicate-fullurl", "not-fhir"})


def structure_errors(result) -> list:
    """The issues of a conversion that say the FHIR output itself is malformed."""
    return [i for i in result.issues if i.code in STRUCTURE_CODES and i.is_error]


def issues(result, code: str) -> list:
    """The issues of a conversion with this code."""
    return [i for i in result.issues if i.code == code]

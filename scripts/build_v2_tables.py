"""Derive medbundle's v2 vocabulary tables from the official HL7 V2-to-FHIR concept maps.

Reads the CSV exports of the V2-to-FHIR IG 1.0.0 (github HL7/v2-to-fhir, Apache-2.0) from
../shared/v2-to-fhir/mappings/codesystems and writes compact `code,target,display,system` tables to
mappings/hl7v2/tables/. Re-run it when the IG tables change; the output is committed so that the
installed tool never needs the IG sources. Usage: python scripts/build_v2_tables.py [IG_DIR]
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_IG = ROOT.parent / "shared" / "v2-to-fhir" / "mappings" / "codesystems"
OUT = ROOT / "mappings" / "hl7v2" / "tables"

# output name -> concept map file stem (between "HL7 Concept Map_ " and " - Sheet1.csv")
TABLES = {
    "0001-gender": "AdministrativeSex",
    "0002-marital-status": "MaritalStatus",
    "0004-encounter-class": "PatientClass[EncounterClass]",
    "0004-encounter-status": "PatientClass[EncounterStatus]",
    "0007-admission-type": "AdmissionType",
    "0052-diagnosis-type": "DiagnosisType",
    "0063-relationship": "Relationship",
    "0078-interpretation": "InterpretationCodes",
    "0085-observation-status": "ObservationResultStatusCodesInterpretation",
    "0112-discharge-disposition": "DischargeDisposition",
    "0123-report-status": "ResultStatus[Non-Queries]",
    "0127-allergy-category": "AllergenType[AllergyIntoleranceCategory]",
    "0128-allergy-criticality": "AllergySeverity[AllergyIntolerance.criticality]",
    "0128-reaction-severity": "AllergySeverity[AllergyIntolerance.reaction.severity]",
    "0131-contact-role": "ContactRole",
    "0162-route": "RouteOfAdministration",
    "0190-address-use": "AddressType[Use]",
    "0190-address-type": "AddressType[Type]",
    "0200-name-use": "NameType",
    "0201-telecom-use": "TelecommunicationUseCode",
    "0202-telecom-system": "TelecommunicationEquipmentType",
    "0203-identifier-type": "IdentifierType",
    "0322-completion-status": "CompletionStatus",
    "0354-message-structure": "MessageStructure",
    "0487-specimen-type": "SpecimenType",
    "0038-order-status": "OrderStatus",
    "0119-order-control": "OrderControlCode[ServiceRequest.status]",
    "0136-yes-no": "YesNoIndicator",
    "0136-specimen-availability": "YesNoIndicator[AvailabilityStatus]",
    "0278-appointment-status": "FillerStatusCodes[Appointment]",
}


def convert(src: Path, dst: Path) -> int:
    rows = list(csv.reader(src.open(encoding="utf-8-sig")))
    out = []
    for row in rows[2:]:
        row = row + [""] * (12 - len(row))
        code, text = row[0].strip(), row[1].strip()
        if not code:
            continue  # FHIR-only codes with no v2 source
        target = row[6].strip()
        display = row[8].strip() or row[7].strip()
        system = row[9].strip()
        condition = row[3].strip()
        if condition and "ERROR" in condition.upper():
            target, display, system = "!error", text, ""
        out.append([code, target, display, system, text])
    dst.parent.mkdir(parents=True, exist_ok=True)
    with dst.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["code", "target", "display", "system", "v2_text"])
        w.writerows(out)
    return len(out)


def main() -> None:
    ig = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_IG
    for name, stem in TABLES.items():
        src = ig / f"HL7 Concept Map_ {stem} - Sheet1.csv"
        n = convert(src, OUT / f"{name}.csv")
        print(f"{name}: {n} codes from {src.name}")


if __name__ == "__main__":
    main()

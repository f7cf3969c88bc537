"""Write samples/cross-source/: one person's records as four sources would send them.

Eve Everywoman (born 1970-06-01, MRN 1032702 of authority 1.2.3.4.5) appears in
- adt.hl7: an ADT^A01 admission (v2.5.1) with a penicillin allergy, a diagnosis and a procedure;
- oru.hl7: the HL7 V2-to-FHIR IG's ORU^R01 sample (IgE results), unchanged (Apache-2.0);
- ccd.xml: a C-CDA R2.1 CCD from another clinic, without the MRN, restating the allergy, the
  diagnosis and one IgE result, and adding an immunization;
- dicom/: a two-image CT study made with pydicom, with the MRN (issuer 1.2.3.4.5 as in the ADT)
  and the name in DICOM form.
The ADT and the DICOM study share an identifier; the ORU (another lab's number) and the CCD (the
clinic's own number, the name in capitals) match by name, birth date and sex. The allergy, the
diagnosis and the IgE report and result are stated twice and must come out once.
Also writes, next to it, the merged Bundle (samples/cross-source-bundle.json) and its summaries
(samples/cross-source-summary.html, -summary-zh.html, -summary.pdf).
Run: python scripts/make_cross_source_sample.py  (deterministic: same files every time)
"""
from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "samples" / "cross-source"
IG_ORU = ROOT / "samples" / "hl7v2" / "ORU_R01.hl7"

ADT = "\r".join([
    "MSH|^~\\&|ADTApp^1.2.3.4.5.2^ISO|EastHosp^1.2.3.4.5.1^ISO|RcvApp|RcvFac|"
    "20150601135823+0100||ADT^A01^ADT_A01|XS-ADT-1|P|2.5.1",
    "EVN|A01|20150601135823+0100",
    "PID|1||1032702^^^V2FHIR&1.2.3.4.5&ISO^MR||Everywoman^Eve^L||19700601|F|||"
    "1000 House Lane^Appt 123^Ann Arbor^MI^99999^USA^H||^PRN^PH^^1^555^5558473",
    "PV1|1|I|WARD^101^01^EastHosp|||||214425290^Doctor^Emory^^^Dr^^^NPI&2.16.840.1.113883.4.6"
    "&ISO|||||||||||V-2015-77^^^EastHosp&1.2.3.4.5.1&ISO^VN|||||||||||||||||||||||||"
    "201506011400+0100|201506031000+0100",
    "AL1|1|DA^Drug allergy^HL70127|70618^Penicillin^RXNORM|SV^Severe^HL70128|Hives",
    "DG1|1||195967001^Asthma^SCT||20150601|A",
    "PR1|1||23426006^Measurement of respiratory function^SCT||201506021100+0100",
]) + "\r"

CCD = """<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <realmCode code="US"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <templateId root="2.16.840.1.113883.10.20.22.1.1" extension="2015-08-01"/>
  <templateId root="2.16.840.1.113883.10.20.22.1.2" extension="2015-08-01"/>
  <id root="2.25.1959300000000000000000000000000001"/>
  <code code="34133-9" codeSystem="2.16.840.1.113883.6.1" displayName="Summary of episode note"/>
  <title>Continuity of Care Document, West Clinic</title>
  <effectiveTime value="20150710093000+0100"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <languageCode code="en-US"/>
  <recordTarget>
    <patientRole>
      <id root="2.16.840.1.113883.19.5.99999.2" extension="WC-5531"/>
      <addr use="HP"><streetAddressLine>1000 House Lane</streetAddressLine><city>Ann Arbor</city>
        <state>MI</state><postalCode>99999</postalCode><country>US</country></addr>
      <telecom use="HP" value="tel:+1(555)555-8473"/>
      <patient>
        <name use="L"><given>EVE</given><family>EVERYWOMAN</family></name>
        <administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>
        <birthTime value="19700601"/>
      </patient>
    </patientRole>
  </recordTarget>
  <author>
    <time value="20150710093000+0100"/>
    <assignedAuthor>
      <id root="2.16.840.1.113883.4.6" extension="1234567893"/>
      <assignedPerson><name><given>Wanda</given><family>West</family></name></assignedPerson>
    </assignedAuthor>
  </author>
  <custodian><assignedCustodian><representedCustodianOrganization>
    <id root="2.16.840.1.113883.19.5.99999.2"/><name>West Clinic</name>
  </representedCustodianOrganization></assignedCustodian></custodian>
  <documentationOf><serviceEvent classCode="PCPR">
    <effectiveTime><low value="20150101"/><high value="20150710"/></effectiveTime>
  </serviceEvent></documentationOf>
  <component><structuredBody>
    <component><section>
      <templateId root="2.16.840.1.113883.10.20.22.2.6.1" extension="2015-08-01"/>
      <code code="48765-2" codeSystem="2.16.840.1.113883.6.1"/>
      <title>Allergies</title>
      <text><table><tbody><tr><td ID="allergy1">Penicillin: hives, severe</td></tr></tbody></table></text>
      <entry><act classCode="ACT" moodCode="EVN">
        <templateId root="2.16.840.1.113883.10.20.22.4.30" extension="2015-08-01"/>
        <id root="2.25.1959300000000000000000000000000002"/>
        <code code="CONC" codeSystem="2.16.840.1.113883.5.6"/>
        <statusCode code="active"/>
        <effectiveTime><low value="20150601"/></effectiveTime>
        <entryRelationship typeCode="SUBJ"><observation classCode="OBS" moodCode="EVN">
          <templateId root="2.16.840.1.113883.10.20.22.4.7" extension="2014-06-09"/>
          <id root="2.25.1959300000000000000000000000000003"/>
          <code code="ASSERTION" codeSystem="2.16.840.1.113883.5.4"/>
          <text><reference value="#allergy1"/></text>
          <statusCode code="completed"/>
          <effectiveTime><low value="20150601"/></effectiveTime>
          <value xsi:type="CD" code="416098002" codeSystem="2.16.840.1.113883.6.96"
                 displayName="Allergy to drug"/>
          <participant typeCode="CSM"><participantRole classCode="MANU"><playingEntity classCode="MMAT">
            <code code="70618" codeSystem="2.16.840.1.113883.6.88" displayName="Penicillin"/>
          </playingEntity></participantRole></participant>
        </observation></entryRelationship>
      </act></entry>
    </section></component>
    <component><section>
      <templateId root="2.16.840.1.113883.10.20.22.2.5.1" extension="2015-08-01"/>
      <code code="11450-4" codeSystem="2.16.840.1.113883.6.1"/>
      <title>Problems</title>
      <text>Asthma, since June 2015</text>
      <entry><act classCode="ACT" moodCode="EVN">
        <templateId root="2.16.840.1.113883.10.20.22.4.3" extension="2015-08-01"/>
        <id root="2.25.1959300000000000000000000000000004"/>
        <code code="CONC" codeSystem="2.16.840.1.113883.5.6"/>
        <statusCode code="active"/>
        <effectiveTime><low value="20150601"/></effectiveTime>
        <entryRelationship typeCode="SUBJ"><observation classCode="OBS" moodCode="EVN">
          <templateId root="2.16.840.1.113883.10.20.22.4.4" extension="2015-08-01"/>
          <id root="2.25.1959300000000000000000000000000005"/>
          <code code="55607006" codeSystem="2.16.840.1.113883.6.96" displayName="Problem"/>
          <statusCode code="completed"/>
          <effectiveTime><low value="20150601"/></effectiveTime>
          <value xsi:type="CD" code="195967001" codeSystem="2.16.840.1.113883.6.96"
                 displayName="Asthma"/>
        </observation></entryRelationship>
      </act></entry>
    </section></component>
    <component><section>
      <templateId root="2.16.840.1.113883.10.20.22.2.3.1" extension="2015-08-01"/>
      <code code="30954-2" codeSystem="2.16.840.1.113883.6.1"/>
      <title>Results</title>
      <text>IgE Blue Grass Kentucky 3.9 kU/L (2015-06-01)</text>
      <entry><organizer classCode="BATTERY" moodCode="EVN">
        <templateId root="2.16.840.1.113883.10.20.22.4.1" extension="2015-08-01"/>
        <id root="2.25.1959300000000000000000000000000006"/>
        <code code="51523-9" codeSystem="2.16.840.1.113883.6.1" displayName="Grass Pollen Mix"/>
        <statusCode code="completed"/>
        <effectiveTime value="20150601160800+0100"/>
        <component><observation classCode="OBS" moodCode="EVN">
          <templateId root="2.16.840.1.113883.10.20.22.4.2" extension="2015-08-01"/>
          <id root="2.25.1959300000000000000000000000000007"/>
          <code code="6153-1" codeSystem="2.16.840.1.113883.6.1"
                displayName="IgE Blue Grass Kentucky"/>
          <statusCode code="completed"/>
          <effectiveTime value="20150601160800+0100"/>
          <value xsi:type="PQ" value="3.9" unit="kU/L"/>
        </observation></component>
      </organizer></entry>
    </section></component>
    <component><section>
      <templateId root="2.16.840.1.113883.10.20.22.2.2.1" extension="2015-08-01"/>
      <code code="11369-6" codeSystem="2.16.840.1.113883.6.1"/>
      <title>Immunizations</title>
      <text>Influenza vaccine, 2015-01-15</text>
      <entry><substanceAdministration classCode="SBADM" moodCode="EVN" negationInd="false">
        <templateId root="2.16.840.1.113883.10.20.22.4.52" extension="2015-08-01"/>
        <id root="2.25.1959300000000000000000000000000008"/>
        <statusCode code="completed"/>
        <effectiveTime value="20150115"/>
        <consumable><manufacturedProduct classCode="MANU">
          <templateId root="2.16.840.1.113883.10.20.22.4.54" extension="2014-06-09"/>
          <manufacturedMaterial>
            <code code="141" codeSystem="2.16.840.1.113883.12.292"
                  displayName="Influenza, seasonal, injectable"/>
          </manufacturedMaterial>
        </manufacturedProduct></consumable>
      </substanceAdministration></entry>
    </section></component>
  </structuredBody></component>
</ClinicalDocument>
"""


def write_dicom(folder: Path) -> None:
    """A CT study of two images: MRN and issuer as in the v2 messages, name in DICOM PN form."""
    from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

    study = "1.2.826.0.1.3680043.10.1959.1.1"
    series = study + ".1"
    folder.mkdir(parents=True, exist_ok=True)
    for n in (1, 2):
        sop = f"{series}.{n}"
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = sop
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = "1.2.826.0.1.3680043.10.1959"
        ds = FileDataset(str(folder / f"IM{n:04d}"), {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, sop
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.PatientName = "EVERYWOMAN^EVE^L"
        ds.PatientID = "1032702"
        ds.IssuerOfPatientID = "V2FHIR"
        issuer = Dataset()
        issuer.UniversalEntityID, issuer.UniversalEntityIDType = "1.2.3.4.5", "ISO"
        ds.IssuerOfPatientIDQualifiersSequence = [issuer]
        ds.PatientBirthDate, ds.PatientSex = "19700601", "F"
        ds.StudyDate, ds.StudyTime, ds.TimezoneOffsetFromUTC = "20150602", "093000", "+0100"
        ds.AccessionNumber = "ACC-2015-0602"
        ds.Modality, ds.BodyPartExamined = "CT", "CHEST"
        ds.StudyDescription, ds.SeriesDescription = "CT chest", "Axial 5 mm"
        ds.ReferringPhysicianName = "Doctor^Emory"
        ds.SeriesNumber, ds.InstanceNumber = 1, n
        ds.Rows = ds.Columns = 4
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit, ds.PixelRepresentation, ds.SamplesPerPixel = 15, 0, 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.PixelData = bytes(32)
        ds.save_as(folder / f"IM{n:04d}", enforce_file_format=True)


# The summaries are dated as if asked for on this day, so that the recency marks show (and the
# files stay the same from run to run).
SUMMARY_DAY = date(2016, 3, 1)


def write_summaries() -> None:
    """The sample's Bundle and its summary (HTML in English and Chinese, PDF in both languages)."""
    from converter import convert, summarize
    from converter.writers.json import dumps
    from converter.writers.outcome import operation_outcome

    os.chdir(ROOT)  # sources are named by relative paths in the output, as a user would type them
    result = convert(Path("samples") / "cross-source", timestamp="2016-03-01T09:00:00Z")
    bundle, outcome = result.bundle, operation_outcome(result.issues)
    target = ROOT / "samples"
    (target / "cross-source-bundle.json").write_bytes(dumps(bundle))
    for name, fmt, lang in (("summary.html", "html", "en"), ("summary-zh.html", "html", "zh"),
                            ("summary.pdf", "pdf", "en+zh")):
        out = summarize(bundle, format=fmt, lang=lang, today=SUMMARY_DAY, outcome=outcome)
        data = out if isinstance(out, bytes) else out.encode("utf-8")
        (target / f"cross-source-{name}").write_bytes(data)


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    (OUT / "adt.hl7").write_bytes(ADT.encode("utf-8"))
    shutil.copyfile(IG_ORU, OUT / "oru.hl7")
    (OUT / "ccd.xml").write_text(CCD, encoding="utf-8")
    write_dicom(OUT / "dicom")
    write_summaries()
    print(f"wrote {OUT} and samples/cross-source-*")


if __name__ == "__main__":
    main()

"""Per segment family: field values from corpus messages reach the right FHIR elements."""
from __future__ import annotations

import base64
from decimal import Decimal

from converter import convert

from conftest import HL7_CORPUS, by_ref, one, resources

MS = HL7_CORPUS / "ms-fhir-converter"


def test_pid_patient_demographics():
    b = convert(HL7_CORPUS / "test_conversions_ORU_R01.hl7").bundle
    p = one(b, "Patient")
    assert p["identifier"][0]["value"] == "1032702"
    assert p["identifier"][0]["type"]["coding"][0]["code"] == "MR"
    assert p["name"][0] == {"use": "official", "family": "Everywoman", "given": ["Eve", "L"],
                            "prefix": ["Dr"], "suffix": ["Jr"],
                            "period": {"start": "2000-09-09", "end": "2030-12-31"}}
    assert p["name"][1]["use"] == "maiden"
    assert p["gender"] == "female"
    # PID-7 197006010912 has no offset: the date only, never the host's zone
    assert p["birthDate"] == "1970-06-01"
    assert "_birthDate" not in p
    assert p["address"][0]["city"] == "Ann Arbor" and p["address"][0]["line"] == [
        "1000 House Lane", "Appt 123"]
    emails = [t for t in p["telecom"] if t["system"] == "email"]
    assert emails == [{"system": "email", "value": "eve@test.test", "use": "home"}]
    assert p["maritalStatus"]["coding"][0]["code"] == "M"


def test_obr_obx_report_and_observations():
    b = convert(HL7_CORPUS / "test_conversions_ORU_R01.hl7").bundle
    report = one(b, "DiagnosticReport")
    assert report["status"] == "final"
    assert report["code"]["coding"][0] == {"system": "http://loinc.org", "code": "51523-9",
                                           "display": "Grass Pollen Mix"}
    results = [by_ref(b, r) for r in report["result"]]
    assert [o["code"]["coding"][0]["code"] for o in results] == ["6153-1", "6041-8", "6265-3"]
    first = results[0]
    assert first["valueQuantity"]["value"] == Decimal("3.9")
    assert first["valueQuantity"]["unit"] == "kU/L"
    assert first["referenceRange"][0]["text"] == "<0.10"
    assert first["referenceRange"][0]["high"]["value"] == Decimal("0.10")
    assert first["interpretation"][0]["coding"][0]["code"] == "A"
    assert first["status"] == "final"
    assert first["category"][0]["coding"][0]["code"] == "laboratory"
    # SN "<0.10" -> a Quantity with comparator
    assert results[2]["valueQuantity"] == {"value": Decimal("0.10"), "comparator": "<",
                                           "unit": "kU/L", "system": "http://unitsofmeasure.org",
                                           "code": "kU/L"}
    request = by_ref(b, report["basedOn"][0])
    assert request["resourceType"] == "ServiceRequest"
    # NTE under OBR: a note of the order (R4 DiagnosticReport has no note)
    assert request["note"][0]["text"] == "Allergy test interpretations are subjective."


def test_pv1_encounter():
    b = convert(HL7_CORPUS / "test_conversions_ORU_R01.hl7").bundle
    enc = one(b, "Encounter")
    assert enc["class"]["code"] == "EMER"
    assert enc["class"]["system"] == "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    assert enc["identifier"][0]["value"] == "81456267"
    attender = enc["participant"][0]
    assert attender["type"][0]["coding"][0]["code"] == "ATND"
    assert by_ref(b, attender["individual"])["name"][0]["family"] == "Jones"


def test_al1_dg1_pr1_nk1_in1_from_adt():
    b = convert(MS / "ADT-A01-01.hl7").bundle
    allergy = one(b, "AllergyIntolerance")
    assert allergy["code"]["coding"][0]["code"] == "P"
    assert allergy["code"]["coding"][0]["display"] == "PENICILLIN"
    assert allergy["category"] == ["environment"]  # AL1-2 EA
    assert allergy["clinicalStatus"]["coding"][0]["code"] == "active"
    cond = one(b, "Condition")
    assert cond["code"]["coding"][0] == {"system": "http://snomed.info/sct", "code": "422504002",
                                         "display": "Ischemic stroke(disorder)"}
    assert cond["onsetDateTime"] == "2004-01-25T11:40:25+04:20"
    assert cond["category"][0]["coding"][0]["code"] == "encounter-diagnosis"
    enc = one(b, "Encounter")
    assert enc["diagnosis"][0]["use"]["coding"][0]["code"] == "AD"
    assert by_ref(b, enc["diagnosis"][0]["condition"]) is not None
    proc = one(b, "Procedure")
    assert proc["code"]["coding"][0]["code"] == "76164006"
    assert proc["performedDateTime"] == "2005-01-25T11:40:00+01:00"
    # NK1's next of kin, and IN1-16's insured (a spouse of another name)
    kin, insured = resources(b, "RelatedPerson")
    assert kin["name"][0]["given"][0] == "ADAM"
    cov = one(b, "Coverage")
    assert by_ref(b, cov["payor"][0])["name"] == "Blue Cross Blue Shield of Texas"
    assert by_ref(b, cov["subscriber"]) is insured and insured["name"][0]["family"] == "Doe"


def test_rxa_rxr_immunization():
    b = convert(MS / "VXU-V04-01.hl7").bundle
    imm = one(b, "Immunization")
    assert imm["vaccineCode"]["coding"][0] == {"system": "http://hl7.org/fhir/sid/ndc",
                                               "code": "49281021588", "display": "TENIVAC"}
    assert imm["occurrenceDateTime"] == "2021-08-18"
    assert imm["doseQuantity"]["value"] == Decimal("0.5")
    assert imm["status"] == "completed"
    assert imm["lotNumber"] == "315841"
    assert imm["expirationDate"] == "2021-12-16"
    assert imm["route"]["coding"][0]["code"] == "C28161"
    assert imm["site"]["coding"][0]["code"] == "RD"
    assert by_ref(b, imm["manufacturer"])["name"] == "Sanofi Pasteur"


def test_mdm_document_reference_carries_text():
    b = convert(HL7_CORPUS / "test_conversions_MDM_T02.hl7").bundle
    doc = one(b, "DocumentReference")
    assert doc["content"], doc
    assert doc["subject"]["reference"] == f"urn:uuid:{one(b, 'Patient')['id']}"


def test_txa_activity_time_is_read_and_reported_once():
    """TXA-4 gives DocumentReference.context.period.start (and date, with a zone); a time without
    offset is reported once, not once per element it feeds."""
    result = convert(HL7_CORPUS / "test_conversions_MDM_T02.hl7")
    doc = one(result.bundle, "DocumentReference")
    assert doc["context"]["period"]["start"] == "2023-08-20"
    assert "date" not in doc
    notes = [i for i in result.issues if i.location.field == "TXA-4"]
    assert [i.code for i in notes] == ["timezone-assumed"]


def test_no_issue_is_reported_twice_and_repairs_name_their_segment():
    """Over the corpus, no conversion reports one issue twice. A Practitioner made from PV1-7 and
    another from PV2-13 (ORU_R01) each have their code repair reported at their own segment; both
    were reported at the message alone, two identical lines."""
    from collections import Counter

    for path in sorted(HL7_CORPUS.rglob("*")):
        if path.is_file():
            issues = Counter(str(i) for i in convert(path).issues)
            assert [text for text, n in issues.items() if n > 1] == [], path.name
    notes = [i for i in convert(HL7_CORPUS / "test_conversions_ORU_R01.hl7").issues
             if i.code == "unknown-code" and i.message.startswith("Practitioner.")]
    assert sorted(i.location.segment for i in notes) == ["PV1", "PV2"]


def _msg(*segments: str, terminator: str = "\r") -> bytes:
    return (terminator.join(segments) + terminator).encode("utf-8")


MSH = "MSH|^~\\&|LAB|HOSP|EHR|HOSP|202401021030+0100||ORU^R01^ORU_R01|MSG1|P|2.5.1"


def test_escapes_decimals_and_components():
    data = _msg(MSH, "PID|1||42^^^HOSP^MR||O\\T\\Brien^Mary||19800101|F",
                "OBR|1||F1|2345-7^Glucose^LN|||202401020800+0100||||||||||||||||||F",
                "OBX|1|NM|2345-7^Glucose^LN||1.50|mg/dL^mg/dL^UCUM|70-99|H|||F",
                "NTE|1||line one\\.br\\line two \\F\\ pipe \\X41\\",
                "OBX|2|NM|8867-4^Heart rate^LN||60~120|/min^/min^UCUM|||||F")
    b = convert(data).bundle
    assert one(b, "Patient")["name"][0]["family"] == "O&Brien"
    obs = resources(b, "Observation")
    assert obs[0]["valueQuantity"]["value"] == Decimal("1.50")
    assert str(obs[0]["valueQuantity"]["value"]) == "1.50"
    assert obs[0]["referenceRange"][0]["low"]["value"] == Decimal("70")
    assert obs[0]["effectiveDateTime"] == "2024-01-02T08:00:00+01:00"
    assert obs[0]["note"][0]["text"] == "line one\nline two | pipe A"
    # repeated OBX-5 -> one Observation with a component per repetition
    assert [c["valueQuantity"]["value"] for c in obs[1]["component"]] == [60, 120]
    from converter.writers.json import dumps
    assert b'"value": 1.50' in dumps(obs[0])


def test_line_endings_bom_mllp_and_batches_give_the_same_bundle():
    segs = (MSH, "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F",
            "OBR|1||F1|2345-7^Glucose^LN|||202401020800+0100||||||||||||||||||F",
            "OBX|1|NM|2345-7^Glucose^LN||95|mg/dL|||||F")
    plain = convert(_msg(*segs)).bundle
    for variant in (_msg(*segs, terminator="\n"), _msg(*segs, terminator="\r\n"),
                    b"\xef\xbb\xbf" + _msg(*segs), b"\x0b" + _msg(*segs) + b"\x1c\r",
                    _msg("FHS|^~\\&", "BHS|^~\\&", *segs, "BTS|1", "FTS|1")):
        assert convert(variant).bundle == plain


def test_files_joined_with_their_byte_order_marks_stay_separate_messages():
    """`cat a.hl7 b.hl7` where each file starts with a BOM (27 corpus files do): the second MSH
    must not be hidden by the mark and folded into the first message."""
    a = (MSH, "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F")
    b_ = (MSH.replace("MSG1", "MSG2"), "PID|1||43^^^HOSP^MR||Roe^Rick||19700101|M")
    result = convert(b"\xef\xbb\xbf" + _msg(*a) + b"\xef\xbb\xbf" + _msg(*b_))
    assert result.fragments == 2 and len(result.bundles) == 2
    assert [i.location.line for i in result.issues if "byte-order" in i.message] == [3]
    assert not [i for i in result.issues if "joined to the previous" in i.message]


def test_two_messages_one_saying_deceased_the_other_when_give_one_valid_patient():
    """PID-30 'Y' (deceasedBoolean) in one message, PID-29 (deceasedDateTime) in the next: the
    merged Patient keeps the first (deceased[x] holds one type; both made the Bundle invalid)."""
    pid = "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F" + "|" * 20
    first = _msg(MSH, pid + "||Y")  # PID-30
    second = _msg(MSH.replace("MSG1", "MSG2"), pid + "|202301020304+0100")  # PID-29
    result = convert(first + second)
    patient = one(result.bundle, "Patient")
    assert patient["deceasedBoolean"] is True and "deceasedDateTime" not in patient
    assert result.ok, [str(i) for i in result.issues if i.is_error]


def test_many_messages_one_bundle_per_patient():
    a = (MSH, "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F")
    b_ = (MSH.replace("MSG1", "MSG2"), "PID|1||43^^^HOSP^MR||Roe^Rick||19700101|M")
    result = convert(_msg(*a) + _msg(*b_) + _msg(*a).replace(b"MSG1", b"MSG3"))
    assert len(result.bundles) == 2
    assert [one(x, "Patient")["name"][0]["family"] for x in result.bundles] == ["Doe", "Roe"]
    assert len(resources(result.bundles[0], "MessageHeader")) == 2


def test_gb18030_chinese_name_survives():
    msh = MSH + "||||||GB 18030-2000"
    data = (msh + "\rPID|1||88^^^HOSP^MR||王^小明||19900101|M\r").encode("gb18030")
    b = convert(data).bundle
    assert one(b, "Patient")["name"][0] == {"family": "王", "given": ["小明"]}


def test_utf8_declared_and_latin1():
    data = (MSH + "||||||8859/1\rPID|1||9^^^H^MR||Müller^Jörg||19900101|M\r").encode("latin-1")
    assert one(convert(data).bundle, "Patient")["name"][0]["family"] == "Müller"


def test_time_without_offset_is_cut_to_date_and_reported():
    data = _msg(MSH.replace("202401021030+0100", "202401021030"),
                "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F", "PV1|1|I|||||||||||||||||V1|||||"
                "||||||||||||||||||||202401020900")
    result = convert(data)
    enc = one(result.bundle, "Encounter")
    assert enc["period"]["start"] == "2024-01-02"
    assert any(i.code == "timezone-assumed" and i.location.field == "PV1-44"
               for i in result.issues)


def test_z_segments_and_unmapped_fields_are_reported():
    data = _msg(MSH, "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F" + "|" * 25 + "X",
                "ZPI|1|custom stuff")
    result = convert(data)
    z = [i for i in result.issues if i.code == "unmapped-segment" and i.location.segment == "ZPI"]
    assert z and z[0].location.line == 3
    assert any(i.code == "unmapped-field" and i.location.field == "PID-33" for i in result.issues)


def test_deterministic_ids_and_bytes():
    from converter.writers.json import dumps

    path = MS / "ADT-A01-01.hl7"
    assert dumps(convert(path).bundle) == dumps(convert(path).bundle)
    ids = {e["resource"]["id"] for e in convert(path).bundle["entry"]}
    assert len(ids) == len(convert(path).bundle["entry"])


def test_transaction_bundle_uses_conditional_updates():
    b = convert(HL7_CORPUS / "test_conversions_ORU_R01.hl7", bundle_type="transaction").bundle
    assert b["type"] == "transaction"
    patient_entry = next(e for e in b["entry"] if e["resource"]["resourceType"] == "Patient")
    assert patient_entry["request"]["method"] == "PUT"
    assert patient_entry["request"]["url"].startswith("Patient?identifier=") or \
        patient_entry["request"]["url"].startswith("Patient/")
    report_entry = next(e for e in b["entry"]
                        if e["resource"]["resourceType"] == "DiagnosticReport")
    assert report_entry["request"]["url"].startswith("DiagnosticReport?identifier=urn:oid:")


def test_ed_report_attachment_is_base64():
    data = _msg(MSH, "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F",
                "OBR|1||F1|11502-2^Lab report^LN|||202401020800+0100||||||||||||||||||F",
                "OBX|1|TX|11502-2^Lab report^LN||First line of the report||||||F",
                "OBX|2|TX|11502-2^Lab report^LN||Second line||||||F")
    b = convert(data).bundle
    report = one(b, "DiagnosticReport")
    text = base64.b64decode(report["presentedForm"][0]["data"]).decode()
    assert text == "First line of the report\nSecond line"
    assert not resources(b, "Observation")


def test_sch_and_resources_to_appointment():
    result = convert(HL7_CORPUS / "test_conversions_SIU_S12.hl7")
    b = result.bundle
    appt = one(b, "Appointment")
    assert appt["status"] == "booked"  # no SCH-25: from the trigger S12
    assert [i["value"] for i in appt["identifier"]] == ["1209", "13030"]
    assert appt["minutesDuration"] == 15
    # SCH-11 times have no offset; an instant is required, so MSH-7's +0100 is used, and said
    assert appt["start"] == "2015-06-13T14:00:00+01:00"
    assert appt["end"] == "2016-06-21T14:15:00+01:00"
    assert any(i.code == "timezone-assumed" and "MSH-7" in i.message and
               i.location.field == "SCH-11.4" for i in result.issues)
    actors = [p["actor"] for p in appt["participant"]]
    assert actors[0]["reference"] == f"urn:uuid:{one(b, 'Patient')['id']}"
    assert {"display": "Pullen, Jeri"} in actors  # AIG
    assert any(by_ref(b, a)["resourceType"] == "Location" for a in actors if "reference" in a)


def test_appointment_end_from_duration_and_cancel_status():
    data = _msg("MSH|^~\\&|S|F|R|F|202401011200+0000||SIU^S15^SIU_S12|9|P|2.5.1",
                "SCH|A1|F1|||||||30|min^minutes|^^30^202402011000+0100",
                "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F")
    appt = one(convert(data).bundle, "Appointment")
    assert appt["status"] == "cancelled"
    assert appt["start"] == "2024-02-01T10:00:00+01:00"
    assert appt["end"] == "2024-02-01T10:30:00+01:00"


def test_rxa_outside_vaccination_is_a_medication_administration():
    data = _msg("MSH|^~\\&|P|F|R|F|202401011200+0000||RAS^O17^RAS_O17|7|P|2.5.1",
                "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F",
                "ORC|RE||F77^PHARM",
                "RXA|0|1|202401011000+0000|202401011030+0000|313782^Acetaminophen 325 MG^RXNORM"
                "|2|TAB^tablet||||||||||||CP",
                "RXR|PO^Oral^HL70162")
    b = convert(data).bundle
    admin = one(b, "MedicationAdministration")
    assert admin["medicationCodeableConcept"]["coding"][0]["system"] == \
        "http://www.nlm.nih.gov/research/umls/rxnorm"
    assert admin["effectivePeriod"] == {"start": "2024-01-01T10:00:00+00:00",
                                        "end": "2024-01-01T10:30:00+00:00"}
    assert admin["dosage"]["dose"]["value"] == 2
    assert admin["dosage"]["route"]["coding"][0]["code"] == "PO"
    assert admin["status"] == "completed"
    assert not resources(b, "Immunization")


def test_codes_a_terminology_check_rejects_lose_only_the_false_claim():
    data = _msg(MSH, "PID|1||42^^^HOSP^GOOD HEALTH||Doe^Jane||19800101|F|||||||ara^Arabic^HL70296",
                "OBR|1||F1|2345-7^Glucose^LN|||202401020800+0100||||||||||||||||||F",
                "OBX|1|NM|22311-7^Odd code^LN||5|caps^capsules^UCUM|1-10||||F")
    result = convert(data)
    assert result.ok, [str(i) for i in result.issues if i.is_error]
    b = result.bundle
    patient = one(b, "Patient")
    assert patient["communication"][0]["language"]["coding"][0] == {
        "system": "urn:ietf:bcp:47", "code": "ar", "display": "Arabic"}
    # CX.5 "GOOD HEALTH" is no identifier type code of table 0203
    assert "system" not in patient["identifier"][0]["type"]["coding"][0]
    obs = one(b, "Observation")
    assert obs["code"]["coding"][0] == {"code": "22311-7", "display": "Odd code"}  # check digit
    assert obs["valueQuantity"] == {"value": 5, "unit": "capsules"}  # not UCUM: text only
    assert obs["referenceRange"][0]["low"] == {"value": 1, "unit": "capsules"}
    notes = [i for i in result.issues if i.code == "unknown-code"]
    assert {i.location.segment for i in notes} == {"PID", "OBX"}


def test_pid_demographics_the_ig_maps():
    """PID-9 alias, PID-12 county, PID-17 religion, PID-23 birth place, PID-26/28/39 citizenship
    and nationality, PID-40 telecom (v2.7+), as V2-to-FHIR PID[Patient] maps them."""
    fields = ["1", "", "42^^^HOSP^MR", "", "Doe^Jane", "", "19800101", "F", "Roe^Jane",
              "", "1 Main St^^Springfield^IL^62701^USA", "SANGAMON", "^PRN^PH^^1^217^5551234",
              "", "", "", "CHR^Christian^HL70006", "", "", "", "", "", "Chicago IL", "", "",
              "US^United States^ISO3166", "", "NL^Netherlands^ISO3166"] + [""] * 10 + \
        ["T1^Tribe^HL70171", "^PRN^PH^^1^217^5551234~^NET^Internet^jane@example.org"]
    result = convert(_msg(MSH, "PID|" + "|".join(fields)))
    patient = one(result.bundle, "Patient")
    assert [n["family"] for n in patient["name"]] == ["Doe", "Roe"]
    assert patient["address"][0]["district"] == "SANGAMON"
    assert [(t["system"], t["value"]) for t in patient["telecom"]] == [
        ("phone", "+1 (217) 5551234"), ("email", "jane@example.org")]  # PID-40's phone once
    ext = {e["url"].rsplit("/", 1)[1]: e for e in patient["extension"]}
    assert ext["patient-religion"]["valueCodeableConcept"]["coding"][0]["code"] == "CHR"
    assert ext["patient-birthPlace"]["valueAddress"] == {"text": "Chicago IL"}
    assert ext["patient-nationality"]["extension"][0]["valueCodeableConcept"]["coding"][0][
        "code"] == "NL"
    citizenship = [e["extension"][0]["valueCodeableConcept"]["coding"][0]["code"]
                   for e in patient["extension"] if e["url"].endswith("patient-citizenship")]
    assert citizenship == ["US", "T1"]
    mapped = {"PID-9", "PID-12", "PID-17", "PID-23", "PID-26", "PID-28", "PID-39", "PID-40"}
    assert not [i for i in result.issues if i.code == "unmapped-field"
                and i.location.field in mapped]
    assert result.ok


def test_pid_county_beside_other_addresses():
    """PID-12 goes on the one address without a district, else into an address of its own."""
    def addresses(pid11: str) -> list:
        pid = f"PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F|||{pid11}|COOK"
        return one(convert(_msg(MSH, pid)).bundle, "Patient")["address"]

    assert addresses("") == [{"district": "COOK"}]
    assert addresses("1 Main St^^Chicago^IL^^^^^COOK") == [
        {"line": ["1 Main St"], "city": "Chicago", "district": "COOK", "state": "IL"}]
    assert addresses("1 Main St^^Chicago^IL~2 Oak St^^Evanston^IL")[-1] == {"district": "COOK"}


def test_nk1_gender_language_identifiers_and_contact_person():
    """NK1-15 gender, NK1-20 language, NK1-12/33/37 identifiers, NK1-30 to 32 the contact person
    (V2-to-FHIR NK1[RelatedPerson])."""
    fields = ["1", "Roe^John", "SPO^Spouse^HL70063", "1 Main St^^Springfield^IL",
              "^PRN^PH^^1^217^5550001", "", "", "", "", "", "", "E77^^^ACME", "", "", "M", "", "",
              "", "", "de^German^ISO639", "", "", "", "", "", "", "", "", "", "Poe^Ann",
              "^WPN^PH^^1^217^5550002", "2 Oak St^^Springfield^IL", "", "", "", "", "123456789"]
    result = convert(_msg(MSH, "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F",
                          "NK1|" + "|".join(fields)))
    person = one(result.bundle, "RelatedPerson")
    assert person["gender"] == "male"
    assert person["communication"][0]["language"]["coding"][0]["code"] == "de"
    assert [n["family"] for n in person["name"]] == ["Roe", "Poe"]
    assert [a["line"] for a in person["address"]] == [["1 Main St"], ["2 Oak St"]]
    assert len(person["telecom"]) == 2
    assert [i.get("system") for i in person["identifier"]][-1] == "http://hl7.org/fhir/sid/us-ssn"
    assert "E77" in [i["value"] for i in person["identifier"]]
    fields_read = {"NK1-12", "NK1-15", "NK1-20", "NK1-30", "NK1-31", "NK1-32", "NK1-37"}
    assert not [i for i in result.issues if i.code == "unmapped-field"
                and i.location.field in fields_read]
    assert result.ok
    odd = convert(_msg(MSH, "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F", "NK1|1|Roe^John" +
                       "|" * 13 + "Q"))
    assert any(i.code == "unknown-code" and i.location.field == "NK1-15" for i in odd.issues)


def test_pv1_alternate_visit_id_and_vip():
    pv1 = ["1", "I"] + [""] * 13 + ["VIP^Very important^HL70099"] + [""] * 2 + ["V1^^^H"] + \
        [""] * 30 + ["ALT9^^^H"]
    result = convert(_msg(MSH, "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F",
                          "PV1|" + "|".join(pv1)))
    enc = one(result.bundle, "Encounter")
    assert [i["value"] for i in enc["identifier"]] == ["V1", "ALT9"]
    assert enc["hospitalization"]["specialCourtesy"][0]["coding"][0]["code"] == "VIP"
    assert result.ok


def test_msh_language_responsible_receiver_and_country():
    """MSH-17 sender's country, MSH-19 language, MSH-22 responsible and MSH-23 receiving
    organizations (V2-to-FHIR MSH[MessageHeader])."""
    msh = MSH + "|||||USA||en-US|||Resp Org^^^^^^^^^R1|Recv Org^^^^^^^^^R2"
    result = convert(_msg(msh, "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F"))
    header = one(result.bundle, "MessageHeader")
    assert header["language"] == "en-US"
    orgs = {e["fullUrl"]: e["resource"] for e in result.bundle["entry"]
            if e["resource"]["resourceType"] == "Organization"}
    assert orgs[header["responsible"]["reference"]]["name"] == "Resp Org"
    assert orgs[header["destination"][0]["receiver"]["reference"]]["identifier"][0]["value"] == \
        "R2"
    assert orgs[header["sender"]["reference"]]["address"] == [{"country": "USA"}]
    assert not [i for i in result.issues if i.code == "unmapped-field"
                and i.location.field in ("MSH-17", "MSH-19", "MSH-22", "MSH-23")]
    assert result.ok
    odd = convert(_msg(MSH + "|||||||Klingon", "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F"))
    assert "language" not in one(odd.bundle, "MessageHeader")
    assert any(i.code == "unknown-code" and i.location.field == "MSH-19" for i in odd.issues)


def test_pv1_other_provider_and_pv2_referral_source():
    """PV1-52 as a PART participant, PV2-13 as a REF participant (V2-to-FHIR PV1/PV2[Encounter])."""
    pv1 = "PV1|1|I" + "|" * 50 + "9001^Other^Olga"
    pv2 = "PV2|||" + "|" * 10 + "9002^Sender^Sam"
    result = convert(_msg(MSH, "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F", pv1, pv2))
    enc = one(result.bundle, "Encounter")
    kinds = {p["type"][0]["coding"][0]["code"]: p["individual"]["display"]
             for p in enc["participant"]}
    assert kinds == {"PART": "Olga Other", "REF": "Sam Sender"}
    assert not [i for i in result.issues if i.code == "unmapped-field"
                and i.location.field in ("PV1-52", "PV2-13")]
    assert result.ok


def test_spm_accession_availability_notes_and_pr1_category():
    """SPM-14 notes, SPM-20 status (table 0136 -> specimen-status), SPM-30 accession and SPM-31
    other ids; PR1-6 category."""
    spm = ["1", "S1^F1", "", "BLD^Blood^HL70487"] + [""] * 9 + ["hemolysed"] + [""] * 5 + \
        ["N"] + [""] * 9 + ["ACC7^^^LAB", "OTHER8^^^LAB"]
    oru = _msg(MSH, "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F", "OBR|1|P1|F1|2345-7^Glucose^LN",
               "OBX|1|NM|2345-7^Glucose^LN||5.5|mmol/L|||||F", "SPM|" + "|".join(spm))
    result = convert(oru)
    spec = one(result.bundle, "Specimen")
    assert spec["status"] == "unavailable"
    assert spec["accessionIdentifier"]["value"] == "ACC7"
    assert "OTHER8" in [i["value"] for i in spec["identifier"]]
    assert spec["note"] == [{"text": "hemolysed"}]
    assert result.ok
    odd = convert(oru.replace(b"|N|", b"|Q|"))
    assert any(i.code == "unknown-code" and i.location.field == "SPM-20" for i in odd.issues)
    adt = _msg(MSH.replace("ORU^R01^ORU_R01", "ADT^A01^ADT_A01"),
               "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F", "PV1|1|I",
               "PR1|1||80146002^Appendectomy^SCT||20240101|D^Diagnostic^HL70230")
    proc = one(convert(adt).bundle, "Procedure")
    assert proc["category"]["coding"][0]["code"] == "D"


def test_pv1_discharged_to_location():
    """PV1-37 (DLD) -> hospitalization.destination, a Location of its own; v2.3's CM form too."""
    for dld, name in (("SNF&Skilled nursing facility&HL70113^20240105", "Skilled nursing facility"),
                      ("HOME", "HOME")):
        pv1 = "PV1|1|I" + "|" * 35 + dld
        result = convert(_msg(MSH, "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F", pv1))
        enc = one(result.bundle, "Encounter")
        assert by_ref(result.bundle, enc["hospitalization"]["destination"])["name"] == name
        assert not [i for i in result.issues if i.code == "unmapped-field"
                    and i.location.field == "PV1-37"]
        assert result.ok


def test_obx_observation_type_as_category():
    """OBX-29 (table 0936) -> a category coding beside the laboratory one."""
    obx = "OBX|1|NM|2345-7^Glucose^LN||5.5|mmol/L|||||F" + "|" * 18 + "RSLT"
    result = convert(_msg(MSH, "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F",
                          "OBR|1|P1|F1|2345-7^Glucose^LN", obx))
    obs = one(result.bundle, "Observation")
    codes = [(c["system"].rsplit("/", 1)[1], c["code"]) for cat in obs["category"]
             for c in cat["coding"]]
    assert ("v2-0936", "RSLT") in codes
    assert not [i for i in result.issues if i.code == "unmapped-field"
                and i.location.field == "OBX-29"]
    assert result.ok


def test_in1_plan_type_policy_holder_subscriber_and_payer_address():
    """IN1-5 payer address, IN1-11 policy holder, IN1-15 plan type, IN1-16 subscriber (V2-to-FHIR
    IN1[Coverage]): a RelatedPerson unless IN1-17 says self."""
    def in1(relation: str) -> str:
        fields = ["1", "PLAN1^Gold plan", "INS1^^^PAYERS", "Acme Insurance",
                  "1 Payer Way^^Hartford^CT", "", "", "G7", "Group seven", "", "Employer Inc",
                  "", "", "", "PPO^Preferred provider^HL70086", "Doe^John", relation]
        return "IN1|" + "|".join(fields)

    pid = "PID|1||42^^^HOSP^MR||Doe^Jane||19800101|F"
    adt = MSH.replace("ORU^R01^ORU_R01", "ADT^A01^ADT_A01")
    result = convert(_msg(adt, pid, in1("SPO^Spouse^HL70063")))
    cov = one(result.bundle, "Coverage")
    assert cov["type"]["coding"][0]["code"] == "PPO"
    assert by_ref(result.bundle, cov["policyHolder"])["name"] == "Employer Inc"
    subscriber = by_ref(result.bundle, cov["subscriber"])
    assert subscriber["resourceType"] == "RelatedPerson"
    assert subscriber["name"][0]["family"] == "Doe"
    assert subscriber["relationship"][0]["coding"][0]["code"] == "SPO"
    assert by_ref(result.bundle, cov["payor"][0])["address"][0]["city"] == "Hartford"
    assert not [i for i in result.issues if i.code == "unmapped-field"
                and i.location.field in ("IN1-5", "IN1-11", "IN1-15", "IN1-16")]
    assert result.ok
    self_insured = convert(_msg(adt, pid, in1("SEL^Self^HL70063")))
    cov = one(self_insured.bundle, "Coverage")
    assert by_ref(self_insured.bundle, cov["subscriber"])["resourceType"] == "Patient"

"""Every full C-CDA document of the shared corpus converts to a valid Bundle, and every structured
entry of the source reaches it (per document, per kind of entry)."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from converter import convert
from converter.readers.cda import read_document
from converter.sources import Source
from converter.writers.json import dumps

from conftest import CORPUS  # noqa: E402  (the shared corpus, wherever CI puts it)
SAMPLES = sorted((CORPUS / "ccda-samples" / "ms-fhir-converter").glob("*"))
EXAMPLES = sorted(p for p in (CORPUS / "ccda-examples" / "Documents").rglob("*")
                  if p.suffix.lower() == ".xml")
DOCUMENTS = SAMPLES + EXAMPLES
V3 = "{urn:hl7-org:v3}"
P = "2.16.840.1.113883.10.20.22.4."


def _ids(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _errors(result) -> list:
    return [i for i in result.issues if i.is_error]


def test_corpus_is_complete() -> None:
    assert len(SAMPLES) == 22
    assert len(EXAMPLES) == 12


@pytest.mark.parametrize("path", DOCUMENTS, ids=_ids)
def test_document_converts_to_a_valid_bundle(path: Path) -> None:
    result = convert(path)
    assert result.bundles and len(result.bundles) == 1
    assert not [i for i in result.issues if i.code in ("structure", "empty-value", "internal")]
    assert _errors(result) == []
    entries = result.bundle["entry"]
    assert entries[0]["resource"]["resourceType"] == "Patient"
    assert len(entries) > 1


def _source_count(root: etree._Element, *roots: str) -> int:
    wanted = {P + r for r in roots}
    return sum(1 for el in root.iter(etree.Element)
               if wanted & {t.get("root") for t in el.iterchildren(V3 + "templateId")})


def _categories(res: dict) -> set[str]:
    return {c.get("code") for cc in res.get("category", []) for c in cc.get("coding", [])}


def _vital_signs(resources: list[dict]) -> int:
    """Vital sign observations in the output: blood pressure counts its two components."""
    n = 0
    for r in resources:
        if r["resourceType"] != "Observation" or "vital-signs" not in _categories(r):
            continue
        if r.get("hasMember"):
            continue
        codes = {c.get("code") for c in r["code"].get("coding", [])}
        n += len(r.get("component", [])) if "85354-9" in codes else 1 + len(r.get("component", []))
    return n


@pytest.mark.parametrize("path", DOCUMENTS, ids=_ids)
def test_every_structured_entry_reaches_the_bundle(path: Path) -> None:
    frag, info = read_document(Source(str(path), "cda", path=path))
    root = etree.parse(str(path)).getroot()
    res = frag.resources

    def of(rtype: str) -> list[dict]:
        return [r for r in res if r["resourceType"] == rtype]

    expected = {
        "problem observations": _source_count(root, "4", "68", "73"),
        "allergy observations": _source_count(root, "7"),
        "medication activities": _source_count(root, "16"),
        "result observations": _source_count(root, "2"),
        "vital sign observations": _source_count(root, "27"),
        "procedures": _source_count(root, "14", "12", "13"),
        "immunizations": _source_count(root, "52"),
        "encounters": _source_count(root, "49"),
    }
    found = {
        "problem observations": len(of("Condition")),
        "allergy observations": len(of("AllergyIntolerance")),
        "medication activities": len(of("MedicationStatement"))
        + len([r for r in of("MedicationRequest") if r["intent"] != "plan"]),
        "result observations": len([r for r in of("Observation")
                                    if "laboratory" in _categories(r)]),
        "vital sign observations": _vital_signs(res),
        "procedures": len(of("Procedure")),
        "immunizations": len(of("Immunization")),
        "encounters": len(of("Encounter")) - (1 if info.encounter else 0),
    }
    assert found == expected


def test_the_corpus_exercises_every_counted_kind() -> None:
    """The count test above cannot pass trivially: the corpus holds many of each kind."""
    totals: dict[str, int] = {}
    for path in DOCUMENTS:
        frag, _info = read_document(Source(str(path), "cda", path=path))
        for r in frag.resources:
            totals[r["resourceType"]] = totals.get(r["resourceType"], 0) + 1
    for rtype in ("Condition", "AllergyIntolerance", "MedicationStatement", "Observation",
                  "DiagnosticReport", "Procedure", "Immunization", "Encounter", "Provenance",
                  "DocumentReference", "FamilyMemberHistory", "Goal", "ServiceRequest",
                  "DeviceUseStatement"):
        assert totals.get(rtype, 0) >= 2, rtype
    assert totals["Condition"] >= 100 and totals["Observation"] >= 150


def test_provenance_targets_every_resource_and_names_the_document() -> None:
    path = CORPUS / "ccda-samples" / "ms-fhir-converter" / "CCD.ccda"
    frag, _info = read_document(Source(str(path), "cda", path=path))
    prov = [r for r in frag.resources if r["resourceType"] == "Provenance"]
    assert len(prov) == 1
    targets = {t["reference"] for t in prov[0]["target"]}
    assert targets == {f"urn:uuid:{r['id']}" for r in frag.resources
                       if r["resourceType"] != "Provenance"}
    doc_id = etree.parse(str(path)).getroot().find(V3 + "id")
    what = prov[0]["entity"][0]["what"]["identifier"]
    assert doc_id.get("extension") in (what.get("value"), None) or doc_id.get("root") in str(what)
    assert prov[0]["recorded"].startswith("20")


def test_same_input_same_output() -> None:
    path = CORPUS / "ccda-examples" / "Documents" / "Transfer Summary" / "Transfer_Summary.xml"
    a, b = convert(path), convert(path)
    assert dumps(a.bundle) == dumps(b.bundle)


def test_document_types_are_detected() -> None:
    kinds = {}
    for path in EXAMPLES:
        frag, _info = read_document(Source(str(path), "cda", path=path))
        kinds[path.parent.name] = frag.kind
    assert kinds["CCD 1"] == "ccd"
    assert kinds["Discharge Summary"] == "discharge-summary"
    assert kinds["History and Physical"] == "history-and-physical"
    assert kinds["Care Plan"] == "care-plan"
    assert kinds["Referral Note"] == "referral-note"
    assert kinds["Diagnostic Imaging Report"] == "diagnostic-imaging-report"


def test_unstructured_document_keeps_its_content() -> None:
    path = CORPUS / "ccda-samples" / "ms-fhir-converter" / "CDA_with_Embedded_PDF.ccda"
    frag, info = read_document(Source(str(path), "cda", path=path))
    refs = [r for r in frag.resources if r["resourceType"] == "DocumentReference"]
    assert info.kind == "unstructured-document"
    pdf = [r for r in refs if r["content"][0]["attachment"].get("contentType") == "application/pdf"]
    assert pdf and pdf[0]["content"][0]["attachment"]["data"].startswith("JVBER")  # %PDF


def test_unknown_sections_and_entries_are_reported_with_their_xpath() -> None:
    path = CORPUS / "ccda-samples" / "ms-fhir-converter" / "Diagnostic_Imaging_Report.ccda"
    frag, _info = read_document(Source(str(path), "cda", path=path))
    unmapped = [i for i in frag.issues if i.code in ("unmapped-section", "unmapped-entry")]
    assert unmapped
    for issue in unmapped:
        assert issue.location.xpath.startswith("/ClinicalDocument/component/structuredBody/")
        assert issue.location.line
    # the unknown sections still reach the Bundle as DocumentReferences with safe XHTML
    refs = [r for r in frag.resources if r["resourceType"] == "DocumentReference"]
    assert refs and all(r["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml"')
                        for r in refs if "text" in r)


def test_every_structured_section_keeps_its_narrative():
    """What the author wrote beside the entries reaches the Bundle: one DocumentReference holds the
    safe XHTML of every structured section, each under its title."""
    import base64

    from converter import convert

    path = next(p for p in SAMPLES if p.name == "CCD.ccda")
    bundle = convert(str(path)).bundle
    docs = [e["resource"] for e in bundle["entry"]
            if e["resource"]["resourceType"] == "DocumentReference"
            and "narrative of its" in e["resource"].get("description", "")]
    assert len(docs) == 1
    xhtml = base64.b64decode(docs[0]["content"][0]["attachment"]["data"]).decode()
    assert xhtml.startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
    assert "<h2>" in xhtml and "<script" not in xhtml.lower()


@pytest.mark.parametrize("path", SAMPLES + EXAMPLES, ids=lambda p: p.name)
def test_every_policy_activity_is_a_coverage(path):
    """Payers section: one Coverage per Policy Activity (.61), each with its payer."""
    from lxml import etree

    from converter import convert

    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True,
                                                  load_dtd=False, huge_tree=False))
    ns = {"v": "urn:hl7-org:v3"}
    policies = tree.xpath("//v:act[v:templateId/@root='2.16.840.1.113883.10.20.22.4.61']",
                          namespaces=ns)
    result = convert(str(path))
    coverages = [e["resource"] for b in result.bundles for e in b["entry"]
                 if e["resource"]["resourceType"] == "Coverage"]
    assert len(coverages) == len(policies)
    assert all(c["payor"] and c["beneficiary"] for c in coverages)


@pytest.mark.parametrize("path", SAMPLES + EXAMPLES, ids=lambda p: p.name)
def test_every_medication_dispense_is_mapped(path):
    """Medication Dispense (.18) under a medication activity -> MedicationDispense."""
    from lxml import etree

    from converter import convert

    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True,
                                                  load_dtd=False, huge_tree=False))
    ns = {"v": "urn:hl7-org:v3"}
    dispenses = tree.xpath("//v:substanceAdministration/v:entryRelationship/v:supply"
                           "[v:templateId/@root='2.16.840.1.113883.10.20.22.4.18']",
                           namespaces=ns)
    result = convert(str(path))
    made = [e["resource"] for b in result.bundles for e in b["entry"]
            if e["resource"]["resourceType"] == "MedicationDispense"]
    assert len(made) == len(dispenses)
    assert all("medicationCodeableConcept" in d or "medicationReference" in d for d in made)
    assert not [i for i in result.issues if i.code == "unmapped-entry" and "supply" in
                (i.location.xpath or "") and "Dispense" in i.message]


def test_problem_severity_observation_becomes_condition_severity():
    from converter import convert
    from conftest import ROOT

    xml = (ROOT / "samples" / "cross-source" / "ccd.xml").read_text(encoding="utf-8")
    anchor = 'displayName="Asthma"/>'
    severity = ('<entryRelationship typeCode="SUBJ" inversionInd="true">'
                '<observation classCode="OBS" moodCode="EVN">'
                '<templateId root="2.16.840.1.113883.10.20.22.4.8" extension="2014-06-09"/>'
                '<code code="SEV" codeSystem="2.16.840.1.113883.5.4"/>'
                '<statusCode code="completed"/>'
                '<value xsi:type="CD" code="6736007" codeSystem="2.16.840.1.113883.6.96" '
                'displayName="Moderate"/></observation></entryRelationship>')
    assert xml.count(anchor) == 1
    result = convert(xml.replace(anchor, anchor + severity).encode("utf-8"))
    assert result.ok, [str(i) for i in result.issues if i.is_error]
    cond = next(e["resource"] for e in result.bundle["entry"]
                if e["resource"]["resourceType"] == "Condition")
    assert cond["severity"]["coding"][0] == {"system": "http://snomed.info/sct",
                                             "code": "6736007", "display": "Moderate"}
    assert not [i for i in result.issues if i.code == "unmapped-entry"
                and "4.8" in i.message]

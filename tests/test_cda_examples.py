"""The section and entry examples of HL7's C-CDA-Examples (fragments, not documents): each is
converted inside a minimal wrapping header, and the "no known", negated, nullFlavor and
narrative-only patterns map the way STANDARDS.md section 2 says."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from converter.readers.cda import read, read_document
from converter.sources import Source
from converter.validate.structure import validate_resource

from conftest import CORPUS as SHARED_CORPUS


def model_problems(resource: dict) -> list[str]:
    """Structural problems of one resource (the fhir.resources R4B models and empty values)."""
    return [f"{i.location.expression}: {i.message}" for i in validate_resource(resource)]

CORPUS = SHARED_CORPUS / "ccda-examples"
FRAGMENTS = sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() == ".xml"
                   and "Documents" not in p.parts and p.stat().st_size < 400_000)
STATEMENTS = {"act", "observation", "substanceAdministration", "supply", "procedure",
              "encounter", "organizer"}
WRAPPER = """<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xmlns:sdtc="urn:hl7-org:sdtc">
 <templateId root="2.16.840.1.113883.10.20.22.1.1"/>
 <id root="2.16.840.1.113883.19.5" extension="{name}"/>
 <code code="34133-9" codeSystem="2.16.840.1.113883.6.1"/>
 <effectiveTime value="20240101120000-0500"/>
 <recordTarget><patientRole><id root="2.16.840.1.113883.19.5.99" extension="example-patient"/>
  <patient><name><given>Eve</given><family>Everywoman</family></name>
  <administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>
  <birthTime value="19750501"/></patient></patientRole></recordTarget>
 <author><time value="20240101"/><assignedAuthor><id root="2.16.840.1.113883.4.6" extension="1"/>
  <assignedPerson><name><family>Seven</family></name></assignedPerson></assignedAuthor></author>
 <custodian><assignedCustodian><representedCustodianOrganization>
  <id root="2.16.840.1.113883.19.5"/><name>Example</name></representedCustodianOrganization>
 </assignedCustodian></custodian>
 <component><structuredBody>{body}</structuredBody></component>
</ClinicalDocument>"""
SECTION = ("<component><section><code code=\"{code}\" codeSystem=\"2.16.840.1.113883.6.1\"/>"
           "<title>Wrapped</title><text>wrapped entry</text>{entry}</section></component>")
# The folder an entry example sits in names the section it belongs to.
FOLDER_SECTION = {"Allergies": "48765-2", "Medications": "10160-0", "Problems": "11450-4",
                  "Results": "30954-2", "Vital Signs": "8716-3", "Procedures": "47519-4",
                  "Immunizations": "11369-6", "Encounters": "46240-8", "Social History": "29762-2"}


def wrap(path: Path) -> bytes | None:
    """The example inside a minimal document, or None when it is not a body fragment."""
    text = path.read_bytes().decode("utf-8-sig")
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    match = re.search(r"<(\w+)[\s>/]", re.sub(r"<!--.*?-->", "", text, flags=re.S))
    root = match.group(1) if match else ""
    if root == "section":
        body = f"<component>{text}</component>"
    elif root == "component":
        body = text
    elif root in STATEMENTS or root == "entry":
        top = path.relative_to(CORPUS).parts[0]
        code = FOLDER_SECTION.get(top, "51848-0")
        body = SECTION.format(code=code, entry=text if root == "entry" else f"<entry>{text}</entry>")
    else:
        return None
    return WRAPPER.format(name=re.sub(r"[^A-Za-z0-9]", "-", path.stem)[:40], body=body).encode("utf-8")


def convert_example(path: Path):
    data = wrap(path)
    assert data is not None
    return read_document(Source(str(path), "cda", data=data))


def _id(path: Path) -> str:
    return str(path.relative_to(CORPUS))[:90]


def _well_formed(data: bytes) -> bool:
    try:
        etree.fromstring(data)
    except etree.XMLSyntaxError:
        return False
    return True


def _is_document(path: Path) -> bool:
    return b"<ClinicalDocument" in path.read_bytes()[:4000]


DOCS = [p for p in FRAGMENTS if _is_document(p)]
BODY = [p for p in FRAGMENTS if not _is_document(p) and wrap(p) is not None]
OTHER = [p for p in FRAGMENTS if not _is_document(p) and wrap(p) is None]


def test_the_examples_are_there() -> None:
    assert len(BODY) >= 150 and len(OTHER) >= 10 and len(DOCS) >= 5


@pytest.mark.parametrize("path", DOCS, ids=_id)
def test_whole_documents_among_the_examples_convert(path: Path) -> None:
    """Header examples (some without a patient, some with '...' placeholders that break the XML)
    convert, or are refused with one clear located error."""
    frag, _info = read_document(Source(str(path), "cda", path=path))
    if frag.unusable:
        (issue,) = [i for i in frag.issues if i.severity == "fatal"]
        assert issue.code in ("malformed-xml", "missing-field", "unknown-format")
        assert issue.location.line or issue.location.xpath
        return
    assert not [i for i in frag.issues if i.is_error]
    assert [(r["resourceType"], p) for r in frag.resources for p in model_problems(r)] == []


@pytest.mark.parametrize("path", BODY, ids=_id)
def test_body_example_converts_without_structure_errors(path: Path) -> None:
    frag, _info = convert_example(path)
    if not _well_formed(wrap(path)):  # a few examples are broken XML themselves: a clear error
        (issue,) = frag.issues
        assert frag.unusable and issue.code == "malformed-xml" and issue.location.line
        return
    assert not frag.unusable, [str(i) for i in frag.issues]
    assert not [i for i in frag.issues if i.is_error], [str(i) for i in frag.issues if i.is_error]
    problems = [(r["resourceType"], p) for r in frag.resources for p in model_problems(r)]
    assert problems == []
    assert len(frag.resources) >= 2  # the patient and at least what the section holds


@pytest.mark.parametrize("path", OTHER, ids=_id)
def test_header_fragment_alone_is_rejected_clearly(path: Path) -> None:
    frags = list(read([Source(str(path), "cda", path=path)]))
    assert frags[0].unusable and not frags[0].resources
    assert frags[0].issues[0].severity == "fatal"
    assert frags[0].issues[0].code in ("malformed-xml", "unknown-format")


def _one(path_part: str) -> Path:
    found = [p for p in BODY if path_part in str(p)]
    assert found, path_part
    return found[0]


def _resources(path_part: str, rtype: str) -> list[dict]:
    frag, _info = convert_example(_one(path_part))
    return [r for r in frag.resources if r["resourceType"] == rtype]


def _codes(concept: dict) -> set[str]:
    return {c.get("code") for c in concept.get("coding", [])}


def test_no_known_allergies() -> None:
    (allergy,) = _resources("Allergies/No Known Allergies/", "AllergyIntolerance")
    assert _codes(allergy["code"]) == {"716186003"}
    assert allergy["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert "reaction" not in allergy


def test_no_known_medication_allergies() -> None:
    (allergy,) = _resources("No Known Medication Allergies", "AllergyIntolerance")
    assert _codes(allergy["code"]) == {"409137002"}
    assert allergy["category"] == ["medication"]


def test_not_allergic_to_peanuts_keeps_the_substance() -> None:
    (allergy,) = _resources("Not Allergic to Peanuts", "AllergyIntolerance")
    assert "code" not in allergy
    risk = allergy["extension"][0]
    assert risk["url"].endswith("allergyintolerance-substanceExposureRisk")
    substance = risk["extension"][0]["valueCodeableConcept"]
    assert _codes(substance) == {"762952008"}
    assert risk["extension"][1]["valueCodeableConcept"]["coding"][0]["code"] == \
        "no-known-reaction-risk"


def test_allergy_with_reaction_and_severity() -> None:
    (allergy,) = _resources("Allergy to specific drug Penicillin/", "AllergyIntolerance")
    assert allergy["type"] == "allergy" and allergy["category"] == ["medication"]
    assert allergy["reaction"] and allergy["reaction"][0]["manifestation"][0]["coding"]
    assert allergy["reaction"][0].get("severity") in ("mild", "moderate", "severe")


def test_no_medications() -> None:
    (statement,) = _resources("Medications/No Medications", "MedicationStatement")
    assert _codes(statement["medicationCodeableConcept"]) == {"787481004"}


def test_no_known_problems() -> None:
    (condition,) = _resources("Problems/No Known Problems", "Condition")
    assert _codes(condition["code"]) == {"160245001"}


def test_negated_problem_is_refuted() -> None:
    (condition,) = _resources("Patient Does Not Have Diabetes", "Condition")
    assert condition["verificationStatus"]["coding"][0]["code"] == "refuted"
    assert condition["code"]["coding"]


def test_resolved_problem_is_not_active() -> None:
    (condition,) = _resources("Complete or Resolved Problem", "Condition")
    assert condition["clinicalStatus"]["coding"][0]["code"] in ("resolved", "inactive")
    assert condition.get("abatementDateTime") or condition.get("_abatementDateTime")


def test_immunization_refused() -> None:
    (imm,) = _resources("Immunization not given Patient refused", "Immunization")
    assert imm["status"] == "not-done"
    assert imm["statusReason"]["coding"]


def test_no_information_sections_keep_their_narrative() -> None:
    for part in ("No Section Information Immunizations", "No Section Information Allergies",
                 "No Information Problems"):
        found = [p for p in BODY if part in str(p) or part.replace(" ", "") in str(p)]
        if not found:
            continue
        frag, info = convert_example(found[0])
        section = info.sections[0]
        assert section.div and "xhtml" in section.div
        assert section.empty_reason == "NI" or section.resources


def test_narrative_only_section_reaches_the_bundle_as_safe_xhtml() -> None:
    data = WRAPPER.format(name="narrative", body="""<component><section>
      <code code="10164-2" codeSystem="2.16.840.1.113883.6.1"/><title>History of present illness</title>
      <text><paragraph styleCode="Bold" onclick="steal()">Chest pain <content ID="c1">since
      Monday</content></paragraph><list><item>item</item></list>
      <linkHtml href="http://evil.example/x">click</linkHtml></text></section></component>""")
    frag, info = read_document(Source("n.xml", "cda", data=data.encode()))
    (doc,) = [r for r in frag.resources if r["resourceType"] == "DocumentReference"]
    div = doc["text"]["div"]
    assert div.startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
    assert "Chest pain" in div and '<span id="c1">' in div and "<ul><li>item</li></ul>" in div
    assert "onclick" not in div and "evil" not in div and "<a>click</a>" in div
    assert info.sections[0].resources == [doc["id"]]
    etree.fromstring(div)  # well-formed XHTML


def test_original_text_reference_is_resolved() -> None:
    """A problem's value/originalText/reference becomes code.text, read from the narrative."""
    path = CORPUS.parent / "ccda-samples" / "ms-fhir-converter" / "170.314B2_Amb_CCD.ccda"
    root = etree.parse(str(path)).getroot()
    ns = {"h": "urn:hl7-org:v3"}
    refs = root.xpath("//h:observation[h:templateId/@root='2.16.840.1.113883.10.20.22.4.4']"
                      "/h:value/h:originalText/h:reference/@value", namespaces=ns)
    assert refs
    expected = {" ".join("".join(root.xpath(f"//*[@ID='{r[1:]}']")[0].itertext()).split())
                for r in refs}
    frag, _info = read_document(Source(str(path), "cda", path=path))
    texts = {r["code"].get("text") for r in frag.resources if r["resourceType"] == "Condition"}
    assert expected <= texts

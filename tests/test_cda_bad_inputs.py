"""Bad CDA inputs give a clear fatal issue with a location, never an exception or a silent nothing."""
from __future__ import annotations

from converter import convert
from converter.readers.cda import read
from converter.sources import Source

HEADER = b"""<ClinicalDocument xmlns="urn:hl7-org:v3">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <id root="2.16.840.1.113883.19.5" extension="bad-1"/>
  <code code="34133-9" codeSystem="2.16.840.1.113883.6.1"/>
  <effectiveTime value="20240101120000-0500"/>
"""


def _read(data: bytes):
    frags = list(read([Source("doc.xml", "cda", data=data)]))
    assert len(frags) == 1
    return frags[0]


def _fatal(frag, code: str):
    assert frag.unusable and not frag.resources
    fatal = [i for i in frag.issues if i.severity == "fatal"]
    assert [i.code for i in fatal] == [code], [str(i) for i in frag.issues]
    return fatal[0]


def test_malformed_xml_names_line_and_column() -> None:
    issue = _fatal(_read(HEADER + b"  <title>Broken</titel>\n</ClinicalDocument>"), "malformed-xml")
    assert issue.location.line == 6
    assert "line 6, column" in issue.message


def test_malformed_xml_through_convert_is_a_clear_error() -> None:
    result = convert(HEADER + b"<title>x</title>")  # cut short: no closing tags
    assert result.bundles == [] and result.exit_code == 2
    assert any(i.code == "malformed-xml" and i.severity == "fatal" for i in result.issues)


def test_xml_that_is_not_cda() -> None:
    issue = _fatal(_read(b'<?xml version="1.0"?><Patient xmlns="http://hl7.org/fhir"/>'),
                   "unknown-format")
    assert "not a CDA document" in issue.message and issue.location.xpath == "/Patient"
    result = convert(b'<?xml version="1.0"?><note><to>someone</to></note>')
    assert result.bundles == [] and any(i.code == "unknown-format" for i in result.issues)


def test_cda_without_record_target() -> None:
    issue = _fatal(_read(HEADER + b"<title>No patient</title></ClinicalDocument>"),
                   "missing-field")
    assert "recordTarget" in issue.message and issue.location.xpath == "/ClinicalDocument"


def test_billion_laughs_is_refused() -> None:
    lol = (b'<?xml version="1.0"?>\n<!DOCTYPE ClinicalDocument [\n<!ENTITY lol "lol">\n'
           + b"".join(b'<!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                      for i in range(1, 10))
           + HEADER + b"<title>&lol9;</title></ClinicalDocument>")
    issue = _fatal(_read(lol), "unsafe-xml")
    assert "DOCTYPE" in issue.message or "entity" in issue.message


def test_external_entity_is_never_read(tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    xxe = (b'<?xml version="1.0"?>\n<!DOCTYPE ClinicalDocument [<!ENTITY xxe SYSTEM "file://'
           + str(secret).encode() + b'">]>\n' + HEADER + b"<title>&xxe;</title></ClinicalDocument>")
    frag = _read(xxe)
    _fatal(frag, "unsafe-xml")
    assert "TOP-SECRET" not in repr(frag)
    result = convert(xxe)
    assert result.bundles == [] and "TOP-SECRET" not in repr(result)


def test_huge_text_node_is_refused() -> None:
    huge = HEADER + b"<title>" + b"a" * 11_000_000 + b"</title></ClinicalDocument>"
    issue = _fatal(_read(huge), "too-large")
    assert issue.location.line == 6


def test_one_bad_document_does_not_stop_the_others() -> None:
    good = HEADER + b"""<recordTarget><patientRole><id root="2.16.840.1.113883.19.5.99" extension="42"/>
      <patient><name><given>Ann</given><family>Lee</family></name>
      <administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>
      <birthTime value="19700101"/></patient></patientRole></recordTarget></ClinicalDocument>"""
    frags = list(read([Source("bad.xml", "cda", data=b"<ClinicalDocument"),
                       Source("good.xml", "cda", data=good)]))
    assert [f.unusable for f in frags] == [True, False]
    patient = frags[1].resources[0]
    assert patient["name"][0] == {"family": "Lee", "given": ["Ann"]}
    assert patient["birthDate"] == "1970-01-01" and patient["gender"] == "female"
    assert any(i.code == "missing-field" and "no body" in i.message for i in frags[1].issues)

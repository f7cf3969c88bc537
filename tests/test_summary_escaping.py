"""Hostile source text (a `<script>` in a CDA narrative, a v2 NTE, a patient name) is shown as
text in every format and never becomes markup."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import CORPUS, HL7_CORPUS
from test_summary_data import HOSTILE, TODAY, sample_bundle, sample_outcome

import converter
from converter.summary import summarize
from converter.summary.html import css_string
from converter.summary.markdown import escape
from converter.writers.json import dumps

ESCAPED = "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;"


def test_html_escapes_notes_narratives_attachments_and_issues():
    html = summarize(sample_bundle(), "html", "en", TODAY, sample_outcome())
    assert "<script" not in html and "<img" not in html
    # NTE on a result, the base64 text of a DocumentReference, a Composition narrative, an issue
    assert html.count(ESCAPED) >= 3
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in html


def test_markdown_keeps_hostile_text_inert():
    md = summarize(sample_bundle(), "md", "en", TODAY, sample_outcome())
    assert not re.search(r"(?<!\\)<(script|img|/script)", md)
    assert "\\<script>alert('pwned')\\</script>" in md
    assert escape("[click](http://x) *bold* <b>|</b>") == \
        "\\[click\\](http://x) \\*bold\\* \\<b>\\|\\</b>"


def test_a_hostile_patient_name_cannot_leave_the_css_string():
    bundle = sample_bundle()
    patient = bundle["entry"][0]["resource"]
    patient["name"][0]["family"] = 'X"; } </style><script>alert(1)</script><style>'
    html = summarize(bundle, "html", "zh", TODAY)
    assert html.count("</style>") == 1 and "<script" not in html
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "<" not in style.split("@page", 1)[1]
    assert css_string('a"b\\c</style>') == '"a\\000022b\\00005cc\\00003c\\00002fstyle\\00003e"'


def test_pdf_shows_the_hostile_text_as_text():
    from test_summary_data import pdf_text

    from converter.summary.fonts import MissingFontError

    try:
        data = summarize(sample_bundle(), "pdf", "en", TODAY)
    except MissingFontError as exc:
        pytest.skip(str(exc))
    assert "<script>alert('pwned')</script>" in " ".join(pdf_text(data).split())


def _hostile_oru(tmp_path: Path) -> Path:
    """The V2-to-FHIR ORU_R01 sample with hostile text in its order NTE and a result NTE."""
    text = (HL7_CORPUS / "test_conversions_ORU_R01.hl7").read_bytes().decode("utf-8")
    assert "Allergy test interpretations are subjective." in text
    text = text.replace("Allergy test interpretations are subjective.", f"Order note {HOSTILE}")
    segments = re.split(r"\r\n|\r|\n", text.strip())
    at = next(i for i, s in enumerate(segments) if s.startswith("OBX|1|"))
    segments.insert(at + 1, "NTE|1|L|Result note <img src=x onerror=alert(2)>")
    path = tmp_path / "hostile_ORU_R01.hl7"
    path.write_bytes(("\r".join(segments) + "\r").encode("utf-8"))
    return path


def test_hostile_v2_nte_through_the_converter(tmp_path):
    result = converter.convert(str(_hostile_oru(tmp_path)), validate=False)
    if result.bundle is None:
        pytest.skip("the HL7 v2 reader produced no Bundle")
    html = summarize(result.bundle, "html", "en", TODAY)
    md = summarize(result.bundle, "md", "en", TODAY)
    assert "<script" not in html and "<img" not in html
    assert f"Order note {ESCAPED}" in html                      # OBR NTE, via ServiceRequest.note
    assert "Result note &lt;img src=x onerror=alert(2)&gt;" in html  # OBX NTE, Observation.note
    assert "Order note \\<script>alert('pwned')\\</script>" in md


def test_hostile_cda_narrative_through_the_converter(tmp_path):
    source = CORPUS / "ccda-examples" / "Documents" / "CCD" / "CCD 1" / "CCD.XML"
    xml = source.read_text(encoding="utf-8")
    body = xml.index("<structuredBody>")
    first_text = xml.index("<text>", body) + len("<text>")  # the first section's narrative
    hostile = (xml[:first_text] + "<paragraph>&lt;script&gt;alert('pwned')&lt;/script&gt;"
               "</paragraph>" + xml[first_text:])
    path = tmp_path / "hostile_CCD.xml"
    path.write_text(hostile, encoding="utf-8")
    result = converter.convert(str(path), validate=False)
    assert "alert('pwned')" in dumps(result.bundle).decode()  # the narrative reaches the Bundle
    html = summarize(result.bundle, "html", "zh", TODAY)
    assert "<script" not in html
    assert ESCAPED in html

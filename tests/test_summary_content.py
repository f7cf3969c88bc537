"""What the summary says, in every format and language: name, birth date, a lab value with its SI
value, the allergies, the recency marks, and the sections a review abroad needs."""
from __future__ import annotations

import html
import re

import pytest
from test_summary_data import TODAY, pdf_text, sample_bundle, sample_outcome

from converter.summary import default_file_name, summarize
from converter.summary.fonts import find_fonts
from converter.summary.markdown import width


def _fonts_or_skip():
    from converter.summary.fonts import MissingFontError

    try:
        find_fonts()
    except MissingFontError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def rendered() -> dict:
    """The sample Bundle summarised once per format and language."""
    _fonts_or_skip()
    out = {}
    for lang in ("en", "zh", "en+zh"):
        for fmt in ("html", "md", "pdf"):
            if fmt == "pdf" and lang == "en+zh":
                continue
            data = summarize(sample_bundle(), fmt, lang, TODAY, sample_outcome())
            out[fmt, lang] = pdf_text(data) if fmt == "pdf" else data
    return out


def flat(text: str) -> str:
    """The text a reader sees, with runs of white space made one space (PDF tables, Markdown
    padding); for HTML the text of the page without its markup, for Markdown without escapes."""
    if text.startswith("<!DOCTYPE html>"):
        body = text.split("<body>", 1)[1]
        text = html.unescape(re.sub(r"<[^>]+>", " ", body))
    elif text.startswith("# "):  # Markdown: drop the backslash escapes a viewer would not show
        text = re.sub(r"\\(.)", r"\1", text)
    return " ".join(text.split())


CASES = [(f, lang) for lang in ("en", "zh") for f in ("html", "md", "pdf")]


@pytest.mark.parametrize("fmt,lang", CASES)
def test_patient_name_and_birth_date(rendered, fmt, lang):
    text = rendered[fmt, lang]
    assert "MÜLLER, Anna Maria" in text
    assert "1968-03-14" in text
    assert ("出生日期" in text) == (lang == "zh")


@pytest.mark.parametrize("fmt,lang", CASES)
def test_lab_value_with_its_si_conversion(rendered, fmt, lang):
    text = flat(rendered[fmt, lang])
    # Glucose 126 mg/dL -> 7.0 mmol/L, with the SI LOINC code; creatinine 1.10 mg/dL -> 97 µmol/L
    assert "126" in text and "mg/dL" in text
    assert "7.0 mmol/L" in text and "14749-6" in text
    assert "1.10" in text and "97 µmol/L" in text and "14682-9" in text
    assert "55 mmol/mol" in text and "59261-8" in text      # HbA1c 7.2 % (IFCC)
    assert "135 g/L" in text                                 # hemoglobin 13.5 g/dL
    assert re.search(r"3\.9\s*[–-]\s*5\.5", text)            # the glucose reference range in SI
    assert ("国际单位" in text) == (lang == "zh")
    assert ("偏高" in text) == (lang == "zh")                 # flag H in words


@pytest.mark.parametrize("fmt,lang", CASES)
def test_allergy_and_the_no_known_allergy_statement(rendered, fmt, lang):
    text = flat(rendered[fmt, lang])
    assert "Penicillin" in text and "764146007" in text and "Hives" in text
    assert "716186003" in text                               # the source's statement, with its code
    assert ("过敏与不耐受" in text) == (lang == "zh")
    assert ("中度" in text) == (lang == "zh")                 # reaction severity in words


@pytest.mark.parametrize("fmt,lang", CASES)
def test_recency_marks(rendered, fmt, lang):
    text = flat(rendered[fmt, lang])
    unit = "个月" if lang == "zh" else " mo"
    for months in (6, 12, 24):
        assert f">{months}{unit}" in text, months
    # The newest items (2025-03-02 panel, 2025-05-20 vital signs) carry no mark
    assert not re.search(r"2025-0[35]-\d\d \S*\(?\[?>\d", text)


@pytest.mark.parametrize("fmt,lang", CASES)
def test_sections_a_review_needs(rendered, fmt, lang):
    text = flat(rendered[fmt, lang])
    if lang == "en":
        for heading in ("At a glance", "Timeline (newest first)", "Results", "Imaging", "Procedures",
                        "Immunizations", "Encounters", "Documents", "Data quality"):
            assert heading in text, heading
    else:
        for heading in ("概览", "时间线（由近及远）", "检验检查结果", "影像检查", "手术与操作",
                        "预防接种", "就诊记录", "文档", "数据质量"):
            assert heading in text, heading
    # Imaging: counts and the completeness warning; clinical terms stay as the source wrote them
    assert "CT THORAX WITH CONTRAST" in text and "Thorax" in text
    assert ("2 series, 4 images" in text) == (lang == "en")
    assert ("only 2 of 3 images" in text) == (lang == "en")
    assert ("仅收到 3 幅图像中的 2 幅" in text) == (lang == "zh")
    assert "metformin hydrochloride 500 MG" in text and "Diabetes mellitus type 2" in text
    assert "influenza, injectable, quadrivalent" in text and "Colonoscopy" in text
    # Data quality from the OperationOutcome: the error, and the notes counted
    assert "OBX-14 '2025-02-30' is not a date" in text
    assert ("HL7 v2 segments with no FHIR mapping" in text) == (lang == "en")


def test_timeline_is_newest_first(rendered):
    md = rendered["md", "en"]
    section = md.split("## Timeline (newest first)")[1].split("## Results")[0]
    dates = re.findall(r"^\| (\d{4}(?:-\d\d){0,2})", section, flags=re.M)
    assert len(dates) >= 15
    assert dates == sorted(dates, reverse=True)
    assert dates[0] == "2025-05-20" and dates[-1] == "1995-06-30"


def test_resolved_problems_and_stopped_medications_are_not_current(rendered):
    md = rendered["md", "en"]
    glance = md.split("## At a glance")[1].split("## Timeline")[0]
    assert "Appendicitis" not in glance and "amoxicillin" not in glance
    assert "Appendicitis" in md and "amoxicillin" in md      # still in the timeline


def test_bilingual_labels(rendered):
    html = rendered["html", "en+zh"]
    assert "Allergies and intolerances / 过敏与不耐受" in html
    assert "Date of birth / 出生日期" in html
    assert 'lang="en"' in html


def test_allergy_states():
    none_known = summarize(sample_bundle("none-known"), "md", "en", TODAY)
    assert "**No known allergies**" in none_known
    assert "No known allergy (SNOMED CT 716186003)" in none_known
    absent = summarize(sample_bundle("absent"), "md", "zh", TODAY)
    assert "*无过敏相关信息*" in absent
    assert "716186003" not in absent


def test_without_a_report_the_summary_says_so():
    text = summarize(sample_bundle(), "md", "en", TODAY)
    assert "No conversion report was given" in text


def test_markdown_tables_line_up_in_a_terminal(rendered):
    md = rendered["md", "zh"]
    table = [line for line in md.split("## 时间线")[1].splitlines() if line.startswith("|")][:6]
    assert len({width(line) for line in table}) == 1        # Chinese counts two columns


def test_html_is_self_contained_and_phone_ready(rendered):
    html = rendered["html", "zh"]
    assert 'lang="zh-Hans"' in html and 'name="viewport"' in html
    assert "<style>" in html and "@media print" in html and "@media screen and (max-width" in html
    assert "default-src 'none'" in html                       # Content-Security-Policy: no fetch, no script
    for fetch in ("<link", "<script", "src=\"http", "url(http", "@import"):
        assert fetch not in html


def test_same_input_same_output():
    for fmt in ("html", "md", "pdf"):
        a = summarize(sample_bundle(), fmt, "zh", TODAY, sample_outcome())
        b = summarize(sample_bundle(), fmt, "zh", TODAY, sample_outcome())
        assert a == b, fmt


def test_pdf_pages_are_headed_and_numbered(rendered):
    text = rendered["pdf", "zh"]
    pages = text.split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) >= 2
    for n, page in enumerate(pages, 1):
        head = page.strip().splitlines()[0]
        assert "MÜLLER, Anna Maria" in head and "出生日期 1968-03-14" in head
        assert f"第 {n} 页，共 {len(pages)} 页" in head
    en_pages = [p for p in rendered["pdf", "en"].split("\f") if p.strip()]
    assert f"Page 1 of {len(en_pages)}" in en_pages[0]


def test_default_file_name():
    assert default_file_name(sample_bundle()) == "MÜLLER_Anna_1968-03-14_summary.pdf"
    assert default_file_name({"resourceType": "Bundle"}, "html") == "summary.html"


def test_bad_arguments():
    with pytest.raises(ValueError, match="format"):
        summarize(sample_bundle(), "docx")
    with pytest.raises(ValueError, match="lang"):
        summarize(sample_bundle(), "html", "fr")
    with pytest.raises(ValueError, match="Bundle"):
        summarize({"resourceType": "Patient"})


def test_known_absence_statements_keep_their_code():
    bundle = sample_bundle("absent")
    patient = {"reference": bundle["entry"][0]["fullUrl"]}
    for rtype, key, code, display in (
            ("Procedure", "code", "787480003", "No known procedures"),
            ("Immunization", "vaccineCode", "787482006", "No known immunizations"),
            ("MedicationStatement", "medicationCodeableConcept", "787481004", "No known medications")):
        resource = {"resourceType": rtype, "id": f"absent-{code}", "status": "completed",
                    key: {"coding": [{"system": "http://snomed.info/sct", "code": code,
                                      "display": display}]},
                    "subject" if rtype != "Immunization" else "patient": patient}
        bundle["entry"].append({"fullUrl": f"urn:uuid:absent-{code}", "resource": resource})
    md = summarize(bundle, "md", "zh", TODAY)
    glance = md.split("## 概览")[1].split("## 时间线")[0]
    for code, display in (("787480003", "No known procedures"), ("787482006", "No known immunizations"),
                          ("787481004", "No known medications")):
        assert f"原始记录说明：{display} (SNOMED CT {code})" in glance

"""`medbundle summary` (the typer command the lead registers) and `write_summary` for
`medbundle convert --summary FILE`."""
from __future__ import annotations

import pytest
import typer
from test_summary_data import pdf_text, sample_bundle, sample_outcome
from typer.testing import CliRunner

from converter.summary import fonts
from converter.summary.command import summary, write_summary
from converter.writers.json import dumps

app = typer.Typer()
app.command()(summary)
runner = CliRunner()


@pytest.fixture
def bundle_file(tmp_path):
    path = tmp_path / "bundle.json"
    path.write_bytes(dumps(sample_bundle()))
    return path


@pytest.fixture
def no_cjk_font(monkeypatch):
    monkeypatch.delenv("MEDBUNDLE_CJK_FONT", raising=False)
    monkeypatch.setattr(fonts, "CANDIDATES", ())
    monkeypatch.setattr(fonts, "_from_fontconfig", lambda: "")
    fonts.find_fonts.cache_clear()
    yield
    fonts.find_fonts.cache_clear()


def test_html_by_extension(bundle_file, tmp_path):
    out = tmp_path / "out" / "summary.html"
    res = runner.invoke(app, [str(bundle_file), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "MÜLLER, Anna Maria" in out.read_text(encoding="utf-8")


def test_markdown_to_stdout(bundle_file):
    res = runner.invoke(app, [str(bundle_file), "--format", "md", "--lang", "zh"])
    assert res.exit_code == 0
    assert res.stdout.startswith("# 患者病历摘要")


def test_pdf_default_name_in_the_current_folder(bundle_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        fonts.find_fonts()
    except fonts.MissingFontError as exc:
        pytest.skip(str(exc))
    res = runner.invoke(app, [str(bundle_file), "--format", "pdf", "--lang", "zh"])
    assert res.exit_code == 0, res.output
    pdf = tmp_path / "MÜLLER_Anna_1968-03-14_summary.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert "患者病历摘要" in pdf_text(pdf.read_bytes())


def test_report_becomes_data_quality(bundle_file, tmp_path):
    report = tmp_path / "issues.json"
    report.write_bytes(dumps(sample_outcome()))
    res = runner.invoke(app, [str(bundle_file), "--format", "md", "--report", str(report)])
    assert res.exit_code == 0
    assert "OBX-14 '2025-02-30' is not a date" in res.stdout


def test_bad_inputs_exit_2(tmp_path, bundle_file):
    not_bundle = tmp_path / "patient.json"
    not_bundle.write_bytes(dumps({"resourceType": "Patient"}))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    for args, message in (([str(not_bundle)], "not a FHIR Bundle"),
                          ([str(broken)], "not JSON"),
                          ([str(tmp_path / "missing.json")], "cannot read"),
                          ([str(bundle_file), "-o", str(tmp_path / "x.docx")], "extension")):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, args
        assert message in res.stderr


def test_missing_cjk_font_names_the_package(bundle_file, tmp_path, no_cjk_font):
    with pytest.raises(fonts.MissingFontError, match="fonts-noto-cjk"):
        fonts.find_fonts()
    res = runner.invoke(app, [str(bundle_file), "-o", str(tmp_path / "s.pdf")])
    assert res.exit_code == 2
    assert "apt-get install fonts-noto-cjk" in res.stderr
    assert not (tmp_path / "s.pdf").exists()


def test_write_summary_for_convert(tmp_path):
    path = write_summary(sample_bundle(), tmp_path / "s.md", "en+zh", sample_outcome())
    assert "Allergies and intolerances / 过敏与不耐受" in path.read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="extension"):
        write_summary(sample_bundle(), tmp_path / "s.txt")

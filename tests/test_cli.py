"""The medbundle command line: stdin, -o, --out-dir, NDJSON, --report, validate, --help."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from converter.cli import app

from conftest import HL7_CORPUS, ROOT

runner = CliRunner()
ORU = HL7_CORPUS / "test_conversions_ORU_R01.hl7"
MSH = "MSH|^~\\&|A|B|C|D|202401011200+0000||ADT^A01|{n}|P|2.5\r"


def _two_patients() -> bytes:
    return (MSH.format(n=1) + "PID|1||1^^^H^MR||Doe^Jane||19800101|F\rPV1|1|I\r"
            + MSH.format(n=2) + "PID|1||2^^^H^MR||Roe^Rick||19700202|M\rPV1|1|O\r").encode()


def test_stdin_to_stdout():
    res = runner.invoke(app, ["convert", "-"], input=ORU.read_bytes())
    assert res.exit_code == 0
    bundle = json.loads(res.stdout)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"


def test_output_file_and_report(tmp_path):
    out, report = tmp_path / "b.json", tmp_path / "issues.json"
    res = runner.invoke(app, ["convert", str(ORU), "-o", str(out), "--report", str(report)])
    assert res.exit_code == 0 and res.stdout == ""
    assert json.loads(out.read_text())["resourceType"] == "Bundle"
    outcome = json.loads(report.read_text())
    assert outcome["resourceType"] == "OperationOutcome"
    unmapped = [i for i in outcome["issue"]
                if i["details"]["coding"][0]["code"] == "unmapped-field"]
    assert unmapped and all("location" in i for i in unmapped)


def test_several_patients_ndjson_outdir_and_o(tmp_path):
    src = tmp_path / "two.hl7"
    src.write_bytes(_two_patients())
    res = runner.invoke(app, ["convert", str(src)])
    lines = res.stdout.strip().splitlines()
    assert res.exit_code == 0 and len(lines) == 2
    assert all(json.loads(line)["resourceType"] == "Bundle" for line in lines)
    res = runner.invoke(app, ["convert", str(src), "-o", str(tmp_path / "x.json")])
    assert res.exit_code == 2 and "2 patients" in res.stderr
    res = runner.invoke(app, ["convert", str(src), "--out-dir", str(tmp_path / "out")])
    assert res.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "Doe_Jane_1980-01-01.json", "Roe_Rick_1970-02-02.json"]


def test_directory_input_recursive(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "m.hl7").write_bytes(ORU.read_bytes())
    (tmp_path / "a" / "readme.txt").write_text("not a message")
    res = runner.invoke(app, ["convert", str(tmp_path)])
    assert res.exit_code == 0
    assert json.loads(res.stdout)["entry"]


def test_validate_command(tmp_path):
    out = tmp_path / "b.json"
    runner.invoke(app, ["convert", str(ORU), "-o", str(out)])
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0
    bundle = json.loads(out.read_text())
    bundle["entry"][0]["resource"]["birthDate"] = "1st of June"
    out.write_text(json.dumps(bundle))
    res = runner.invoke(app, ["validate", str(out)])
    assert res.exit_code == 1 and "Bundle.entry[0].resource.birthDate" in res.stderr
    out.write_text("[1, 2]")
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 2
    out.write_text("{not json")
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 2


def test_help_on_every_command():
    for cmd in ([], ["convert"], ["validate"]):
        res = runner.invoke(app, cmd + ["--help"])
        assert res.exit_code == 0 and "Usage" in res.stdout
    assert "Examples" in runner.invoke(app, ["convert", "--help"]).stdout


def test_every_package_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in
             (ROOT / "converter").rglob("__init__.py")}
    assert found <= listed, found - listed
    assert "converter.mappings" in listed and (ROOT / "mappings" / "__init__.py").exists()


def test_readme_quick_start_has_two_commands():
    text = (ROOT / "README.md").read_text()
    assert text.startswith("# medbundle")
    block = text.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    assert len(block.strip().splitlines()) == 2
    assert Path(ROOT / ".ci" / "run").exists()


def test_convert_writes_a_summary(tmp_path):
    html, md = tmp_path / "s.html", tmp_path / "s.md"
    assert runner.invoke(app, ["convert", str(ORU), "-o", str(tmp_path / "b.json"),
                               "--summary", str(html)]).exit_code == 0
    assert "EVERYWOMAN" in html.read_text() and "1970-06-01" in html.read_text()
    res = runner.invoke(app, ["summary", str(tmp_path / "b.json"), "-o", str(md), "--lang", "zh"])
    assert res.exit_code == 0 and "出生日期" in md.read_text()
    bad = runner.invoke(app, ["convert", str(ORU), "--summary", str(tmp_path / "s.txt")])
    assert bad.exit_code == 2 and "extension" in bad.stderr


def test_keep_source_carries_the_cda_document(tmp_path):
    import base64

    ccd = ROOT / "samples" / "cross-source" / "ccd.xml"
    res = runner.invoke(app, ["convert", str(ccd), "--keep-source"])
    assert res.exit_code == 0, res.stderr
    docs = [e["resource"] for e in json.loads(res.stdout)["entry"]
            if e["resource"]["resourceType"] == "DocumentReference"]
    originals = [a["attachment"] for d in docs for a in d["content"]
                 if a["attachment"].get("contentType", "").startswith(("text/xml",
                                                                       "application/xml"))]
    assert originals and base64.b64decode(originals[0]["data"]) == ccd.read_bytes()
    plain = json.loads(runner.invoke(app, ["convert", str(ccd)]).stdout)
    assert not any(e["resource"]["resourceType"] == "DocumentReference" and any(
        a["attachment"].get("contentType", "").startswith(("text/xml", "application/xml"))
        for a in e["resource"]["content"]) for e in plain["entry"])


def test_document_bundle_type(tmp_path):
    res = runner.invoke(app, ["convert", str(ROOT / "samples" / "cross-source"),
                              "--bundle-type", "document", "--timestamp", "2016-03-01T09:00:00Z"])
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["type"] == "document" and doc["timestamp"] == "2016-03-01T09:00:00Z"
    assert doc["entry"][0]["resource"]["resourceType"] == "Composition"
    assert runner.invoke(app, ["validate", "-", "--profile", "ips"]).exit_code == 2
    out = tmp_path / "ips.json"
    out.write_text(res.stdout)
    assert runner.invoke(app, ["validate", str(out), "--profile", "ips"]).exit_code == 0

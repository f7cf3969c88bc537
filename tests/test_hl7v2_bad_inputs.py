"""Bad inputs: each gives a clear issue with a location and the right exit code, never a traceback
and never a clean report for a damaged message."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from converter import convert
from converter.cli import app

from conftest import HL7_CORPUS

runner = CliRunner()
ORU = (HL7_CORPUS / "test_conversions_ORU_R01.hl7").read_bytes()
MSH = b"MSH|^~\\&|A|B|C|D|202401011200+0000||ADT^A01|1|P|2.5\r"
PID = b"PID|1||123^^^H^MR||Doe^John||19800101|M\r"
PV1 = b"PV1|1|I\r"


def run(tmp_path, data: bytes, name: str = "in.hl7"):
    path = tmp_path / name
    path.write_bytes(data)
    res = runner.invoke(app, ["convert", str(path)])
    return res, path


def test_empty_file(tmp_path):
    res, path = run(tmp_path, b"")
    assert res.exit_code == 2
    assert f"{path}: the input is empty" in res.stderr
    assert res.stdout == ""


def test_text_that_is_not_hl7(tmp_path):
    res, path = run(tmp_path, b"Dear doctor,\nplease find attached...\n")
    assert res.exit_code == 2
    assert "not a recognised format" in res.stderr and str(path) in res.stderr


def test_binary_garbage(tmp_path):
    res, _ = run(tmp_path, bytes(range(256)) * 4)
    assert res.exit_code == 2
    assert "Traceback" not in res.stderr


def test_message_cut_mid_segment_is_an_error(tmp_path):
    cut = ORU[:ORU.index(b"OBX|1|") + 40]  # inside OBX-5 of the first OBX
    res, path = run(tmp_path, cut)
    assert res.exit_code == 1
    assert "truncated" in res.stderr and "segment OBX" in res.stderr
    bundle = json.loads(res.stdout)
    assert bundle["meta"]["tag"][0]["code"] == "conversion-errors"


def test_message_cut_mid_field_is_an_error():
    cut = MSH + PID[:20]  # inside PID-3: PID-5 and the required PV1 are gone
    result = convert(cut)
    assert not result.ok
    errors = [i for i in result.issues if i.code == "truncated" and i.is_error]
    assert errors and errors[0].location.segment == "PID" and errors[0].location.line == 2


def test_cut_that_cannot_be_proven_is_still_not_clean():
    result = convert(MSH + PID + PV1[:-1] + b"|||||||||||||||||||||||||||||||||||||||||||2024")
    assert any(i.code == "truncated" for i in result.issues)


def test_msh_without_msh9(tmp_path):
    res, _ = run(tmp_path, b"MSH|^~\\&|A|B|C|D|20240101|||1|P|2.5\r" + PID)
    assert res.exit_code == 1
    assert "field MSH-9" in res.stderr and "message type is empty" in res.stderr


def test_unknown_version_is_tolerated_with_a_warning(tmp_path):
    res, _ = run(tmp_path, MSH.replace(b"|2.5", b"|9.9") + PID + PV1)
    assert res.exit_code == 0
    assert "unknown HL7 version '9.9'" in res.stderr and "field MSH-12" in res.stderr
    assert json.loads(res.stdout)["entry"][0]["resource"]["resourceType"] == "Patient"


def test_unknown_message_type_maps_known_segments(tmp_path):
    res, _ = run(tmp_path, MSH.replace(b"ADT^A01", b"QQQ^Q99") + PID + b"ZZZ|1|x\r")
    assert res.exit_code == 0
    assert "no structure known for QQQ^Q99" in res.stderr
    types = [e["resource"]["resourceType"] for e in json.loads(res.stdout)["entry"]]
    assert "Patient" in types


def test_msh_without_encoding_characters():
    result = convert(b"MSH|\rPID|1||1\r")
    assert result.exit_code == 2
    assert any(i.code == "not-hl7" and i.location.segment == "MSH" for i in result.issues)


def test_mllp_frame_not_closed():
    result = convert(b"\x0b" + MSH + PID + PV1)
    assert any(i.code == "truncated" and "MLLP" in i.message for i in result.issues)
    assert not result.ok


def test_batch_count_mismatch():
    result = convert(b"BHS|^~\\&\r" + MSH + PID + PV1 + b"BTS|2\r")
    assert any(i.code == "truncated" and i.location.segment == "BTS" for i in result.issues)


def test_one_bad_file_does_not_stop_the_others(tmp_path):
    good = tmp_path / "good.hl7"
    good.write_bytes(ORU)
    bad = tmp_path / "bad.hl7"
    bad.write_bytes(b"not hl7 at all")
    res = runner.invoke(app, ["convert", str(good), str(bad)])
    assert res.exit_code == 1
    assert json.loads(res.stdout)["resourceType"] == "Bundle"
    assert "bad.hl7" in res.stderr


@pytest.mark.parametrize("data", [b"MSH|^~\\&|" + b"\xff" * 50, MSH + b"PID|" + b"^" * 5000,
                                  MSH + b"OBX|1|NM|x||\\X" + b"ZZ" * 10 + b"\\|\r"])
def test_hostile_inputs_never_raise(data):
    result = convert(data)
    assert result.exit_code in (0, 1, 2)


def test_message_without_pid_says_so():
    data = (b"MSH|^~\\&|A|B|C|D|202401011200+0000||ORM^O01|1|P|2.5\r"
            b"ORC|NW|P1\rOBR|1|P1||24317-0^Hemogram^LN\r")
    result = convert(data)
    missing = [i for i in result.issues if i.code == "missing-segment"]
    assert missing and missing[0].severity == "error" and "ServiceRequest" in missing[0].message
    assert missing[0].location.segment == "MSH" and missing[0].location.message == 1


def test_segments_whose_parent_is_missing_are_reported():
    """PV2 with no PV1 before it, MRG with no PID: not mapped, and said so."""
    data = (b"MSH|^~\\&|A|B|C|D|202401011200+0000||ADT^A40|1|P|2.5\r"
            b"PV2|||^Chest pain\rMRG|77^^^H^MR\r")
    result = convert(data)
    reported = {i.location.segment for i in result.issues if i.code == "unmapped-segment"}
    assert {"PV2", "MRG"} <= reported

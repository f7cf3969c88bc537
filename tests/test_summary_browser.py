"""A real browser: headless Chromium renders the HTML summary to a PNG, and a hostile `<script>`
or `onerror` in the source never runs (runs only where Chromium is installed)."""
from __future__ import annotations

import importlib.util
import shutil
import struct
from pathlib import Path

import pytest
from conftest import ROOT
from test_summary_data import TODAY, sample_bundle, sample_outcome

from converter.summary import summarize

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists() and not shutil.which("chromium"),
                                reason="Chromium is not installed (apt-get install -y chromium)")

PAYLOAD = ("<script>document.body.setAttribute('data-pwned','script')</script>"
           "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">")


def _script():
    spec = importlib.util.spec_from_file_location("screenshot_summary",
                                                  ROOT / "scripts" / "screenshot_summary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_screenshot_of_the_summary(tmp_path):
    html = tmp_path / "summary.html"
    html.write_text(summarize(sample_bundle(), "html", "zh", TODAY, sample_outcome()), encoding="utf-8")
    png = _script().screenshot(html, tmp_path / "summary.png", width=390, height=1400)
    assert _png_size(png) == (390, 1400)
    from PIL import Image

    with Image.open(png) as im:  # not a blank page: text and the coloured badges are drawn
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200


def test_hostile_text_does_not_run_in_the_browser(tmp_path):
    bundle = sample_bundle()
    for entry in bundle["entry"]:
        r = entry["resource"]
        if r["resourceType"] == "Observation" and "note" in r:
            r["note"] = [{"text": PAYLOAD}]
        if r["resourceType"] == "Condition":
            r["code"]["text"] = PAYLOAD
    html = tmp_path / "hostile.html"
    html.write_text(summarize(bundle, "html", "en", TODAY), encoding="utf-8")
    dom = _script().dump_dom(html)
    assert "</html>" in dom and "MÜLLER, Anna Maria" in dom
    assert "data-pwned=" not in dom.replace("setAttribute('data-pwned'", "")
    assert "<script" not in dom and "<img" not in dom
    assert "&lt;script&gt;document.body.setAttribute" in dom   # shown as text


def test_printed_pages_are_headed_and_numbered(tmp_path):
    from test_summary_data import pdf_text

    html = tmp_path / "summary.html"
    html.write_text(summarize(sample_bundle(), "html", "en", TODAY, sample_outcome()), encoding="utf-8")
    pages = [p for p in pdf_text(_script().print_pdf(html, tmp_path / "printed.pdf").read_bytes())
             .split("\f") if p.strip()]
    assert len(pages) >= 3
    for n, page in enumerate(pages, 1):
        assert "MÜLLER, Anna Maria · born 1968-03-14" in page, n
        assert f"Page {n} of {len(pages)}" in page, n


def test_screenshot_script_takes_a_bundle(tmp_path):
    from converter.writers.json import dumps

    source = tmp_path / "bundle.json"
    source.write_bytes(dumps(sample_bundle()))
    out = tmp_path / "from-bundle.png"
    assert _script().main([str(source), "-o", str(out), "--lang", "en+zh", "--today", "2025-06-15",
                           "--width", "800", "--height", "600"]) == 0
    assert _png_size(out) == (800, 600)

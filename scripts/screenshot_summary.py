"""Render an HTML summary in headless Chromium and save a PNG, to look at it as a reader would.

    python scripts/screenshot_summary.py summary.html -o summary.png
    python scripts/screenshot_summary.py bundle.json -o summary.png --lang zh --width 390

A Bundle (.json) is summarised first. Chromium runs offline with a throw-away profile; nothing is
fetched (the summary has no external resource, and its Content-Security-Policy forbids any).
Debian: apt-get install -y chromium
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--hide-scrollbars")


def find_chromium() -> str | None:
    """The Chromium executable on PATH, or None."""
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def chromium(args: list[str], profile: str, timeout: float = 90) -> subprocess.CompletedProcess:
    """Run headless Chromium with the offline flags and a throw-away profile."""
    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("Chromium not found: apt-get install -y chromium")
    cmd = [exe, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)


def screenshot(html: Path, png: Path, width: int = 1000, height: int = 2400) -> Path:
    """A PNG of the page at `width` x `height` CSS pixels."""
    with tempfile.TemporaryDirectory(prefix="medbundle-chromium-") as profile:
        proc = chromium([f"--window-size={width},{height}", f"--screenshot={png.resolve()}",
                         html.resolve().as_uri()], profile)
    if not png.is_file():
        raise RuntimeError(f"Chromium wrote no screenshot (exit {proc.returncode}): "
                           f"{proc.stderr.decode(errors='replace')[-500:]}")
    return png


def print_pdf(html: Path, pdf: Path) -> Path:
    """The page printed to PDF by Chromium, as a reader pressing Print would get it."""
    with tempfile.TemporaryDirectory(prefix="medbundle-chromium-") as profile:
        chromium(["--no-pdf-header-footer", f"--print-to-pdf={pdf.resolve()}", html.resolve().as_uri()],
                 profile)
    if not pdf.is_file():
        raise RuntimeError("Chromium printed no PDF")
    return pdf


def dump_dom(html: Path) -> str:
    """The DOM after Chromium loaded the page (scripts, if any could run, would have run)."""
    with tempfile.TemporaryDirectory(prefix="medbundle-chromium-") as profile:
        proc = chromium(["--dump-dom", html.resolve().as_uri()], profile)
    return proc.stdout.decode("utf-8", errors="replace")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", type=Path, help="an HTML summary, or a FHIR Bundle (.json)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the PNG to write")
    parser.add_argument("--width", type=int, default=1000, help="CSS pixels (390 for a phone)")
    parser.add_argument("--height", type=int, default=2400)
    parser.add_argument("--lang", default="en", choices=("en", "zh", "en+zh"))
    parser.add_argument("--today", type=date.fromisoformat, default=None,
                        help="the day recency marks count from (YYYY-MM-DD)")
    args = parser.parse_args(argv)
    html = args.input
    with tempfile.TemporaryDirectory(prefix="medbundle-summary-") as tmp:
        if html.suffix.lower() == ".json":
            from converter.summary import summarize
            from converter.writers.json import loads

            html = Path(tmp) / "summary.html"
            html.write_text(summarize(loads(args.input.read_bytes()), "html", args.lang, args.today),
                            encoding="utf-8")
        screenshot(html, args.output, args.width, args.height)
    sys.stderr.write(f"wrote {args.output}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

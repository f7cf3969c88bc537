"""`medbundle summary` and the `--summary FILE` option of `medbundle convert`, as plain functions.

The lead registers them in cli.py:

    from .summary.command import summary, write_summary
    app.command(epilog=summary.__doc__ ...)(summary)      # medbundle summary BUNDLE.json -o FILE
    # in convert(): --summary FILE, after the Bundle is written:
    #     write_summary(result.bundles[0], summary_path, lang, operation_outcome(result.issues))
"""
from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from . import FORMATS, default_file_name, summarize
from .fonts import MissingFontError


class SummaryFormat(str, Enum):
    html = "html"
    md = "md"
    pdf = "pdf"


class Language(str, Enum):
    en = "en"
    zh = "zh"
    en_zh = "en+zh"


EXTENSIONS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".pdf": "pdf"}


def format_for(path: Path, given: str | None = None) -> str:
    """The summary format: `given`, else from the file extension; ValueError when neither says."""
    if given:
        return given
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: cannot tell the summary format from the extension "
                         f"(use .html, .md or .pdf, or --format {'|'.join(FORMATS)})")
    return fmt


def write_summary(bundle: dict, path: Path, lang: str = "en", outcome: dict | None = None,
                  fmt: str | None = None) -> Path:
    """Write the summary of `bundle` to `path` (format from the extension unless `fmt`)."""
    fmt = format_for(path, fmt)
    out = summarize(bundle, format=fmt, lang=lang, outcome=outcome)
    data = out if isinstance(out, bytes) else out.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _fail(text: str) -> None:
    sys.stderr.write(f"medbundle: {text}\n")
    raise typer.Exit(2)


def summary(
    bundle: Path = typer.Argument(..., help="A FHIR R4 Bundle (JSON), e.g. written by medbundle convert."),
    output: Optional[Path] = typer.Option(
        None, "-o", "--output",
        help="Write here; the format follows the extension (.html, .md, .pdf). Without -o: PDF goes "
             "to ./<FAMILY>_<Given>_<birth date>_summary.pdf, HTML and Markdown to stdout."),
    fmt: Optional[SummaryFormat] = typer.Option(None, "--format",
                                                help="html, md or pdf (default: from -o, else html)."),
    lang: Language = typer.Option(Language.en, "--lang",
                                  help="en, zh (Simplified Chinese) or en+zh (bilingual labels)."),
    report: Optional[Path] = typer.Option(None, "--report",
                                          help="An OperationOutcome (medbundle convert --report) to "
                                               "show as data quality."),
) -> None:
    """Write a human-readable summary of a Bundle: HTML, Markdown or PDF, in English or Chinese.

    Examples:

      medbundle summary bundle.json -o summary.html

      medbundle summary bundle.json --format pdf --lang zh

    Exit codes: 0 written; 2 unreadable Bundle, unknown format, or no CJK font for the PDF.
    """
    from ..writers.json import loads

    try:
        data = loads(bundle.read_bytes())
        outcome = loads(report.read_bytes()) if report else None
    except OSError as exc:
        _fail(f"{exc.filename}: cannot read: {exc.strerror or exc}")
    except ValueError as exc:
        _fail(f"not JSON: {exc}")
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        _fail(f"{bundle}: not a FHIR Bundle")
    try:
        chosen = fmt.value if fmt else (format_for(output) if output else "html")
        if output is None and chosen == "pdf":
            output = Path(default_file_name(data, "pdf"))
        if output is None:
            text = summarize(data, format=chosen, lang=lang.value, outcome=outcome)
            sys.stdout.write(text if isinstance(text, str) else text.decode("utf-8"))
            sys.stdout.flush()
            raise typer.Exit(0)
        write_summary(data, output, lang.value, outcome, chosen)
    except MissingFontError as exc:
        _fail(str(exc))
    except ValueError as exc:
        _fail(str(exc))
    sys.stderr.write(f"medbundle: wrote {output}\n")
    raise typer.Exit(0)

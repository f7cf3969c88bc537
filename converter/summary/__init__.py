"""The human-readable summary of a Bundle: HTML, Markdown or PDF, in English, Chinese or both.

    from converter.summary import summarize
    html = summarize(bundle)                                   # str
    pdf = summarize(bundle, format="pdf", lang="zh")           # bytes

Built only from the Bundle, so it shows exactly what the Bundle holds.
"""
from __future__ import annotations

from datetime import date

from .fhirtext import human_name
from .i18n import Words
from .layout import lay_out
from .model import build
from .recency import today_utc

FORMATS = ("html", "md", "pdf")


def summarize(bundle: dict, format: str = "html", lang: str = "en", today: date | None = None,
              outcome: dict | None = None) -> str | bytes:
    """The summary of `bundle`: str for "html" and "md", bytes for "pdf".

    `today` fixes the day the recency marks count from (default: today in UTC, or
    SOURCE_DATE_EPOCH); `outcome` is the conversion's OperationOutcome, shown as data quality.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    words = Words(lang)
    today = today or today_utc()
    page = lay_out(build(bundle, today, outcome), words)
    if format == "html":
        from .html import render
        return render(page)
    if format == "md":
        from .markdown import render as render_md
        return render_md(page)
    from .pdf import render as render_pdf
    return render_pdf(page, today)


def default_file_name(bundle: dict, format: str = "pdf") -> str:
    """`<FAMILY>_<Given>_<YYYY-MM-DD>_summary.<ext>` from the Bundle's Patient (birth date)."""
    patient = next((e["resource"] for e in bundle.get("entry") or []
                    if isinstance(e, dict) and isinstance(e.get("resource"), dict)
                    and e["resource"].get("resourceType") == "Patient"), {})
    _, family, given = human_name(patient.get("name"))
    parts = [family.upper(), given, patient.get("birthDate") or "", "summary"]
    stem = "_".join(p for p in parts if p)
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem)
    return f"{safe}.{format}"


__all__ = ["summarize", "default_file_name", "FORMATS"]

"""The summary as one PDF (fpdf2): every page headed with name and date of birth and numbered,
Chinese written with an embedded subset of a CJK font (fonts.py)."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from fpdf import FPDF, FontFace
from fpdf.enums import XPos, YPos

from .fonts import FontSet, find_fonts
from .layout import Card, Cell, Page, Para, Subheading, Table

FAMILY = "cjk"
INK, MUTED, ACCENT, ABNORMAL = (26, 26, 26), (95, 99, 104), (11, 83, 148), (165, 14, 14)
BAND, WARN_FILL, WARN_INK = (244, 246, 248), (255, 244, 229), (138, 75, 0)
BODY, SMALL, TABLE = 9.5, 8, 8.5  # font sizes (pt)
LINE = 4.6  # mm per line of body text


class _Document(FPDF):
    """An A4 document whose header repeats the patient's name, date of birth and page number."""

    def __init__(self, page: Page, fonts: FontSet) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.summary = page
        self.set_margins(14, 14, 14)
        self.set_auto_page_break(True, margin=14)
        self.add_font(FAMILY, "", fonts.regular.path, collection_font_number=fonts.regular.index)
        # A font without a bold face (WenQuanYi) is not loaded twice: bold text is set regular.
        self._bold_style = "B" if fonts.bold != fonts.regular else ""
        self._bold_emphasis = "BOLD" if self._bold_style else None
        if self._bold_style:
            self.add_font(FAMILY, "B", fonts.bold.path, collection_font_number=fonts.bold.index)
        if fonts.fallback is not None:
            self.add_font("fallback", "", fonts.fallback.path)  # bold text falls back to it too
            self.set_fallback_fonts(["fallback"], exact_match=False)

    def header(self) -> None:
        self.set_font(FAMILY, "", SMALL)
        self.set_text_color(*MUTED)
        label = self.summary.page_label.format(page=self.page_no(), pages=self.str_alias_nb_pages)
        self.cell(0, 5, self.summary.running_head, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, label, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*MUTED)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(3)
        self.set_text_color(*INK)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FAMILY, "", 7)
        self.set_text_color(*MUTED)
        self.cell(0, 4, self.summary.footer, align="C")

    # --- text blocks ------------------------------------------------------------------------
    def para(self, text: str, size: float = BODY, bold: bool = False, color=INK, fill=None) -> None:
        self.set_font(FAMILY, self._bold_style if bold else "", size)
        self.set_text_color(*color)
        if fill:
            self.set_fill_color(*fill)
        self.multi_cell(0, size * 0.48, text, fill=bool(fill), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)
        self.set_fill_color(255, 255, 255)  # table rows take the current fill colour

    def heading(self, text: str) -> None:
        if self.get_y() > self.h - 60:  # keep a heading with the start of its section
            self.add_page()
        self.ln(3)
        self.para(text, 13, True, ACCENT)
        self.set_draw_color(*ACCENT)
        self.line(self.l_margin, self.get_y() + 0.5, self.w - self.r_margin, self.get_y() + 0.5)
        self.ln(2.5)

    def subheading(self, text: str) -> None:
        if self.get_y() > self.h - 30:
            self.add_page()
        self.ln(1.5)
        self.para(text, 10.5, True)
        self.ln(0.8)

    # --- tables -----------------------------------------------------------------------------
    def grid(self, t: Table) -> None:
        self.set_font(FAMILY, "", TABLE)
        rows = [[_cell_text(c, (t.levels[n] if t.levels and i == t.indent else 0))
                 for i, c in enumerate(row)] for n, row in enumerate(t.rows)]
        widths = self._widths(t.columns, rows)
        self.set_draw_color(217, 220, 225)
        with self.table(col_widths=widths, width=sum(widths), align="LEFT", text_align="LEFT",
                        line_height=TABLE * 0.45, padding=(0.8, 1.2), v_align="TOP",
                        borders_layout="HORIZONTAL_LINES",
                        headings_style=FontFace(emphasis=self._bold_emphasis, fill_color=BAND),
                        first_row_as_headings=True, repeat_headings=1) as table:
            head = table.row()
            for col in t.columns:
                head.cell(col)
            for cells, texts in zip(t.rows, rows):
                row = table.row()
                for c, text in zip(cells, texts):
                    strong = FontFace(emphasis=self._bold_emphasis, color=ABNORMAL)
                    row.cell(text, style=strong if c.strong else None)
        self.ln(2)

    def _widths(self, columns: list[str], rows: list[list[str]]) -> list[float]:
        """Column widths (mm) in proportion to their content, none wider than 45% of the page."""
        available = self.epw - 0.01
        self.set_font(FAMILY, self._bold_style, TABLE)
        heads = [self.get_string_width(col) for col in columns]
        self.set_font(FAMILY, "", TABLE)
        natural = []
        for i, head in enumerate(heads):
            longest = max([head] + [self.get_string_width(line) for r in rows for line in r[i].split("\n")])
            natural.append(min(max(longest + 4, 12), available * 0.45))
        total = sum(natural)
        scale = available / total if total > available or total > available * 0.6 else 1
        return [w * scale for w in natural]

    def card(self, c: Card) -> None:
        if self.get_y() > self.h - 45:
            self.add_page()
        self.ln(1)
        self.para(c.title, 10.5, True)
        if c.code:
            self.para(c.code, SMALL, color=MUTED)
        meta = ([c.date + (f" [{c.mark}]" if c.mark else "")] if c.date else []) + c.meta
        if meta:
            self.para(" · ".join(meta), SMALL, color=MUTED)
        for w in c.warnings:
            self.ln(0.5)
            self.para(f"⚠ {w}", BODY, color=WARN_INK, fill=WARN_FILL)
        self.ln(1)
        if c.table is not None:
            self.grid(c.table)
        for note in c.notes:
            self.para(note, SMALL)
        self.ln(1.5)


def _cell_text(c: Cell, level: int = 0) -> str:
    """A cell's lines: text with its recency mark, then codes, then a note."""
    first = ("↳ " * level) + c.text + (f" [{c.mark}]" if c.mark else "")
    return "\n".join(x for x in (first, c.code, c.note) if x)


def render(page: Page, today: date) -> bytes:
    """The PDF bytes of a laid-out summary (dated `today`, so the same input gives the same file)."""
    doc = _Document(page, find_fonts())
    doc.set_title(f"{page.title}: {page.running_head}")
    doc.set_author("medbundle")
    doc.set_lang(page.html_lang)
    doc.set_creation_date(datetime.combine(today, time(), tzinfo=timezone.utc))
    doc.add_page()
    doc.para(page.title, 16, True, ACCENT)
    doc.para(f"{page.name} · {page.born}", 12, True)
    doc.ln(1.5)
    doc.set_font(FAMILY, "", BODY)
    label_width = max(doc.get_string_width(label) for label, _ in page.facts) + 4
    for label, values in page.facts:
        doc.set_font(FAMILY, "", BODY)
        doc.set_text_color(*MUTED)
        doc.cell(label_width, LINE, label)
        doc.set_text_color(*INK)
        doc.multi_cell(0, LINE, "\n".join(values), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.ln(1.5)
    doc.para(page.intro, SMALL, color=MUTED)
    doc.para(page.legend, SMALL, color=MUTED)
    for sec in page.sections:
        doc.heading(sec.title)
        for b in sec.blocks:
            if isinstance(b, Subheading):
                doc.subheading(b.text)
            elif isinstance(b, Para):
                if b.style == "warning":
                    doc.para(f"⚠ {b.text}", BODY, color=WARN_INK, fill=WARN_FILL)
                else:
                    doc.para(b.text, BODY, b.style == "statement",
                             MUTED if b.style in ("empty", "note") else INK)
                doc.ln(1)
            elif isinstance(b, Table):
                doc.grid(b)
            elif isinstance(b, Card):
                doc.card(b)
    return bytes(doc.output())

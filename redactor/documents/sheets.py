"""A form's table as a spreadsheet (xlsx) or a landscape PDF: the 관리대장 (별지 2호), the 설치현황 (별지 1호)."""

from __future__ import annotations

import io
from collections.abc import Sequence

# What a spreadsheet takes for the start of a formula (or of DDE), as OWASP's CSV-injection note lists them.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def xlsx_table(sheet: str, headers: Sequence[str], rows: Sequence[Sequence]) -> bytes:
    """Every value is data: text that looks like a formula ("=HYPERLINK(...)") stays text, and control characters
    that the format cannot hold are dropped rather than failing the export."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(headers))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for i, r in enumerate(rows, start=2):
        for j, value in enumerate(r, start=1):
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            cell = ws.cell(row=i, column=j, value=value)
            if isinstance(value, str):  # user text never becomes a formula (an agency "=HYPERLINK(...)")
                cell.data_type = "s"
                # and Excel's quote prefix keeps it text when someone edits the cell
                cell.quotePrefix = value.startswith(FORMULA_START)
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def pdf_table(title: str, form_label: str, headers: Sequence[str], rows: Sequence[Sequence],
              widths_mm: Sequence[float]) -> bytes:
    """A4 landscape, the form's label ("[별지 2호서식]") above its title, the header row repeated on every page."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    from redactor.documents.fonts import styles

    st = styles()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), title=title, leftMargin=8 * mm, rightMargin=8 * mm,
                            topMargin=10 * mm, bottomMargin=10 * mm)

    def cell(v) -> Paragraph:
        return Paragraph(escape(str(v)), st["cell"])

    data = [[cell(h) for h in headers]] + [[cell(v) for v in r] for r in rows]
    table = Table(data, colWidths=[w * mm for w in widths_mm], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dddddd")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    doc.build([Paragraph(form_label, st["small"]), Paragraph(title, st["title"]), table])
    return buf.getvalue()

"""Exports of the 관리대장: JSONL (verifiable offline with the public key), xlsx and PDF (별지 2호 columns in order)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from redactor.ledger.entry import COLUMNS, HEADERS, canonical, checkpoint_dict, entry_dict
from redactor.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerPersonal

FORM_TITLE = "영상정보제공 관리대장"
FORMATS = ("jsonl", "xlsx", "pdf")


def jsonl_lines(session: Session) -> Iterator[bytes]:
    """Each entry as its canonical bytes (the exact leaf input), followed by the checkpoint signed after it."""
    checkpoints = {cp.tree_size: cp for cp in session.scalars(select(LedgerCheckpoint))}
    for row in session.scalars(select(LedgerEntry).order_by(LedgerEntry.number)):
        yield canonical(entry_dict(row)) + b"\n"
        cp = checkpoints.get(row.number)
        if cp is not None:
            yield canonical(checkpoint_dict(cp)) + b"\n"


def _rows(session: Session, with_personal: bool) -> Iterator[list[str | int]]:
    from redactor.documents.notice import kst

    personal = {}
    if with_personal:
        personal = {p.entry_number: p for p in session.scalars(select(LedgerPersonal))
                    if p.erased_at is None and p.name}
    for row in session.scalars(select(LedgerEntry).order_by(LedgerEntry.number)):
        values: list[str | int] = []
        for field, _ in COLUMNS:
            if field == "occurred_at":
                values.append(kst(row.occurred_at))
            elif field == "party" and row.number in personal:
                values.append(f"{row.party} {personal[row.number].name}".strip())
            else:
                values.append(getattr(row, field))
        yield values


def export(session: Session, fmt: str, out: Path, *, with_personal: bool = False) -> int:
    """Write the export; returns the number of entries. Written to a temporary name first, so no half file remains."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: one of {', '.join(FORMATS)}")
    out = Path(out)
    tmp = out.with_name(out.name + ".part")
    if fmt == "jsonl":
        with open(tmp, "wb") as f:
            f.writelines(jsonl_lines(session))
    elif fmt == "xlsx":
        tmp.write_bytes(_xlsx(list(_rows(session, with_personal))))
    else:
        tmp.write_bytes(_pdf(list(_rows(session, with_personal))))
    tmp.replace(out)
    return session.query(LedgerEntry).count()


def _xlsx(rows: list[list]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "관리대장"
    ws.append(HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append(r)
        for cell in ws[ws.max_row]:
            as_text(cell)
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# What a spreadsheet takes for the start of a formula (or of DDE), as OWASP's CSV-injection note lists them.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def as_text(cell) -> None:
    """User text is never written as a formula: openpyxl writes any string beginning with "=" as one (an agency
    named `=HYPERLINK(...)` became a live link, issue 20). Every string cell is stored as a string, its text
    unchanged, and one that begins like a formula also gets Excel's quote prefix, so that editing it keeps it text."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if cell.value.startswith(FORMULA_START):
            cell.quotePrefix = True


def _pdf(rows: list[list]) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    from redactor.documents.fonts import styles

    st = styles()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), title=FORM_TITLE, leftMargin=8 * mm, rightMargin=8 * mm,
                            topMargin=10 * mm, bottomMargin=10 * mm)
    widths = [m * mm for m in (10, 12, 24, 34, 20, 34, 34, 34, 24, 20, 30)]

    def cell(v) -> Paragraph:
        return Paragraph(escape(str(v)), st["cell"])

    data = [[cell(h) for h in HEADERS]] + [[cell(v) for v in r] for r in rows]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dddddd")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    doc.build([Paragraph("[별지 2호서식]", st["small"]), Paragraph(FORM_TITLE, st["title"]), table])
    return buf.getvalue()

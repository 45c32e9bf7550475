"""Exports of the 관리대장: JSONL (verifiable offline with the public key), xlsx and PDF (별지 2호 columns in order)."""

from __future__ import annotations

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


def export_bytes(session: Session, fmt: str, *, with_personal: bool = False) -> bytes:
    """The whole export in memory (the API's download); `export` writes the same bytes to a file."""
    from redactor.documents.sheets import pdf_table, xlsx_table

    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: one of {', '.join(FORMATS)}")
    if fmt == "jsonl":
        return b"".join(jsonl_lines(session))
    rows = list(_rows(session, with_personal))
    if fmt == "xlsx":
        return xlsx_table("관리대장", HEADERS, rows)
    return pdf_table(FORM_TITLE, "[별지 2호서식]", HEADERS, rows, (10, 12, 24, 34, 20, 34, 34, 34, 24, 20, 30))


def export(session: Session, fmt: str, out: Path, *, with_personal: bool = False) -> int:
    """Write the export; returns the number of entries. Written to a temporary name first, so no half file remains."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: one of {', '.join(FORMATS)}")
    out = Path(out)
    tmp = out.with_name(out.name + ".part")
    if fmt == "jsonl":
        with open(tmp, "wb") as f:
            f.writelines(jsonl_lines(session))
    else:
        tmp.write_bytes(export_bytes(session, fmt, with_personal=with_personal))
    tmp.replace(out)
    return session.query(LedgerEntry).count()

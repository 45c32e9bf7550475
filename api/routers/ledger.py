"""The 관리대장 (별지 2호): entries, verification, inclusion proofs; and the footage access log."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import db, roles
from api.errors import NotFound
from redactor.access_log.service import listing
from redactor.disclosure.models import Role
from redactor.ledger.entry import entry_dict
from redactor.ledger.keys import load_signing_key
from redactor.ledger.models import LedgerEntry
from redactor.ledger.service import Ledger
from redactor.ledger.verify import verify_database

router = APIRouter(tags=["ledger"])
READERS = roles(Role.auditor, Role.privacy_officer, Role.admin)


@router.get("/ledger", summary="Ledger entries (no personal fields: those need the CLI export)", **READERS)
def entries(session: Session = Depends(db), after: int = Query(0, ge=0, le=2**31 - 1),
            limit: int = Query(100, ge=1, le=1000)) -> list[dict]:
    q = select(LedgerEntry).where(LedgerEntry.number > after).order_by(LedgerEntry.number).limit(limit)
    return [entry_dict(e) for e in session.scalars(q)]


@router.get("/ledger/verify", summary="Verify the hash chain, checkpoints and signatures", **READERS)
def verify(session: Session = Depends(db)) -> dict:
    report = verify_database(session, load_signing_key().public_key())
    return {"ok": report.ok, "summary": report.summary()}


@router.get("/ledger/{number}/proof", summary="Inclusion proof of one entry (RFC 9162)", **READERS)
def proof(number: int, session: Session = Depends(db)) -> dict:
    if number < 1 or session.get(LedgerEntry, number) is None:
        raise NotFound(f"no ledger entry {number}")
    return Ledger().inclusion_proof(session, number)


@router.get("/access-log", summary="Who touched which footage, when and why", tags=["access log"],
            **roles(Role.auditor, Role.privacy_officer))
def access_log(session: Session = Depends(db), target: str | None = Query(None, max_length=128),
               actor: str | None = Query(None, max_length=128), limit: int = Query(200, ge=1, le=1000)) -> list[dict]:
    return [{"id": r.id, "at": r.at.isoformat(), "actor": r.actor, "role": r.role, "action": r.action,
             "target": r.target, "reason": r.reason, "client": r.client}
            for r in listing(session, target=target, actor=actor, limit=limit)]

"""The 관리대장 (별지 2호): entries, verification, inclusion proofs; and the footage access log."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import client_address, current_user, db, roles
from api.errors import NotFound
from redactor.access_log.service import listing, record
from redactor.disclosure.models import Role, User
from redactor.ledger.entry import entry_dict
from redactor.ledger.export import export_bytes
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


MEDIA = {"jsonl": "application/x-ndjson", "pdf": "application/pdf",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@router.get("/ledger/export", summary="The 관리대장 (별지 2호) as xlsx, pdf or jsonl (verifiable offline)",
            description="jsonl: the exact leaf bytes with their signed checkpoints (`redactor ledger verify --file`). "
                        "xlsx/pdf: the form's columns. `with_personal` (the privacy officer only) adds the names that "
                        "are not erased; each export is logged.",
            response_class=Response, **roles(Role.auditor, Role.privacy_officer))
def export(request: Request, format: Literal["xlsx", "pdf", "jsonl"] = Query(...),
           with_personal: bool = False, user: User = Depends(current_user),
           session: Session = Depends(db)) -> Response:
    if with_personal and (format == "jsonl" or Role(user.role) != Role.privacy_officer):
        raise HTTPException(403, detail="only the privacy officer (총괄책임관) exports names, and only as xlsx or pdf")
    data = export_bytes(session, format, with_personal=with_personal)
    record(session, actor=user.username, role=user.role, action="export", target="ledger",
           reason=f"관리대장 {format}" + (" (개인정보 포함)" if with_personal else ""), client=client_address(request))
    return Response(data, media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="ledger.{format}"'})


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
               actor: str | None = Query(None, max_length=128), request_id: int | None = None,
               provision_id: int | None = None, limit: int = Query(200, ge=1, le=1000)) -> list[dict]:
    return [{"id": r.id, "at": r.at.isoformat(), "actor": r.actor, "role": r.role, "action": r.action,
             "target": r.target, "request_id": r.request_id, "provision_id": r.provision_id, "reason": r.reason,
             "client": r.client}
            for r in listing(session, target=target, actor=actor, limit=limit, request_id=request_id,
                             provision_id=provision_id)]

"""Requests (별지 4호 개인영상정보 청구서) and their 10-day clock."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import STAFF, current_user, db, roles
from api.errors import NotFound
from redactor.disclosure.models import DisclosureRequest, RequestKind, Role, User
from redactor.disclosure.service import overdue_requests, receive_request

router = APIRouter(prefix="/requests", tags=["requests"])
READERS = roles(*STAFF, Role.auditor)


class NewRequest(BaseModel):
    kind: RequestKind = Field(description="존재확인, 열람, 이용, 제공 or 삭제")
    requester_name: str = Field(min_length=1, max_length=128)
    requester_phone: str = Field("", max_length=32)
    requester_birth: dt.date | None = None
    requester_relation: str = Field("본인", max_length=64)
    requester_address: str = Field("", max_length=255)
    subject_name: str = Field("", max_length=128)
    subject_phone: str = Field("", max_length=32)
    subject_birth: dt.date | None = None
    subject_address: str = Field("", max_length=255)
    period_from: AwareDatetime
    period_to: AwareDatetime
    camera_location: str = Field(min_length=1, max_length=255)
    camera_id: int | None = None
    purpose: str = Field(min_length=1, max_length=4000)
    received_at: AwareDatetime | None = None


def request_json(r: DisclosureRequest) -> dict:
    last = r.last_decision
    return {"id": r.id, "number": r.number, "kind": r.kind, "requester_name": r.requester_name,
            "requester_relation": r.requester_relation, "subject_name": r.subject_name,
            "period_from": r.period_from.isoformat(), "period_to": r.period_to.isoformat(),
            "camera_location": r.camera_location, "camera_id": r.camera_id, "purpose": r.purpose,
            "received_at": r.received_at.isoformat(), "due_at": r.due_at.isoformat(), "received_by": r.received_by,
            "closed_at": r.closed_at.isoformat() if r.closed_at else None,
            "decision": {"id": last.id, "outcome": last.outcome, "decided_by": last.decided_by} if last else None}


def get_request(session: Session, request_id: int) -> DisclosureRequest:
    req = session.get(DisclosureRequest, request_id)
    if req is None:
        raise NotFound(f"no request {request_id}")
    return req


@router.post("", status_code=201, summary="File a 별지 4호 request", **roles(Role.clerk, Role.privacy_officer))
def file_request(body: NewRequest, user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    fields = body.model_dump(exclude_none=True)
    return request_json(receive_request(session, received_by=user.username, **fields))


@router.get("", summary="List requests (newest first)", **READERS)
def list_requests(session: Session = Depends(db), open_only: bool = False) -> list[dict]:
    q = select(DisclosureRequest).order_by(DisclosureRequest.id.desc()).limit(500)
    if open_only:
        q = q.where(DisclosureRequest.closed_at.is_(None))
    return [request_json(r) for r in session.scalars(q)]


@router.get("/overdue", summary="Open requests past their answer date (제33조③: 10 days)", **READERS)
def overdue(session: Session = Depends(db)) -> list[dict]:
    return [request_json(r) for r in overdue_requests(session)]


@router.get("/{request_id}", summary="One request", **READERS)
def read_request(request_id: int, session: Session = Depends(db)) -> dict:
    return request_json(get_request(session, request_id))

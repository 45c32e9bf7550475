"""Requests (별지 4호 개인영상정보 청구서) and their 10-day clock."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import STAFF, current_user, db, roles
from api.errors import NotFound
from redactor.auth.accounts import by_name
from redactor.disclosure.assignment import (
    assign,
    assignees,
    handled_request_ids,
    is_overseer,
    may_handle,
    unassign,
)
from redactor.disclosure.models import Assignment, DisclosureRequest, Provision, RequestKind, Role, User
from redactor.disclosure.service import overdue_requests, receive_request
from redactor.errors import BadInput

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


def mask_name(name: str) -> str:
    """김민수 -> 김*수, 이영 -> 이*: enough to tell two requests apart in a list, not to know who asked."""
    name = name.strip()
    if len(name) <= 1:
        return "*" if name else ""
    return name[0] + "*" * max(1, len(name) - 2) + (name[-1] if len(name) > 2 else "")


def request_json(r: DisclosureRequest, personal: bool = True) -> dict:
    """`personal` False: the requester's and the subject's names masked and the purpose left out (제31조: roles
    and staff who do not handle the request do not need them)."""
    last = r.last_decision
    return {"id": r.id, "number": r.number, "kind": r.kind,
            "requester_name": r.requester_name if personal else mask_name(r.requester_name),
            "requester_relation": r.requester_relation,
            "subject_name": r.subject_name if personal else mask_name(r.subject_name),
            "period_from": r.period_from.isoformat(), "period_to": r.period_to.isoformat(),
            "camera_location": r.camera_location, "camera_id": r.camera_id,
            "purpose": r.purpose if personal else None, "personal_fields": "shown" if personal else "masked",
            "received_at": r.received_at.isoformat(), "due_at": r.due_at.isoformat(), "received_by": r.received_by,
            "closed_at": r.closed_at.isoformat() if r.closed_at else None,
            "decision": {"id": last.id, "outcome": last.outcome, "decided_by": last.decided_by} if last else None}


def get_request(session: Session, request_id: int) -> DisclosureRequest:
    req = session.get(DisclosureRequest, request_id)
    if req is None:
        raise NotFound(f"no request {request_id}")
    return req


def shows_personal(session: Session, user: User, req: DisclosureRequest) -> bool:
    """The privacy officer, the centre head and the request's assignees read its personal fields; nobody else."""
    return may_handle(session, user, request_id=req.id)


@router.post("", status_code=201, summary="File a 별지 4호 request (who files it handles it)",
             **roles(Role.clerk, Role.privacy_officer))
def file_request(body: NewRequest, user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    fields = body.model_dump(exclude_none=True)
    req = receive_request(session, received_by=user.username, **fields)
    assign(session, user, by=user.username, request=req)
    return request_json(req)


def _listing(session: Session, user: User, rows) -> list[dict]:
    mine = None if is_overseer(user) else handled_request_ids(session, user)
    return [request_json(r, personal=mine is None or r.id in mine) for r in rows]


@router.get("", summary="List requests (newest first; personal fields only of those one handles)", **READERS)
def list_requests(user: User = Depends(current_user), session: Session = Depends(db), open_only: bool = False,
                  mine: bool = Query(False, description="only the requests assigned to me")) -> list[dict]:
    q = select(DisclosureRequest).order_by(DisclosureRequest.id.desc()).limit(500)
    if open_only:
        q = q.where(DisclosureRequest.closed_at.is_(None))
    if mine:
        q = q.where(DisclosureRequest.id.in_(handled_request_ids(session, user) or {-1}))
    return _listing(session, user, session.scalars(q))


@router.get("/overdue", summary="Open requests past their answer date (제33조③: 10 days)", **READERS)
def overdue(user: User = Depends(current_user), session: Session = Depends(db)) -> list[dict]:
    return _listing(session, user, overdue_requests(session))


@router.get("/{request_id}", summary="One request (personal fields for its handlers)", **READERS)
def read_request(request_id: int, user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    req = get_request(session, request_id)
    return request_json(req, personal=shows_personal(session, user, req))


class NewAssignee(BaseModel):
    user_id: int | None = None
    username: str | None = Field(None, max_length=64)
    remove: bool = Field(False, description="take the account off the request instead")


def assignee_json(a: Assignment) -> dict:
    return {"user_id": a.user_id, "username": a.user.username, "role": a.user.role, "assigned_by": a.assigned_by,
            "assigned_at": a.assigned_at.isoformat(), "removed_at": a.removed_at.isoformat() if a.removed_at else None}


def assignee_account(session: Session, body: NewAssignee) -> User:
    if (body.user_id is None) == (body.username is None):
        raise BadInput("give user_id or username")
    who = session.get(User, body.user_id) if body.user_id is not None else by_name(session, body.username or "")
    if who is None:
        raise NotFound("no such account")
    return who


def change_assignment(session: Session, body: NewAssignee, by: str, *, request: DisclosureRequest | None = None,
                      provision: Provision | None = None) -> list[dict]:
    """Assign the account of `body` to the request or the provision, or take it off (`remove`); its handlers after."""
    who = assignee_account(session, body)
    if body.remove:
        unassign(session, who, by=by, request_id=request.id if request else None,
                 provision_id=provision.id if provision else None)
    else:
        assign(session, who, by=by, request=request, provision=provision)
    return [assignee_json(a) for a in (assignees(session, request_id=request.id) if request else
                                       assignees(session, provision_id=provision.id))]


@router.get("/{request_id}/assignees", summary="Who handles the request", **roles(*STAFF, Role.auditor))
def list_assignees(request_id: int, session: Session = Depends(db)) -> list[dict]:
    return [assignee_json(a) for a in assignees(session, request_id=get_request(session, request_id).id)]


@router.post("/{request_id}/assignees", summary="Assign a handler to the request, or take one off (remove=true)",
             description="제31조: only a request's handlers, the privacy officer and the centre head reach its "
                         "footage (analyses, keep-sets, renders, releases, links).",
             **roles(Role.privacy_officer, Role.center_head))
def change_assignees(request_id: int, body: NewAssignee, user: User = Depends(current_user),
                     session: Session = Depends(db)) -> list[dict]:
    return change_assignment(session, body, user.username, request=get_request(session, request_id))

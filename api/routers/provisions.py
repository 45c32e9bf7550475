"""Provisions under 제32조① (police, courts, researchers...) and their approvals (결재, 제32조②③)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import STAFF, current_user, db, roles
from api.errors import NotFound
from redactor.disclosure.models import Approval, DisclosureRequest, Provision, Role, User
from redactor.disclosure.service import approve_provision, propose_provision

router = APIRouter(prefix="/provisions", tags=["provisions"])


class NewProvision(BaseModel):
    ground: int = Field(ge=1, le=8, description="제32조① item 1-8")
    recipient_agency: str = Field(min_length=1, max_length=255)
    recipient_officer: str = Field(min_length=1, max_length=128)
    recipient_phone: str = Field("", max_length=32)
    purpose: str = Field(min_length=1, max_length=4000)
    period_from: AwareDatetime
    period_to: AwareDatetime
    use_until: dt.date | None = None
    form: str = Field("사본(마스킹)", min_length=1, max_length=128)
    use: bool = False
    request_id: int | None = None


class NewApproval(BaseModel):
    note: str = Field("", max_length=2000)


def provision_json(p: Provision) -> dict:
    return {"id": p.id, "ground": p.ground, "use": p.use, "recipient_agency": p.recipient_agency,
            "recipient_officer": p.recipient_officer, "purpose": p.purpose, "form": p.form,
            "period_from": p.period_from.isoformat(), "period_to": p.period_to.isoformat(),
            "use_until": p.use_until.isoformat() if p.use_until else None, "request_id": p.request_id,
            "created_by": p.created_by, "approvals": [approval_json(a) for a in p.approvals]}


def approval_json(a: Approval) -> dict:
    return {"id": a.id, "provision_id": a.provision_id, "approver": a.approver.username, "role": a.role,
            "article": a.article, "note": a.note, "approved_at": a.approved_at.isoformat()}


def _get(session: Session, provision_id: int) -> Provision:
    p = session.get(Provision, provision_id)
    if p is None:
        raise NotFound(f"no provision {provision_id}")
    return p


@router.post("", status_code=201, summary="Propose a provision under 제32조①",
             **roles(Role.clerk, Role.operator, Role.privacy_officer))
def create_provision(body: NewProvision, user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    fields = body.model_dump(exclude={"request_id"})
    req = None
    if body.request_id is not None:
        req = session.get(DisclosureRequest, body.request_id)
        if req is None:
            raise NotFound(f"no request {body.request_id}")
    return provision_json(propose_provision(session, created_by=user.username, request=req, **fields))


@router.get("", summary="List provisions", **roles(*STAFF, Role.auditor))
def list_provisions(session: Session = Depends(db)) -> list[dict]:
    return [provision_json(p) for p in session.scalars(select(Provision).order_by(Provision.id.desc()).limit(500))]


@router.get("/{provision_id}", summary="One provision with its approvals", **roles(*STAFF, Role.auditor))
def get_provision(provision_id: int, session: Session = Depends(db)) -> dict:
    return provision_json(_get(session, provision_id))


@router.post("/{provision_id}/approvals", status_code=201, tags=["approvals"],
             summary="Approve (총괄책임관, 제32조②; 통합관제센터의 장 for item 8 alone, 제32조③)",
             **roles(Role.privacy_officer, Role.center_head))
def approve(provision_id: int, body: NewApproval, user: User = Depends(current_user),
            session: Session = Depends(db)) -> dict:
    return approval_json(approve_provision(session, _get(session, provision_id), user, note=body.note))

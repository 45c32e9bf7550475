"""Provisions under 제32조① (police, courts, researchers...) and their approvals (결재, 제32조②③)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import STAFF, client_address, current_user, db, roles
from api.errors import NotFound
from api.links import download_url
from api.routers.analyses import submit
from redactor.access_log.service import record
from redactor.disclosure.models import Approval, DisclosureRequest, Provision, Release, Role, User
from redactor.disclosure.service import approve_provision, propose_provision
from redactor.errors import BadInput
from redactor.jobs import service
from redactor.jobs.models import JobKind, JobStatus

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


class NewPackage(BaseModel):
    release_id: int


class PackageLink(BaseModel):
    hours: int = Field(24, ge=1, le=720)
    reason: str = Field("", max_length=2000)


@router.post("/{provision_id}/packages", status_code=202, tags=["packages"],
             summary="Make the handover package (signed manifest + 별지 3호 인수증) of a provision's release",
             **roles(Role.privacy_officer, Role.center_head))
def create_package(request: Request, provision_id: int, body: NewPackage, user: User = Depends(current_user),
                   session: Session = Depends(db)) -> dict:
    prov = _get(session, provision_id)
    if prov.ground not in (6, 7):
        raise BadInput("a handover package is for provisions under 제32조① 6 (investigation) or 7 (court)")
    rel = session.get(Release, body.release_id)
    if rel is None or rel.provision_id != prov.id:
        raise NotFound(f"no release {body.release_id} of provision {provision_id}")
    job = service.create(session, JobKind.package, user.display_name or user.username, {"release_id": rel.id},
                         recording_id=rel.recording_id, provision_id=prov.id)
    data = service.to_json(job)
    submit(request, session, job)
    return data


@router.get("/{provision_id}/packages/{job_id}", tags=["packages"], summary="A package job and its result",
            **roles(Role.privacy_officer, Role.center_head, Role.clerk, Role.auditor))
def get_package(provision_id: int, job_id: str, session: Session = Depends(db)) -> dict:
    job = service.get(session, job_id, JobKind.package)
    if job.provision_id != provision_id:
        raise NotFound(f"no package {job_id} of provision {provision_id}")
    return service.to_json(job)


@router.post("/{provision_id}/packages/{job_id}/links", status_code=201, tags=["packages"],
             summary="An expiring download link for the package (logged)",
             **roles(Role.privacy_officer, Role.center_head))
def package_link(request: Request, provision_id: int, job_id: str, body: PackageLink,
                 user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    job = service.get(session, job_id, JobKind.package)
    if job.provision_id != provision_id or job.status != JobStatus.done:
        raise NotFound(f"no finished package {job_id} of provision {provision_id}")
    hours = min(body.hours, request.app.state.settings.link_hours_max)
    url, until = download_url(request, job.result["object_key"], dt.timedelta(hours=hours))
    record(session, actor=user.username, role=user.role, action="link", target=f"package:{job_id}",
           reason=body.reason or f"provision:{provision_id}", client=client_address(request))
    return {"url": url, "expires_at": until.isoformat()}

"""Provisions under 제32조① (police, courts, researchers...), their approvals (결재, 제32조②③), and handover
packages (제32조① 6, 7) tracked to their destruction (제35조③)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import STAFF, client_address, current_user, db, roles
from api.errors import NotFound
from api.links import mint_download
from api.routers.analyses import submit
from api.routers.requests import NewAssignee, assignee_json, change_assignment
from redactor.access_log.service import record
from redactor.disclosure.assignment import assign, assignees, require_handler
from redactor.disclosure.models import Approval, DisclosureRequest, HandoverPackage, Provision, Release, Role, User
from redactor.disclosure.package import Party
from redactor.disclosure.service import (
    approve_provision,
    confirm_package_destruction,
    overdue_destructions,
    propose_provision,
    receipt_parties,
)
from redactor.errors import BadInput, FootageDestroyed
from redactor.jobs import service
from redactor.jobs.models import JobKind, JobStatus
from redactor.registry.models import Camera

router = APIRouter(prefix="/provisions", tags=["provisions"])


class NewProvision(BaseModel):
    ground: int = Field(ge=1, le=8, description="제32조① item 1-8")
    recipient_agency: str = Field(min_length=1, max_length=255, description="소속: the receiving agency")
    recipient_officer: str = Field(min_length=1, max_length=128, description="성명: the receiving officer's name")
    recipient_rank: str = Field("", max_length=64, description="직급: the receiving officer's rank (별지 3호)")
    recipient_phone: str = Field("", max_length=32)
    camera_id: int | None = Field(None, description="the camera whose footage is provided (default: the request's); "
                                                    "a release of another camera's footage is refused")
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
            "recipient_officer": p.recipient_officer, "recipient_rank": p.recipient_rank, "camera_id": p.camera_id,
            "purpose": p.purpose, "form": p.form,
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
    if body.camera_id is not None and session.get(Camera, body.camera_id) is None:
        raise NotFound(f"no camera {body.camera_id}")
    req = None
    if body.request_id is not None:
        req = session.get(DisclosureRequest, body.request_id)
        if req is None:
            raise NotFound(f"no request {body.request_id}")
    prov = propose_provision(session, created_by=user.username, request=req, **fields)
    assign(session, user, by=user.username, provision=prov)  # who proposes it handles it
    return provision_json(prov)


def package_json(p: HandoverPackage) -> dict:
    def iso(t):
        return t.isoformat() if t else None

    return {"job_id": p.job_id, "provision_id": p.provision_id, "release_id": p.release_id,
            "manifest_sha256": p.manifest_sha256, "ledger_entry": p.ledger_entry,
            "recipient": {"affiliation": p.recipient_affiliation, "rank": p.recipient_rank, "name": p.recipient_name},
            "handed_over_by": {"affiliation": p.handed_over_by_affiliation, "rank": p.handed_over_by_rank,
                               "name": p.handed_over_by_name},
            "destroy_by": p.destroy_by.isoformat() if p.destroy_by else None, "created_at": iso(p.created_at),
            "handed_over_at": iso(p.handed_over_at), "stored_copy_destroyed_at": iso(p.stored_copy_destroyed_at),
            "destruction": None if p.destruction_confirmed_at is None else {
                "confirmed_at": iso(p.destruction_confirmed_at), "method": p.destruction_method,
                "recorded_by": p.destruction_recorded_by, "destroyed_by": p.destroyed_by,
                "slip_sha256": p.slip_sha256 or None, "ledger_number": p.destruction_ledger_number}}


@router.get("/packages/overdue", tags=["packages"],
            summary="Handed-over packages past their period whose destruction is not confirmed (제35조③)",
            **roles(Role.privacy_officer, Role.center_head, Role.clerk, Role.auditor))
def overdue(session: Session = Depends(db)) -> list[dict]:
    return [package_json(p) for p in overdue_destructions(session)]


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


@router.get("/{provision_id}/assignees", summary="Who handles the provision", **roles(*STAFF, Role.auditor))
def list_assignees(provision_id: int, session: Session = Depends(db)) -> list[dict]:
    return [assignee_json(a) for a in assignees(session, provision_id=_get(session, provision_id).id)]


@router.post("/{provision_id}/assignees", summary="Assign a handler to the provision, or take one off (remove=true)",
             **roles(Role.privacy_officer, Role.center_head))
def change_assignees(provision_id: int, body: NewAssignee, user: User = Depends(current_user),
                     session: Session = Depends(db)) -> list[dict]:
    return change_assignment(session, body, user.username, provision=_get(session, provision_id))


class NewPackage(BaseModel):
    release_id: int
    # 별지 3호 인수자: who receives it, where it differs from (or completes) the provision; the 인계자 is the
    # official asking for the package, from their account (affiliation, rank, display_name)
    recipient_affiliation: str = Field("", max_length=255, description="소속 (default: the provision's agency)")
    recipient_rank: str = Field("", max_length=64, description="직급 (default: the provision's)")
    recipient_name: str = Field("", max_length=128, description="성명 (default: the provision's officer)")


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
    if rel.destroyed_at is not None:
        raise FootageDestroyed(f"release {rel.id}: its copy was destroyed with its footage; no package")
    recipient, official = receipt_parties(prov, user, recipient_affiliation=body.recipient_affiliation,
                                          recipient_rank=body.recipient_rank, recipient_name=body.recipient_name)
    job = service.create(session, JobKind.package, user.display_name or user.username,
                         {"release_id": rel.id, "recipient": asdict(recipient), "handed_over_by": asdict(official)},
                         recording_id=rel.recording_id, provision_id=prov.id)
    data = service.to_json(job)
    submit(request, session, job)
    return data


@router.get("/{provision_id}/packages/{job_id}", tags=["packages"], summary="A package job and its result",
            **roles(Role.privacy_officer, Role.center_head, Role.clerk, Role.auditor))
def get_package(provision_id: int, job_id: str, user: User = Depends(current_user),
                session: Session = Depends(db)) -> dict:
    job = service.get(session, job_id, JobKind.package)
    if Role(user.role) == Role.clerk:
        require_handler(session, user, provision_id=job.provision_id)
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
    service.require_live(job)
    hours = min(body.hours, request.app.state.settings.link_hours_max)
    url, link = mint_download(request, session, user, job.result["object_key"], dt.timedelta(hours=hours),
                              package_job_id=job.id, provision_id=provision_id, reason=body.reason)
    record(session, actor=user.username, role=user.role, action="link", target=f"package:{job_id}",
           reason=f"link:{link.id}" + (f" ({body.reason})" if body.reason else ""), client=client_address(request),
           provision_id=provision_id)
    return {"url": url, "expires_at": link.expires_at.isoformat(), "link_id": link.id}


def _package(session: Session, provision_id: int, job_id: str) -> HandoverPackage:
    pkg = session.get(HandoverPackage, job_id)
    if pkg is None or pkg.provision_id != provision_id:
        raise NotFound(f"no finished package {job_id} of provision {provision_id}")
    return pkg


@router.get("/{provision_id}/packages/{job_id}/destruction", tags=["packages"],
            summary="A package's handover and destruction record (제35조③)",
            **roles(Role.privacy_officer, Role.center_head, Role.clerk, Role.auditor))
def get_destruction(provision_id: int, job_id: str, user: User = Depends(current_user),
                    session: Session = Depends(db)) -> dict:
    pkg = _package(session, provision_id, job_id)
    if Role(user.role) == Role.clerk:
        require_handler(session, user, provision_id=pkg.provision_id)
    return package_json(pkg)


@router.post("/{provision_id}/packages/{job_id}/destruction", status_code=201, tags=["packages"],
             summary="Confirm the package's destruction (the recipient's signed slip or the officer): 파기 row",
             description="Either `slip`: the recipient's signed destruction slip (the JSON `redactor package "
                         "confirm-destruction` writes), verified against this package's manifest; or "
                         "`officer_confirmation=true` with who destroyed it (destroyed_by_affiliation, _rank, _name) "
                         "and, optionally, the scan of a paper slip as `slip`. The uploaded file is kept only as its "
                         "sha256. Writes the 파기 row of the 관리대장; confirmed once (409 after).",
             **roles(Role.privacy_officer, Role.center_head))
def confirm_destruction(
        provision_id: int, job_id: str,
        slip: Annotated[UploadFile | None, File(description="the signed slip (JSON), or a scan with the officer's "
                                                            "confirmation")] = None,
        officer_confirmation: Annotated[bool, Form()] = False,
        destroyed_by_affiliation: Annotated[str, Form(max_length=128)] = "",
        destroyed_by_rank: Annotated[str, Form(max_length=64)] = "",
        destroyed_by_name: Annotated[str, Form(max_length=128)] = "",
        method: Annotated[str, Form(max_length=128)] = "",
        note: Annotated[str, Form(max_length=2000)] = "",
        user: User = Depends(current_user), session: Session = Depends(db)) -> dict:
    pkg = _package(session, provision_id, job_id)
    data = slip.file.read() if slip is not None else None
    confirm_package_destruction(
        session, pkg, recorded_by=user.username, slip=data or None, officer_confirmed=officer_confirmation,
        destroyed_by=Party(destroyed_by_affiliation.strip(), destroyed_by_rank.strip(), destroyed_by_name.strip()),
        method=method.strip(), note=note)
    return package_json(pkg)

"""Cameras (별지 1호 설치현황)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import ALL_ROLES, db, roles
from api.errors import NotFound
from redactor.disclosure.models import Role
from redactor.registry.export import register_export
from redactor.registry.models import Camera, Purpose
from redactor.registry.service import add_camera

router = APIRouter(prefix="/cameras", tags=["cameras"])


class NewCamera(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    location: str = Field(min_length=1, max_length=255)
    department: str = Field(min_length=1, max_length=128)
    officer: str = Field(min_length=1, max_length=128)
    staff: str = Field(min_length=1, max_length=128)
    purpose: Purpose
    purpose_detail: str = Field("", max_length=128)
    count: int = Field(1, ge=1, le=10000)
    retention_days: int = Field(30, ge=1, le=30)


def camera_json(c: Camera) -> dict:
    return {"id": c.id, "code": c.code, "location": c.location, "department": c.department, "officer": c.officer,
            "staff": c.staff, "purpose": c.purpose, "purpose_detail": c.purpose_detail, "count": c.count,
            "retention_days": c.retention_days}


@router.get("", summary="List cameras", **roles(*ALL_ROLES))
def list_cameras(session: Session = Depends(db)) -> list[dict]:
    return [camera_json(c) for c in session.scalars(select(Camera).order_by(Camera.code))]


@router.get("/register", summary="별지 1호 설치현황(총괄): the camera register as xlsx or pdf", response_class=Response,
            **roles(Role.admin, Role.privacy_officer, Role.center_head, Role.auditor))
def register(session: Session = Depends(db),
             format: Literal["xlsx", "pdf"] = Query("xlsx")) -> Response:
    media = {"pdf": "application/pdf",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}[format]
    return Response(register_export(session, format), media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="cameras.{format}"'})


@router.post("", status_code=201, summary="Register a camera", **roles(Role.admin, Role.privacy_officer))
def create_camera(body: NewCamera, session: Session = Depends(db)) -> dict:
    return camera_json(add_camera(session, **body.model_dump()))


@router.get("/{camera_id}", summary="One camera", **roles(*ALL_ROLES))
def get_camera(camera_id: int, session: Session = Depends(db)) -> dict:
    cam = session.get(Camera, camera_id)
    if cam is None:
        raise NotFound(f"no camera {camera_id}")
    return camera_json(cam)

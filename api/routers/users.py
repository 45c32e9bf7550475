"""Accounts (admin only): list, create, disable at once, enable."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import db, roles
from api.errors import NotFound
from redactor.auth import accounts
from redactor.disclosure.models import Role, User

router = APIRouter(prefix="/users", tags=["users"])
ADMIN = roles(Role.admin)


class NewUser(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    role: Role
    password: str = Field(min_length=8, max_length=1024)
    display_name: str = Field("", max_length=128, description="성명")
    affiliation: str = Field("", max_length=128, description="소속 (별지 3호 인계자)")
    rank: str = Field("", max_length=64, description="직급 (별지 3호 인계자)")


class Profile(BaseModel):
    display_name: str | None = Field(None, max_length=128, description="성명")
    affiliation: str | None = Field(None, max_length=128, description="소속")
    rank: str | None = Field(None, max_length=64, description="직급")


def _json(u: User) -> dict:
    return {"id": u.id, "username": u.username, "role": u.role, "display_name": u.display_name,
            "affiliation": u.affiliation, "rank": u.rank,
            "disabled": u.disabled, "created_at": u.created_at.isoformat() if u.created_at else None}


def _get(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


@router.get("", summary="List accounts", **ADMIN)
def list_users(session: Session = Depends(db)) -> list[dict]:
    return [_json(u) for u in session.scalars(select(User).order_by(User.username))]


@router.post("", status_code=201, summary="Create an account", **ADMIN)
def create_user(body: NewUser, session: Session = Depends(db)) -> dict:
    return _json(accounts.create(session, body.username, body.role, body.password, body.display_name,
                                 affiliation=body.affiliation, rank=body.rank))


@router.patch("/{user_id}", summary="Set an account's 성명, 소속 and 직급 (printed on approvals and receipts)", **ADMIN)
def update_profile(user_id: int, body: Profile, session: Session = Depends(db)) -> dict:
    user = _get(session, user_id)
    accounts.set_profile(session, user, display_name=body.display_name, affiliation=body.affiliation, rank=body.rank)
    return _json(user)


class NewPassword(BaseModel):
    password: str = Field(min_length=8, max_length=1024)


@router.post("/{user_id}/password", summary="Set an account's password: its earlier tokens stop working", **ADMIN)
def set_password(user_id: int, body: NewPassword, session: Session = Depends(db)) -> dict:
    user = _get(session, user_id)
    accounts.set_password(session, user, body.password)
    return _json(user)


@router.post("/{user_id}/disable", summary="Disable an account: its tokens stop working at once", **ADMIN)
def disable(user_id: int, session: Session = Depends(db)) -> dict:
    user = _get(session, user_id)
    accounts.set_disabled(session, user, True)
    return _json(user)


@router.post("/{user_id}/enable", summary="Enable an account (tokens from before its disable stay dead)", **ADMIN)
def enable(user_id: int, session: Session = Depends(db)) -> dict:
    user = _get(session, user_id)
    accounts.set_disabled(session, user, False)
    return _json(user)

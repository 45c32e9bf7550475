"""POST /api/v1/auth/token (OAuth2 password flow) and GET /api/v1/auth/me."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import ALL_ROLES, client_address, current_user, db, roles
from redactor.auth import accounts, tokens
from redactor.disclosure.models import User

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", summary="Log in: user name and password for a short-lived bearer token")
def token(request: Request, username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=1024)], session: Session = Depends(db)) -> dict:
    limiter = request.app.state.login_limiter
    client = client_address(request)
    wait = limiter.retry_after(username, client)
    if wait:
        raise HTTPException(429, detail=f"too many failed logins: try again in {int(wait)} s",
                            headers={"Retry-After": str(int(wait))})
    user = accounts.authenticate(session, username, password)
    if user is None:
        limiter.failed(username, client)
        raise HTTPException(401, detail="wrong user name or password", headers={"WWW-Authenticate": "Bearer"})
    limiter.succeeded(username, client)
    access, seconds = tokens.issue(user.id, user.username, version=user.credential_version or 0)
    return {"access_token": access, "token_type": "bearer", "expires_in": seconds, "role": user.role}


@router.get("/me", summary="The account behind the token", **roles(*ALL_ROLES))
def me(user: User = Depends(current_user)) -> dict:
    return {"id": user.id, "username": user.username, "role": user.role, "display_name": user.display_name,
            "affiliation": user.affiliation, "rank": user.rank}


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=8, max_length=1024)


@router.post("/password", summary="Change one's own password: every token issued before stops working",
             **roles(*ALL_ROLES))
def change_password(request: Request, body: PasswordChange, user: User = Depends(current_user),
                    session: Session = Depends(db)) -> dict:
    limiter = request.app.state.login_limiter
    client = client_address(request)
    wait = limiter.retry_after(user.username, client)
    if wait:
        raise HTTPException(429, detail=f"too many failed logins: try again in {int(wait)} s",
                            headers={"Retry-After": str(int(wait))})
    if accounts.authenticate(session, user.username, body.current_password) is None:
        limiter.failed(user.username, client)
        raise HTTPException(403, detail="the current password is wrong")
    accounts.set_password(session, user, body.new_password)
    access, seconds = tokens.issue(user.id, user.username, version=user.credential_version)
    return {"access_token": access, "token_type": "bearer", "expires_in": seconds, "role": user.role}

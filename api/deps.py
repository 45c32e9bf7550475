"""Dependencies: the database session of a request, the current user, and `roles(...)`: the ONE declaration of who
may call an operation, which both enforces it and publishes it in the OpenAPI schema as `x-roles`."""

from __future__ import annotations

from collections.abc import Iterator
from http.cookies import CookieError, SimpleCookie

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from api import cookies
from redactor.auth import tokens
from redactor.db import session_scope
from redactor.disclosure.models import Role, User

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a path, not a password
oauth2 = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)

ALL_ROLES = tuple(Role)
STAFF = (Role.clerk, Role.privacy_officer, Role.center_head, Role.operator)  # who handles requests and footage


def _transaction() -> Iterator[Session]:
    with session_scope() as session:
        yield session


def db(session: Session = Depends(_transaction, scope="function")) -> Session:
    """One transaction per request: committed when the route returns and BEFORE its answer is sent, rolled back on
    any error. A commit that fails (a conflict found at commit, the database busy or gone) so becomes the answer
    (409 or 503, api.errors), never a 2xx for something not stored.

    Why the indirection: the exit code of a dependency with `yield` runs after the response has been SENT unless the
    dependency is declared with `scope="function"` (FastAPI >= 0.121; its docs, "Dependencies with yield": "The code
    following the yield statement is executed after the response"). Routes and `current_user` all say
    `Depends(db)`; `db` itself is a plain function, so every one of them shares the one function-scoped transaction
    below it (tests/test_concurrency.py pins this order).
    """
    return session


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def account_for_token(session: Session, token: str) -> User:
    """The account behind a token, whatever carried it (the bearer header, or the console's cookie), read from the
    database on every request: a disabled account (or one deleted, or whose role changed) is treated as such at
    once, and a token issued before the account's last password change, disable or enable (an older credential
    version) is refused for good."""
    try:
        user_id, version = tokens.claims(token)
    except tokens.TokenInvalid:
        raise _unauthorized("the token is invalid or expired: log in again") from None
    user = session.get(User, user_id)
    if user is None or user.disabled:
        raise _unauthorized("the account is disabled or gone")
    if version != (user.credential_version or 0):
        raise _unauthorized("the token was issued before the account's password or state changed: log in again")
    return user


def current_user(request: Request, token: str | None = Depends(oauth2), session: Session = Depends(db)) -> User:
    """The account behind the token (account_for_token). The token comes from the Authorization header or, second,
    from the staff console's cookie (api.cookies: CSRF-checked on unsafe methods)."""
    token = token or cookies.session_token(request)
    if not token:
        raise _unauthorized("not authenticated: send a bearer token from POST /api/v1/auth/token")
    return account_for_token(session, token)


def credential_verifies(scope) -> bool:
    """Whether an ASGI request carries a credential that verifies without the database (a bearer token, or the
    console's session cookie, whose signature and expiry are good): what api.middleware.BodyLimit asks before it
    lets a large body in."""
    found: list[str] = []
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                found.append(token.strip())
        elif name == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:
                continue
            if cookies.COOKIE in jar:
                found.append(jar[cookies.COOKIE].value)
    for token in found[:1]:  # the header first, as current_user reads them
        try:
            tokens.claims(token)
            return True
        except tokens.TokenInvalid:
            return False
    return False


def roles(*allowed: Role | str) -> dict:
    """Keyword arguments for a route decorator: `@router.get(path, **roles(Role.clerk, ...))`.

    The same tuple drives the check (one dependency) and the schema (`x-roles`), so they cannot drift apart."""
    allowed_roles = tuple(Role(r) for r in allowed)
    names = [r.value for r in allowed_roles]

    def check_role(user: User = Depends(current_user)) -> User:
        if Role(user.role) not in allowed_roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                detail=f"role {user.role} may not do this (allowed: {', '.join(names)})")
        return user

    return {"dependencies": [Depends(check_role)], "openapi_extra": {"x-roles": names},
            "responses": {401: {"description": "no valid token"}, 403: {"description": f"role not in {names}"}}}


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""

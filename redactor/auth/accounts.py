"""Accounts: create, set a password, enable/disable, authenticate. Callers commit."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from redactor.auth.passwords import hash_password, needs_rehash, verify_password
from redactor.disclosure.models import Role, User
from redactor.disclosure.service import add_user
from redactor.errors import BadInput, RedactorError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class AccountError(RedactorError):
    exit_code = 2


def by_name(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def create(session: Session, username: str, role: Role | str, password: str, display_name: str = "",
           affiliation: str = "", rank: str = "") -> User:
    if not _NAME.match(username):
        raise BadInput(f"user name {username!r}: letters, digits, '.', '_', '@', '-' (at most 64)")
    try:
        role = Role(role)
    except ValueError:
        raise BadInput(f"unknown role {role!r} (one of {', '.join(r.value for r in Role)})") from None
    if by_name(session, username) is not None:
        raise AccountError(f"user {username} already exists")
    user = add_user(session, username, role, display_name)
    user.affiliation, user.rank = affiliation.strip(), rank.strip()
    user.password_hash = hash_password(password)
    session.flush()
    return user


def set_profile(session: Session, user: User, *, display_name: str | None = None, affiliation: str | None = None,
                rank: str | None = None) -> User:
    """성명, 소속, 직급 as approvals and the 별지 3호 인수증 print them (None: unchanged)."""
    if display_name is not None:
        user.display_name = display_name.strip()
    if affiliation is not None:
        user.affiliation = affiliation.strip()
    if rank is not None:
        user.rank = rank.strip()
    session.flush()
    return user


def end_tokens(user: User) -> None:
    """Every token issued before now stops working, for good (tokens name the version they were issued under)."""
    user.credential_version = (user.credential_version or 0) + 1


def set_password(session: Session, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    end_tokens(user)
    session.flush()


def set_disabled(session: Session, user: User, disabled: bool) -> None:
    """A disable ends the account's tokens; so does an enable (a token from before the disable must not come back)."""
    user.disabled = disabled
    end_tokens(user)
    session.flush()


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The enabled user with this password, else None (same answer, and similar time, for every failure)."""
    user = by_name(session, username)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or user.disabled:
        return None
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.flush()
    return user

"""Short-lived bearer tokens (JWT, HS256). The secret: REDACTOR_SECRET_KEY, else REDACTOR_HOME/keys/token.key.

A token names the account and the account's credential version when it was issued, nothing the server trusts
beyond that: role, disabled state and the current version are read from the database on every request, so a changed
role or a disabled account takes effect at once, and a new password, a disable or an enable (each moves the version
on) ends every token issued before, for good.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import secrets
import uuid
from functools import cache

import jwt

from redactor.errors import RedactorError

ALGORITHM = "HS256"
ISSUER = "redactor"
MIN_SECRET = 32


class TokenInvalid(RedactorError):
    exit_code = 2


def lifetime() -> dt.timedelta:
    return dt.timedelta(minutes=float(os.environ.get("REDACTOR_TOKEN_MINUTES", "15")))


def _key_file_secret() -> bytes:
    from redactor.storage.secrets import keys_dir

    path = keys_dir() / "token.key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return base64.b64decode(path.read_text().strip())
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    return base64.b64decode(path.read_text().strip())


@cache
def _secret_for(env_value: str | None, home: str) -> bytes:
    if env_value:
        if len(env_value) < MIN_SECRET:
            raise TokenInvalid(f"REDACTOR_SECRET_KEY must have at least {MIN_SECRET} characters")
        return env_value.encode()
    return _key_file_secret()


def secret() -> bytes:
    from redactor.config import settings

    return _secret_for(os.environ.get("REDACTOR_SECRET_KEY"), str(settings().home))


def issue(user_id: int, username: str, now: dt.datetime | None = None, version: int = 0) -> tuple[str, int]:
    """(token, seconds it lives). `version`: the account's credential_version now."""
    now = now or dt.datetime.now(dt.UTC)
    life = lifetime()
    claims = {"sub": str(user_id), "name": username, "ver": int(version), "iat": now, "exp": now + life,
              "iss": ISSUER, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, secret(), algorithm=ALGORITHM), int(life.total_seconds())


def claims(token: str) -> tuple[int, int]:
    """(user id, credential version) of a valid, unexpired token; TokenInvalid otherwise."""
    try:
        c = jwt.decode(token, secret(), algorithms=[ALGORITHM], issuer=ISSUER,
                       options={"require": ["sub", "exp", "iat", "ver"]})
        return int(c["sub"]), int(c["ver"])
    except (jwt.PyJWTError, ValueError, TypeError) as err:
        raise TokenInvalid(f"invalid token: {err}") from None


def read(token: str) -> int:
    """The user id of a valid, unexpired token; TokenInvalid otherwise (its version is checked by the caller
    against the account: api.deps.account_for_token)."""
    return claims(token)[0]

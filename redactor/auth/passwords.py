"""Password hashing with Argon2id (argon2-cffi's defaults follow RFC 9106's recommended parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from redactor.errors import BadInput

MIN_LENGTH = 8
MAX_LENGTH = 1024  # a megabyte "password" is a denial of service on the hasher, not a password

_hasher = PasswordHasher()
# Verified against when the user does not exist, so an unknown name costs the same time as a wrong password.
_DUMMY = _hasher.hash("redactor-dummy-password")


def check_policy(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise BadInput(f"the password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise BadInput(f"the password is longer than {MAX_LENGTH} characters")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_policy(password))


def verify_password(stored: str | None, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)

"""The object store's interface, its errors, and what both back ends share: sealing with a per-object data key,
expiry rules, and the HMAC-signed download links that the API serves."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from redactor.errors import BadInput, RedactorError
from redactor.storage.envelope import new_data_key, unwrap_key, wrap_key
from redactor.storage.keystore import DirectoryKeyStore, KeyStore
from redactor.storage.secrets import master_key

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class ObjectMissing(RedactorError):
    exit_code = 6


class ObjectExpired(RedactorError):
    """Past its expiry: it is no longer served, even before the reaper has deleted it."""

    exit_code = 6


class LinkInvalid(RedactorError):
    exit_code = 6


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int  # plaintext bytes
    expires_at: datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def check_key(key: str) -> str:
    if not _KEY_RE.match(key) or ".." in key or len(key) > 512:
        raise BadInput(f"object key {key!r}: use letters, digits, '.', '_', '-' and '/' between names")
    return key


def check_expiry(expires_at: datetime, now: datetime | None = None) -> datetime:
    if expires_at.tzinfo is None:
        raise BadInput("expiry must carry a time zone")
    if expires_at <= (now or utcnow()):
        raise BadInput(f"expiry {expires_at.isoformat()} is already past")
    return expires_at.astimezone(UTC)


def link_lifetime(expires_at: datetime, lifetime: timedelta, now: datetime | None = None) -> timedelta:
    """A link never outlives its object."""
    left = expires_at - (now or utcnow())
    if left <= timedelta(0):
        raise ObjectExpired("the object is past its expiry: no link")
    return min(lifetime, left)


@runtime_checkable
class ObjectStore(Protocol):
    """Private, encrypted, expiring objects. `put` streams; `get` yields plaintext chunks; `delete` destroys the data
    key and the bytes."""

    def put(self, key: str, source: BinaryIO | str | Path, expires_at: datetime,
            content_type: str = "application/octet-stream") -> ObjectInfo: ...

    def get(self, key: str, now: datetime | None = None) -> Iterator[bytes]: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def presigned_url(self, key: str, lifetime: timedelta, now: datetime | None = None) -> str: ...

    def set_expiry(self, key: str, expires_at: datetime) -> None: ...

    def expiry(self, key: str) -> datetime: ...

    def list_expired(self, now: datetime | None = None) -> list[str]: ...

    def sealed_bytes(self, key: str) -> Iterator[bytes]: ...

    def size(self, key: str) -> int: ...

    def get_range(self, key: str, start: int, stop: int, now: datetime | None = None) -> Iterator[bytes]: ...

    def destroy_key(self, key: str) -> bool: ...


class DataKeys:
    """Per-object data keys wrapped by the master key; `object_id` binds a wrapped key to one store and one key."""

    def __init__(self, namespace: str, keystore: KeyStore | None = None, master: bytes | None = None) -> None:
        self.namespace = namespace
        self.keystore = keystore or DirectoryKeyStore()
        self._master = master

    @property
    def master(self) -> bytes:
        if self._master is None:
            self._master = master_key()
        return self._master

    def object_id(self, key: str) -> str:
        return f"{self.namespace}/{key}"

    def create(self, key: str) -> bytes:
        dk = new_data_key()
        oid = self.object_id(key)
        # saving a new key for the same name destroys the old one: an overwritten object's old copies die with it
        self.keystore.save(oid, wrap_key(self.master, dk, oid))
        return dk

    def load(self, key: str) -> bytes:
        oid = self.object_id(key)
        wrapped = self.keystore.load(oid)
        if wrapped is None:
            raise ObjectMissing(f"{key}: its data key is destroyed or was never made")
        return unwrap_key(self.master, wrapped, oid)

    def destroy(self, key: str) -> bool:
        return self.keystore.destroy(self.object_id(key))


def open_source(source: BinaryIO | str | Path) -> tuple[BinaryIO, bool]:
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise BadInput(f"{path}: no such file")
        return open(path, "rb"), True
    return source, False


class CountingReader:
    def __init__(self, src: BinaryIO) -> None:
        self.src, self.count = src, 0

    def read(self, n: int = -1) -> bytes:
        data = self.src.read(n)
        self.count += len(data)
        return data


# ---- signed links (the local back end's "presigned" URL; the API verifies and streams the plaintext) ----

def _link_secret() -> bytes:
    return hmac.new(master_key(), b"redactor download links v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_link(namespace: str, key: str, until: datetime, secret: bytes | None = None) -> str:
    body = _b64(json.dumps({"n": namespace, "k": key, "e": int(until.timestamp())}, separators=(",", ":")).encode())
    mac = hmac.new(secret or _link_secret(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify_link(token: str, now: datetime | None = None, secret: bytes | None = None) -> tuple[str, str]:
    """(namespace, key) of a valid, unexpired token; LinkInvalid otherwise."""
    try:
        body, mac = token.split(".")
        expected = hmac.new(secret or _link_secret(), body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise LinkInvalid("the link's signature is wrong")
        claims = json.loads(_unb64(body))
    except (ValueError, KeyError, TypeError):
        raise LinkInvalid("the link is malformed") from None
    if (now or utcnow()).timestamp() >= claims["e"]:
        raise LinkInvalid("the link has expired")
    return claims["n"], claims["k"]


def public_base_url() -> str:
    return os.environ.get("REDACTOR_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

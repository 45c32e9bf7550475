"""The embedded default object store: a private directory under REDACTOR_HOME/objects.

Each object is its sealed bytes (`NAME.sealed`) and a small sidecar (`NAME.meta.json`: expiry, size). Its "presigned"
link is an HMAC-signed token with an expiry (base.sign_link), served by the API after base.verify_link.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from redactor.config import private_dir, settings
from redactor.storage.base import (
    CountingReader,
    DataKeys,
    ObjectExpired,
    ObjectInfo,
    ObjectMissing,
    check_expiry,
    check_key,
    link_lifetime,
    open_source,
    public_base_url,
    sign_link,
    utcnow,
)
from redactor.storage.envelope import SealingReader, open_chunks, open_range
from redactor.storage.keystore import KeyStore

_READ = 1 << 20


class LocalStore:
    def __init__(self, root: Path | None = None, keystore: KeyStore | None = None, master: bytes | None = None,
                 namespace: str = "local") -> None:
        self.root = private_dir(root or settings().home / "objects")
        # object ids (bound into each wrapped key and sealed chunk) must survive moving REDACTOR_HOME
        self.namespace = namespace
        self.keys = DataKeys(self.namespace, keystore, master)

    def _paths(self, key: str) -> tuple[Path, Path]:
        base = self.root / check_key(key)
        return base.with_name(base.name + ".sealed"), base.with_name(base.name + ".meta.json")

    def put(self, key: str, source: BinaryIO | str | Path, expires_at: datetime,
            content_type: str = "application/octet-stream") -> ObjectInfo:
        expires_at = check_expiry(expires_at)
        path, meta = self._paths(key)
        src, close = open_source(source)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.partial")
        counting = CountingReader(src)
        try:
            dk = self.keys.create(key)
            reader = SealingReader(counting, dk, self.keys.object_id(key))
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                while data := reader.read(_READ):
                    out.write(data)
            _write_meta(meta, {"expires_at": expires_at.isoformat(), "size": counting.count,
                               "content_type": content_type})
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            self.keys.destroy(key)
            meta.unlink(missing_ok=True)
            raise
        finally:
            if close:
                src.close()
        return ObjectInfo(key, counting.count, expires_at)

    def _meta(self, key: str) -> dict:
        path, meta = self._paths(key)
        if not path.exists() or not meta.exists():
            raise ObjectMissing(f"{key}: no such object")
        return json.loads(meta.read_text())

    def expiry(self, key: str) -> datetime:
        return datetime.fromisoformat(self._meta(key)["expires_at"])

    def get(self, key: str, now: datetime | None = None) -> Iterator[bytes]:
        if self.expiry(key) <= (now or utcnow()):
            raise ObjectExpired(f"{key}: past its expiry")
        dk = self.keys.load(key)
        path, _ = self._paths(key)
        with open(path, "rb") as fh:
            yield from open_chunks(fh, dk, self.keys.object_id(key))

    def size(self, key: str) -> int:
        """Plaintext bytes (what `get` yields)."""
        return int(self._meta(key)["size"])

    def get_range(self, key: str, start: int, stop: int, now: datetime | None = None) -> Iterator[bytes]:
        """Plaintext bytes [start, stop), decrypting only the 1 MiB chunks that hold them (HTTP Range)."""
        if self.expiry(key) <= (now or utcnow()):
            raise ObjectExpired(f"{key}: past its expiry")
        dk = self.keys.load(key)
        path, _ = self._paths(key)
        with open(path, "rb") as fh:

            def read_at(offset: int, length: int) -> bytes:
                fh.seek(offset)
                return fh.read(length)

            yield from open_range(read_at, path.stat().st_size, dk, self.keys.object_id(key), start, stop)

    def sealed_bytes(self, key: str) -> Iterator[bytes]:
        path, _ = self._paths(key)
        if not path.exists():
            raise ObjectMissing(f"{key}: no such object")
        with open(path, "rb") as fh:
            while data := fh.read(_READ):
                yield data

    def exists(self, key: str) -> bool:
        path, meta = self._paths(key)
        return path.exists() and meta.exists()

    def destroy_key(self, key: str) -> bool:
        return self.keys.destroy(key)

    def delete(self, key: str) -> None:
        path, meta = self._paths(key)
        self.keys.destroy(key)  # first: from here on no copy of the bytes opens
        path.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)

    def set_expiry(self, key: str, expires_at: datetime) -> None:
        meta = self._meta(key)
        meta["expires_at"] = check_expiry(expires_at).isoformat()
        _write_meta(self._paths(key)[1], meta)

    def presigned_url(self, key: str, lifetime: timedelta, now: datetime | None = None) -> str:
        now = now or utcnow()
        life = link_lifetime(self.expiry(key), lifetime, now)
        return f"{public_base_url()}/objects/{sign_link(self.namespace, key, now + life)}"

    def list_expired(self, now: datetime | None = None) -> list[str]:
        now = now or utcnow()
        out = []
        for meta in sorted(self.root.rglob("*.meta.json")):
            key = meta.relative_to(self.root).as_posix()[: -len(".meta.json")]
            try:
                expires = datetime.fromisoformat(json.loads(meta.read_text())["expires_at"])
            except (ValueError, KeyError):
                expires = now  # unreadable expiry: fail closed, it goes
            if expires <= now:
                out.append(key)
        return out


def _write_meta(path: Path, meta: dict) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(meta, fh)
    os.replace(tmp, path)

"""Object storage: private, encrypted with a per-object data key, every object with an expiry; the reaper destroys.

`open_store()` picks the back end from REDACTOR_STORE: unset or `local` for the embedded directory store, or
`s3://ACCESS:SECRET@host:port/bucket` (`s3s://` for TLS) for MinIO / S3.
"""

from __future__ import annotations

import os

from redactor.storage.base import (
    LinkInvalid,
    ObjectExpired,
    ObjectInfo,
    ObjectMissing,
    ObjectStore,
    sign_link,
    verify_link,
)
from redactor.storage.envelope import DecryptionFailed


def open_store(url: str | None = None) -> ObjectStore:
    url = url or os.environ.get("REDACTOR_STORE", "local")
    if url == "local":
        from redactor.storage.local import LocalStore

        return LocalStore()
    from redactor.storage.s3 import S3Store

    return S3Store.from_url(url)


__all__ = ["DecryptionFailed", "LinkInvalid", "ObjectExpired", "ObjectInfo", "ObjectMissing", "ObjectStore",
           "open_store", "sign_link", "verify_link"]

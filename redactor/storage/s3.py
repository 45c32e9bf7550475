"""MinIO / S3 back end through the `minio` SDK.

The bytes are sealed here before they leave (per-object data key, base.DataKeys), so the server only ever holds
ciphertext; server-side encryption is switched on as well where the server supports it. The bucket is private (no
policy is ever set). Every object carries its expiry as a tag; a bucket lifecycle rule per retention class (by tag)
deletes what the reaper missed. A presigned link serves the sealed bytes, for a transfer between the service's own
parts or to a recipient that holds the data key; people download through the API's link (base.sign_link).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from minio import Minio
from minio.commonconfig import ENABLED, Filter, Tags
from minio.error import S3Error
from minio.lifecycleconfig import Expiration, LifecycleConfig, Rule
from minio.sseconfig import Rule as SseRule
from minio.sseconfig import SSEConfig

from redactor.errors import BadInput
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
    utcnow,
)
from redactor.storage.envelope import ChunkReader, SealingReader, open_chunks, open_range, plain_size, sealed_size
from redactor.storage.keystore import KeyStore

log = logging.getLogger(__name__)

EXPIRY_TAG = "redactor-expires-at"
CLASS_TAG = "redactor-retention-class"
# Lifecycle backstop classes (days after upload): an object goes in the smallest class that covers its expiry,
# and the rule deletes it one day after the class ends.
RETENTION_CLASSES = (31, 92, 366, 1830, 3660)
PART = 16 * 1024 * 1024


def retention_class(expires_at: datetime, now: datetime) -> int:
    days = math.ceil((expires_at - now).total_seconds() / 86400)
    for c in RETENTION_CLASSES:
        if days <= c:
            return c
    raise BadInput(f"expiry {expires_at.isoformat()} is beyond the longest retention class ({RETENTION_CLASSES[-1]} d)")


class S3Store:
    def __init__(self, client: Minio, bucket: str, keystore: KeyStore | None = None,
                 master: bytes | None = None) -> None:
        self.client = client
        self.bucket = bucket
        # not the endpoint's host name: moving the server must not orphan every object's key
        self.namespace = f"s3:{bucket}"
        self.keys = DataKeys(self.namespace, keystore, master)
        self.server_side_encryption = False
        self._prepare()

    @classmethod
    def from_url(cls, url: str, **kw) -> S3Store:
        """`s3://ACCESS:SECRET@host:port/bucket` (http) or `s3s://...` (https)."""
        u = urlparse(url)
        if u.scheme not in ("s3", "s3s") or not u.hostname or not u.path.strip("/"):
            raise BadInput("object store URL: s3://ACCESS:SECRET@host:port/bucket (s3s:// for TLS)")
        client = Minio(f"{u.hostname}:{u.port or (443 if u.scheme == 's3s' else 80)}",
                       access_key=unquote(u.username or ""), secret_key=unquote(u.password or ""),
                       secure=u.scheme == "s3s", region="us-east-1")
        return cls(client, u.path.strip("/"), **kw)

    def _prepare(self) -> None:
        if not self.client.bucket_exists(self.bucket):
            self.client.make_bucket(self.bucket)
        try:
            self.client.set_bucket_encryption(self.bucket, SSEConfig(SseRule.new_sse_s3_rule()))
            self.server_side_encryption = True
        except S3Error as err:
            # MinIO without a KMS refuses SSE-S3; the bytes are sealed client-side anyway
            log.warning("server-side encryption not available on %s: %s", self.bucket, err.code)
        rules = [Rule(ENABLED, rule_filter=Filter(tag=_tag(CLASS_TAG, str(c))), rule_id=f"redactor-backstop-{c}d",
                      expiration=Expiration(days=c + 1)) for c in RETENTION_CLASSES]
        self.client.set_bucket_lifecycle(self.bucket, LifecycleConfig(rules))

    def put(self, key: str, source: BinaryIO | str | Path, expires_at: datetime,
            content_type: str = "application/octet-stream") -> ObjectInfo:
        check_key(key)
        now = utcnow()
        expires_at = check_expiry(expires_at, now)
        tags = Tags.new_object_tags()
        tags[EXPIRY_TAG] = expires_at.isoformat()
        tags[CLASS_TAG] = str(retention_class(expires_at, now))
        src, close = open_source(source)
        try:
            size = _size_of(src)
            dk = self.keys.create(key)
            counting = CountingReader(src)
            reader = SealingReader(counting, dk, self.keys.object_id(key))
            length = sealed_size(size) if size is not None else -1
            self.client.put_object(self.bucket, key, reader, length, content_type="application/octet-stream",
                                   metadata={"plain-type": content_type}, part_size=PART, tags=tags)
        except BaseException:
            self.keys.destroy(key)
            raise
        finally:
            if close:
                src.close()
        return ObjectInfo(key, counting.count, expires_at)

    def expiry(self, key: str) -> datetime:
        try:
            tags = self.client.get_object_tags(self.bucket, check_key(key)) or {}
        except S3Error as err:
            if err.code in ("NoSuchKey", "NoSuchObject"):
                raise ObjectMissing(f"{key}: no such object") from None
            raise
        if EXPIRY_TAG not in tags:
            raise ObjectMissing(f"{key}: carries no expiry tag")
        return datetime.fromisoformat(tags[EXPIRY_TAG])

    def _stream(self, key: str) -> Iterator[bytes]:
        try:
            resp = self.client.get_object(self.bucket, check_key(key))
        except S3Error as err:
            if err.code in ("NoSuchKey", "NoSuchObject"):
                raise ObjectMissing(f"{key}: no such object") from None
            raise
        try:
            yield from resp.stream(1 << 20)
        finally:
            resp.close()
            resp.release_conn()

    def get(self, key: str, now: datetime | None = None) -> Iterator[bytes]:
        if self.expiry(key) <= (now or utcnow()):
            raise ObjectExpired(f"{key}: past its expiry")
        dk = self.keys.load(key)
        yield from open_chunks(ChunkReader(self._stream(key)), dk, self.keys.object_id(key))

    def size(self, key: str) -> int:
        """Plaintext bytes (what `get` yields), from the sealed object's size."""
        try:
            return plain_size(self.client.stat_object(self.bucket, check_key(key)).size)
        except S3Error as err:
            if err.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                raise ObjectMissing(f"{key}: no such object") from None
            raise

    def get_range(self, key: str, start: int, stop: int, now: datetime | None = None) -> Iterator[bytes]:
        """Plaintext bytes [start, stop), fetching and decrypting only the chunks that hold them (HTTP Range)."""
        if self.expiry(key) <= (now or utcnow()):
            raise ObjectExpired(f"{key}: past its expiry")
        dk = self.keys.load(key)
        sealed = self.client.stat_object(self.bucket, check_key(key)).size

        def read_at(offset: int, length: int) -> bytes:
            resp = self.client.get_object(self.bucket, key, offset=offset, length=length)
            try:
                return resp.read()
            finally:
                resp.close()
                resp.release_conn()

        yield from open_range(read_at, sealed, dk, self.keys.object_id(key), start, stop)

    def sealed_bytes(self, key: str) -> Iterator[bytes]:
        return self._stream(key)

    def exists(self, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket, check_key(key))
            return True
        except S3Error as err:
            if err.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            raise

    def destroy_key(self, key: str) -> bool:
        return self.keys.destroy(key)

    def delete(self, key: str) -> None:
        self.keys.destroy(key)  # first: from here on no copy of the bytes opens
        self.client.remove_object(self.bucket, check_key(key))

    def set_expiry(self, key: str, expires_at: datetime) -> None:
        now = utcnow()
        expires_at = check_expiry(expires_at, now)
        self.expiry(key)  # exists?
        tags = Tags.new_object_tags()
        tags[EXPIRY_TAG] = expires_at.isoformat()
        tags[CLASS_TAG] = str(retention_class(expires_at, now))
        self.client.set_object_tags(self.bucket, key, tags)

    def presigned_url(self, key: str, lifetime: timedelta, now: datetime | None = None) -> str:
        now = now or utcnow()
        life = link_lifetime(self.expiry(key), lifetime, now)
        # S3 signs whole seconds; round down so the link never outlives the object
        life = timedelta(seconds=max(1, math.floor(life.total_seconds())))
        return self.client.presigned_get_object(self.bucket, key, expires=min(life, timedelta(days=7)))

    def list_expired(self, now: datetime | None = None) -> list[str]:
        now = now or utcnow()
        out = []
        for obj in self.client.list_objects(self.bucket, recursive=True):
            try:
                expires = self.expiry(obj.object_name)
            except ObjectMissing:
                continue  # deleted meanwhile
            except ValueError:
                expires = now  # unreadable expiry: fail closed, it goes
            if expires <= now:
                out.append(obj.object_name)
        return sorted(out)


def _tag(key: str, value: str):
    from minio.commonconfig import Tag

    return Tag(key, value)


def _size_of(src: BinaryIO) -> int | None:
    try:
        pos = src.tell()
        end = src.seek(0, 2)
        src.seek(pos)
        return end - pos
    except (OSError, AttributeError, ValueError):
        return None


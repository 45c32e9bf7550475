"""The object store against real back ends: a local directory, and a real S3-protocol server (moto's server mode)
on loopback through the minio SDK. Expiry, reaper, links, per-object keys, destruction."""

from __future__ import annotations

import io
import os
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from s3_server import s3_server  # noqa: F401

from redactor.errors import BadInput
from redactor.storage import DecryptionFailed, LinkInvalid, ObjectExpired, ObjectMissing
from redactor.storage.base import utcnow, verify_link
from redactor.storage.envelope import open_chunks
from redactor.storage.local import LocalStore
from redactor.storage.reaper import reap
from redactor.storage.s3 import S3Store


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("REDACTOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("REDACTOR_MASTER_KEY", raising=False)
    return tmp_path / "home"


class LinkServer:
    """What the API will do for the local store's links: verify the token, stream the plaintext (a real HTTP server
    on loopback, so the test's GET goes over the wire)."""

    def __init__(self, store: LocalStore) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                try:
                    ns, key = verify_link(self.path.rsplit("/", 1)[-1])
                    if ns != store.namespace:
                        raise LinkInvalid("another store")
                    body = b"".join(store.get(key))
                except (LinkInvalid, ObjectMissing, ObjectExpired):
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        outer.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(params=["local", "s3"])
def store(request, home, monkeypatch):
    if request.param == "local":
        st = LocalStore()
        server = LinkServer(st)
        monkeypatch.setenv("REDACTOR_PUBLIC_URL", server.base)
        yield st
        server.close()
    else:
        endpoint = request.getfixturevalue("s3_server")
        import uuid

        yield S3Store(endpoint.client(), f"redactor-{uuid.uuid4().hex[:10]}")


def _read(store, key, **kw) -> bytes:
    return b"".join(store.get(key, **kw))


def test_roundtrip_streams_and_is_sealed(store, tmp_path):
    data = os.urandom(2_500_000)  # three chunks, the last one partial
    src = tmp_path / "clip.mp4"
    src.write_bytes(data)
    info = store.put("release/42/clip.mp4", src, utcnow() + timedelta(days=30))
    assert info.size == len(data)
    assert store.exists("release/42/clip.mp4")
    assert _read(store, "release/42/clip.mp4") == data
    sealed = b"".join(store.sealed_bytes("release/42/clip.mp4"))
    assert data[:4096] not in sealed and len(sealed) > len(data)  # the store holds ciphertext only
    # an exact multiple of the chunk size, and an empty object
    store.put("a/exact", io.BytesIO(b"x" * (1 << 20)), utcnow() + timedelta(days=1))
    assert _read(store, "a/exact") == b"x" * (1 << 20)
    store.put("a/empty", io.BytesIO(b""), utcnow() + timedelta(days=1))
    assert _read(store, "a/empty") == b""


def test_bad_input_is_refused(store):
    with pytest.raises(BadInput):
        store.put("../etc/passwd", io.BytesIO(b"x"), utcnow() + timedelta(days=1))
    with pytest.raises(BadInput):
        store.put("ok", io.BytesIO(b"x"), utcnow() - timedelta(seconds=1))
    with pytest.raises(ObjectMissing):
        _read(store, "nothing/here")


def test_expired_object_is_reaped_link_dies_and_destruction_recorded(store):
    now = utcnow()
    store.put("short", io.BytesIO(b"short-lived footage"), now + timedelta(seconds=30))
    store.put("long", io.BytesIO(b"kept footage"), now + timedelta(days=30))
    link = store.presigned_url("short", timedelta(days=7))
    assert httpx.get(link).status_code == 200
    sealed_copy = b"".join(store.sealed_bytes("short"))

    later = now + timedelta(minutes=5)
    with pytest.raises(ObjectExpired):
        _read(store, "short", now=later)  # past expiry it is not served, even before the reaper runs
    assert store.list_expired(later) == ["short"]
    recorded = []
    reaped = reap(store, lambda key, when, role: recorded.append((key, when, role)), now=later)
    assert [r.key for r in reaped] == ["short"] and all(r.recorded for r in reaped)
    assert [(k, r) for k, _, r in recorded] == [("short", "system:reaper")]
    assert not store.exists("short") and store.exists("long")
    assert httpx.get(link).status_code >= 400  # the link no longer works
    with pytest.raises(ObjectMissing):
        store.keys.load("short")
    with pytest.raises(DecryptionFailed):  # a copy of its bytes does not open with any key we hold
        b"".join(open_chunks(io.BytesIO(sealed_copy), os.urandom(32), store.keys.object_id("short")))
    assert _read(store, "long") == b"kept footage"


def test_link_never_outlives_the_object(store):
    now = utcnow()
    store.put("clip", io.BytesIO(b"abc"), now + timedelta(seconds=90))
    link = store.presigned_url("clip", timedelta(days=7), now=now)
    if isinstance(store, S3Store):
        expires = int(httpx.URL(link).params["X-Amz-Expires"])
        assert 1 <= expires <= 90
    else:
        token = link.rsplit("/", 1)[-1]
        with pytest.raises(LinkInvalid):
            verify_link(token, now=now + timedelta(seconds=91))
        with pytest.raises(LinkInvalid):
            verify_link(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])
    with pytest.raises(ObjectExpired):
        store.presigned_url("clip", timedelta(days=1), now=now + timedelta(seconds=100))


def test_destroyed_data_key_makes_every_copy_unreadable(store):
    store.put("evidence", io.BytesIO(b"secret footage" * 1000), utcnow() + timedelta(days=30))
    copy = b"".join(store.sealed_bytes("evidence"))  # someone copied the stored bytes
    dk = store.keys.load("evidence")
    assert b"".join(open_chunks(io.BytesIO(copy), dk, store.keys.object_id("evidence"))) == b"secret footage" * 1000
    del dk
    assert store.destroy_key("evidence")
    with pytest.raises(ObjectMissing):
        _read(store, "evidence")  # the store itself cannot open it
    with pytest.raises(ObjectMissing):
        store.keys.load("evidence")
    wrapped_files = list((Path(os.environ["REDACTOR_HOME"]) / "keys" / "objects").glob("*.key"))
    assert wrapped_files == []  # nothing left to unwrap


def test_tampered_or_truncated_copy_does_not_open(store):
    store.put("t", io.BytesIO(os.urandom(3 << 20)), utcnow() + timedelta(days=1))
    sealed = bytearray(b"".join(store.sealed_bytes("t")))
    dk, oid = store.keys.load("t"), store.keys.object_id("t")
    flipped = bytearray(sealed)
    flipped[len(sealed) // 2] ^= 1
    for bad in (bytes(flipped), bytes(sealed[: (1 << 20) + 32]), bytes(sealed[:-1])):
        with pytest.raises(DecryptionFailed):
            b"".join(open_chunks(io.BytesIO(bad), dk, oid))


def test_master_key_file_is_private(store, home):
    store.put("k", io.BytesIO(b"abc"), utcnow() + timedelta(days=1))
    key = home / "keys" / "master.key"
    assert key.exists() and (key.stat().st_mode & 0o777) == 0o600


def test_s3_bucket_is_private_encrypted_and_has_lifecycle(s3_server):  # noqa: F811
    import uuid

    bucket = f"redactor-{uuid.uuid4().hex[:10]}"
    st = S3Store(s3_server.client(), bucket)
    st.put("x", io.BytesIO(b"abc"), utcnow() + timedelta(days=10))
    anon = httpx.get(f"http://{s3_server.endpoint}/{bucket}/x")
    assert anon.status_code == 403  # no unsigned reads
    client = s3_server.client()
    assert client.get_bucket_encryption(bucket) is not None
    rules = client.get_bucket_lifecycle(bucket).rules
    assert {r.rule_id for r in rules} >= {"redactor-backstop-31d"}
    tags = client.get_object_tags(bucket, "x")
    assert tags["redactor-retention-class"] == "31" and "redactor-expires-at" in tags


def test_unknown_length_stream_is_uploaded_in_parts(store):
    """A pipe has no size: the upload streams (S3: multipart of 16 MiB parts) without reading it all first."""
    data = os.urandom(3_000_000)
    r, w = os.pipe()

    def feed() -> None:
        with os.fdopen(w, "wb") as fh:
            fh.write(data)

    t = threading.Thread(target=feed)
    t.start()
    with os.fdopen(r, "rb") as src:
        info = store.put("piped", src, utcnow() + timedelta(days=1))
    t.join()
    assert info.size == len(data) and _read(store, "piped") == data


def test_master_key_from_environment(home, monkeypatch):
    import base64

    from redactor.storage.secrets import SecretMissing

    monkeypatch.setenv("REDACTOR_MASTER_KEY", base64.b64encode(b"m" * 32).decode())
    st = LocalStore()
    st.put("k", io.BytesIO(b"abc"), utcnow() + timedelta(days=1))
    assert _read(st, "k") == b"abc" and not (home / "keys" / "master.key").exists()
    monkeypatch.setenv("REDACTOR_MASTER_KEY", base64.b64encode(b"m" * 32).decode().replace("b", "c"))
    with pytest.raises(DecryptionFailed):  # another master key cannot unwrap the data key
        _read(LocalStore(), "k")
    monkeypatch.setenv("REDACTOR_MASTER_KEY", "too-short")
    with pytest.raises(SecretMissing):
        LocalStore().put("k2", io.BytesIO(b"abc"), utcnow() + timedelta(days=1))


def test_ranges_decrypt_only_the_chunks_they_need(store, tmp_path, monkeypatch):
    """HTTP Range on a sealed object: every slice equals the plaintext's, and a range inside one chunk opens that
    chunk alone (counted at the AEAD)."""
    from redactor.storage import envelope

    data = os.urandom(3 * (1 << 20) + 12345)  # four chunks, the last one partial
    store.put("r/clip.mp4", io.BytesIO(data), utcnow() + timedelta(days=1))
    assert store.size("r/clip.mp4") == len(data)
    mib = 1 << 20
    for start, stop in [(0, 1), (0, len(data)), (mib - 5, mib + 5), (len(data) - 10, len(data)), (2 * mib, 3 * mib),
                        (3 * mib + 100, len(data) + 999), (17, 17)]:
        assert b"".join(store.get_range("r/clip.mp4", start, stop)) == data[start:stop], (start, stop)
    opened = []
    real = envelope.AESGCM

    class Counting:
        def __init__(self, key):
            self.inner = real(key)

        def decrypt(self, nonce, data, aad):
            opened.append(len(data))
            return self.inner.decrypt(nonce, data, aad)

    with monkeypatch.context() as m:
        m.setattr(envelope, "AESGCM", Counting)
        part = b"".join(store.get_range("r/clip.mp4", 2 * mib + 7, 2 * mib + 70000))
    assert part == data[2 * mib + 7:2 * mib + 70000]
    assert [n for n in opened if n > 100] == [mib + 16]  # one sealed chunk (the other is the wrapped data key)
    # empty and exact-multiple objects
    store.put("r/exact", io.BytesIO(b"y" * mib), utcnow() + timedelta(days=1))
    assert b"".join(store.get_range("r/exact", mib - 3, mib + 3)) == b"yyy"
    store.put("r/empty", io.BytesIO(b""), utcnow() + timedelta(days=1))
    assert store.size("r/empty") == 0 and b"".join(store.get_range("r/empty", 0, 10)) == b""


def test_range_of_altered_chunk_does_not_open(home):
    st = LocalStore()
    data = os.urandom(2 * (1 << 20) + 10)
    st.put("t/clip", io.BytesIO(data), utcnow() + timedelta(days=1))
    path = st.root / "t" / "clip.sealed"
    raw = bytearray(path.read_bytes())
    raw[16 + (1 << 20) + 16 + 100] ^= 1  # a byte of chunk 1
    path.write_bytes(bytes(raw))
    assert b"".join(st.get_range("t/clip", 0, 100)) == data[:100]  # chunk 0 is intact
    with pytest.raises(DecryptionFailed):
        b"".join(st.get_range("t/clip", (1 << 20) + 5, (1 << 20) + 50))
    path.write_bytes(bytes(raw[: 16 + 2 * ((1 << 20) + 16)]))  # cut after chunk 1: no final chunk
    with pytest.raises(DecryptionFailed):
        b"".join(st.get_range("t/clip", 0, 10 ** 9))

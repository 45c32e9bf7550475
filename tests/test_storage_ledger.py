"""The reaper's default recorder writes a real 파기 row into the 관리대장 (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from dbsupport import *  # noqa: F403
from s3_server import s3_server  # noqa: F401
from sqlalchemy import select

from redactor.db import session_scope
from redactor.ledger.models import LedgerEntry
from redactor.storage.base import utcnow
from redactor.storage.local import LocalStore
from redactor.storage.reaper import ledger_recorder, reap
from redactor.storage.s3 import S3Store


@pytest.fixture(params=["local", "s3"])
def store(request, ledger_home):
    if request.param == "local":
        return LocalStore()
    import uuid

    return S3Store(request.getfixturevalue("s3_server").client(), f"redactor-{uuid.uuid4().hex[:10]}")


def test_reaper_appends_the_destruction_row(db_url, store):
    import httpx

    now = utcnow()
    store.put("release/7/clip.mp4", io.BytesIO(b"footage"), now + timedelta(seconds=10))
    store.put("release/8/clip.mp4", io.BytesIO(b"footage"), now + timedelta(days=10))
    link = store.presigned_url("release/7/clip.mp4", timedelta(hours=1))
    reaped = reap(store, ledger_recorder(db_url), now=now + timedelta(minutes=1))
    assert [r.key for r in reaped] == ["release/7/clip.mp4"] and reaped[0].recorded
    with session_scope(db_url) as s:
        rows = s.scalars(select(LedgerEntry)).all()
        assert [(r.kind, r.file, r.officer) for r in rows] == [("파기", "release/7/clip.mp4", "system:reaper")]
    assert not store.exists("release/7/clip.mp4") and store.exists("release/8/clip.mp4")
    if isinstance(store, S3Store):  # a real HTTP GET of the presigned link now fails
        assert httpx.get(link).status_code == 404


def test_failed_record_is_journalled_and_retried(ledger_home, db_url):
    store = LocalStore()
    now = utcnow()
    store.put("gone", io.BytesIO(b"x"), now + timedelta(seconds=5))

    def broken(key, when, role):
        raise RuntimeError("database down")

    reaped = reap(store, broken, now=now + timedelta(minutes=1))
    assert not store.exists("gone") and not reaped[0].recorded
    assert (ledger_home / "reaper-pending.jsonl").read_text().count("gone") == 1
    reap(store, ledger_recorder(db_url), now=now + timedelta(minutes=2))
    assert (ledger_home / "reaper-pending.jsonl").read_text() == ""
    with session_scope(db_url) as s:
        assert [r.file for r in s.scalars(select(LedgerEntry)).all()] == ["gone"]

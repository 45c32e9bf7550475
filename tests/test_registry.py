"""Registry rules on SQLite and PostgreSQL: expiry at most 30 days after collection, holds."""

from __future__ import annotations

import datetime as dt

import pytest
from dbsupport import *  # noqa: F403

from redactor.registry import service as rs
from redactor.registry.models import Camera, Purpose

T0 = dt.datetime(2026, 6, 1, 15, 0, tzinfo=dt.UTC)


def camera(session, **kw) -> Camera:
    args = dict(code="OS-200", location="오산시 궐동 중앙공원", department="공원녹지과", officer="과장", staff="주무관",
                purpose=Purpose.시설관리, purpose_detail="공원")
    return rs.add_camera(session, **{**args, **kw})


def test_expiry_is_at_most_30_days_after_collection(session):
    cam = camera(session)
    rec = rs.add_recording(session, cam, start_at=T0, end_at=T0 + dt.timedelta(hours=1), object_key="r/1.mp4")
    assert rec.collected_at == T0 + dt.timedelta(hours=1)
    assert rec.expires_at == rec.collected_at + dt.timedelta(days=30)
    short = camera(session, code="OS-201", retention_days=7)
    rec2 = rs.add_recording(session, short, start_at=T0, end_at=T0 + dt.timedelta(hours=1), object_key="r/2.mp4",
                            collected_at=T0 + dt.timedelta(hours=2))
    assert rec2.expires_at == T0 + dt.timedelta(days=7, hours=2)
    session.commit()
    assert session.get(Camera, cam.id).purpose == Purpose.시설관리


def test_bad_camera_and_recording_are_refused(session):
    with pytest.raises(rs.RegistryError, match="30"):
        camera(session, retention_days=31)
    with pytest.raises(ValueError):
        camera(session, code="OS-202", purpose="구경거리")
    cam = camera(session, code="OS-203")
    with pytest.raises(rs.RegistryError, match="not after"):
        rs.add_recording(session, cam, start_at=T0, end_at=T0, object_key="x")


def test_holds_keep_a_recording(session):
    cam = camera(session)
    rec = rs.add_recording(session, cam, start_at=T0, end_at=T0 + dt.timedelta(hours=1), object_key="r/1.mp4")
    with pytest.raises(rs.RegistryError, match="reason"):
        rs.place_hold(session, rec, reason=" ", approved_by="officer")
    hold = rs.place_hold(session, rec, reason="재판 자료(제35조①2)", approved_by="officer",
                         until=T0 + dt.timedelta(days=90))
    assert rs.is_held(rec, T0 + dt.timedelta(days=40))
    with pytest.raises(rs.RecordingHeld, match="재판 자료"):
        rs.ensure_deletable(rec, T0 + dt.timedelta(days=40))
    assert not rs.is_held(rec, T0 + dt.timedelta(days=91))  # a dated hold lapses by itself
    rs.release_hold(session, hold)
    assert not rs.is_held(rec, T0 + dt.timedelta(days=40))
    rs.ensure_deletable(rec, T0 + dt.timedelta(days=40))


def test_expired_and_overlapping_queries(session):
    cam = camera(session)
    recs = [rs.add_recording(session, cam, start_at=T0 + dt.timedelta(days=d), end_at=T0 + dt.timedelta(days=d + 1),
                             object_key=f"r/{d}.mp4") for d in range(5)]
    assert rs.expired_recordings(session, T0 + dt.timedelta(days=32, hours=1)) == recs[:2]
    found = rs.recordings_overlapping(session, cam.id, T0 + dt.timedelta(days=2, hours=23),
                                      T0 + dt.timedelta(days=3, hours=1))
    assert found == recs[2:4]

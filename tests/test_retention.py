"""Retention on SQLite and PostgreSQL: expired recordings destroyed (object gone, 파기 row), held ones kept."""

from __future__ import annotations

import datetime as dt
import io

from dbsupport import *  # noqa: F403

from redactor.ledger.models import LedgerEntry
from redactor.ledger.service import Ledger
from redactor.ledger.verify import verify_database
from redactor.registry import service as rs
from redactor.registry.models import Purpose, Recording
from redactor.retention.service import destroy_recording, run

T0 = dt.datetime(2026, 6, 1, 15, 0, tzinfo=dt.UTC)


def setup_recordings(session, tmp_path, n=4):
    cam = rs.add_camera(session, code="OS-300", location="오산시 오산동 오산역", department="교통행정과",
                        officer="과장", staff="주무관", purpose=Purpose.교통안전, purpose_detail="교통정보")
    recs = []
    for d in range(n):
        f = tmp_path / f"clip{d}.mp4"
        f.write_bytes(b"footage")
        recs.append(rs.add_recording(session, cam, start_at=T0 + dt.timedelta(days=d),
                                     end_at=T0 + dt.timedelta(days=d, hours=1), object_key=str(f)))
    session.commit()
    return recs


def test_dry_run_changes_nothing(session, tmp_path):
    recs = setup_recordings(session, tmp_path)
    result = run(session, now=T0 + dt.timedelta(days=32), dry_run=True)
    assert [r.id for r in result.due] == [recs[0].id, recs[1].id]
    assert all(r.destroyed_at is None for r in recs) and all(tmp_path.joinpath(f"clip{d}.mp4").exists()
                                                               for d in range(4))
    assert session.query(LedgerEntry).count() == 0


def test_run_destroys_expired_unless_held(session, tmp_path):
    recs = setup_recordings(session, tmp_path)
    rs.place_hold(session, recs[1], reason="수사 자료 제공(제35조①2)", approved_by="officer.park")
    now = T0 + dt.timedelta(days=32)
    result = run(session, now=now)
    assert result.held == [recs[1].id]
    assert [rid for rid, _ in result.destroyed] == [recs[0].id]
    assert not tmp_path.joinpath("clip0.mp4").exists() and tmp_path.joinpath("clip1.mp4").exists()
    session.expire_all()
    rec0 = session.get(Recording, recs[0].id)
    assert (rec0.destroyed_at, rec0.destroyed_by) == (now, "system")
    entry = session.get(LedgerEntry, result.destroyed[0][1])
    assert (entry.kind, entry.occurred_at, entry.officer, entry.approval) == ("파기", now, "system", "system")
    assert entry.file.startswith("clip0.mp4") and "제35조" in entry.basis
    # A second run finds nothing new; a later one takes the next day.
    assert run(session, now=now).destroyed == []
    assert [rid for rid, _ in run(session, now=now + dt.timedelta(days=2)).destroyed] == [recs[2].id, recs[3].id]
    assert verify_database(session, Ledger().key.public_key()).ok


def test_pluggable_destroyer_and_failure_leaves_no_row(session, tmp_path):
    recs = setup_recordings(session, tmp_path, n=1)
    seen = []
    destroy_recording(session, recs[0], destroyer=seen.append, responsible="privacy_officer",
                      now=T0 + dt.timedelta(days=31))
    assert seen == [recs[0]] and session.query(LedgerEntry).one().officer == "privacy_officer"
    session.rollback()

    def broken(_rec):
        raise OSError("object store unreachable")

    try:
        run(session, now=T0 + dt.timedelta(days=32), destroyer=broken)
    except OSError:
        session.rollback()
    assert session.query(LedgerEntry).count() == 0
    assert session.get(Recording, recs[0].id).destroyed_at is None


def test_destroying_an_already_missing_file_is_fine(session, tmp_path):
    setup_recordings(session, tmp_path, n=1)
    tmp_path.joinpath("clip0.mp4").unlink()
    assert len(run(session, now=T0 + dt.timedelta(days=32)).destroyed) == 1


def test_destroys_through_the_object_store(session, ledger_home, monkeypatch):
    """The default destroyer goes through redactor.storage (the embedded local store here): data key and bytes go."""
    from redactor.storage import open_store

    monkeypatch.delenv("REDACTOR_STORE", raising=False)
    monkeypatch.delenv("REDACTOR_MASTER_KEY", raising=False)  # the store makes its own under REDACTOR_HOME
    store = open_store()
    key = "recordings/OS-300/20260601.mp4"
    store.put(key, io.BytesIO(b"footage bytes"), expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert store.exists(key)
    cam = rs.add_camera(session, code="OS-301", location="오산시", department="d", officer="o", staff="s",
                        purpose=Purpose.사회안정)
    rec = rs.add_recording(session, cam, start_at=T0, end_at=T0 + dt.timedelta(hours=1), object_key=key)
    result = run(session, now=T0 + dt.timedelta(days=31))
    assert [rid for rid, _ in result.destroyed] == [rec.id]
    assert not store.exists(key)


def test_cli_dry_run_then_run(session, db_url, tmp_path, capsys):
    from redactor.cli import main

    f = tmp_path / "old.mp4"
    f.write_bytes(b"footage")
    cam = rs.add_camera(session, code="OS-302", location="오산시", department="d", officer="o", staff="s",
                        purpose=Purpose.사회안정)
    now = dt.datetime.now(dt.UTC)
    rs.add_recording(session, cam, start_at=now - dt.timedelta(days=41), end_at=now - dt.timedelta(days=40),
                     object_key=str(f))
    session.commit()
    assert main(["--db", db_url, "retention", "run", "--dry-run"]) == 0
    assert "1 recordings would be destroyed" in capsys.readouterr().out and f.exists()
    assert main(["--db", db_url, "retention", "run"]) == 0
    assert "1 recordings destroyed" in capsys.readouterr().out and not f.exists()
    assert session.query(LedgerEntry).count() == 1

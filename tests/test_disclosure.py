"""Disclosure rules on SQLite and PostgreSQL: the 10-day clock, 제33조③ decisions, 제32조 approvals, releases."""

from __future__ import annotations

import datetime as dt

import pytest
from dbsupport import *  # noqa: F403

from redactor.disclosure import service as ds
from redactor.disclosure.models import Outcome, RequestKind, Role
from redactor.disclosure.rules import MASKING_POSTPONEMENT_REASON
from redactor.ledger.models import LedgerEntry, LedgerPersonal
from redactor.ledger.service import Ledger
from redactor.ledger.verify import verify_database
from redactor.registry import service as rs
from redactor.registry.models import Purpose

T0 = dt.datetime(2026, 5, 4, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def world(session):
    cam = rs.add_camera(session, code="OS-100", location="오산시 원동 오산초등학교 정문", department="안전정책과",
                        officer="안전정책과장", staff="주무관", purpose=Purpose.사회안정, purpose_detail="방범")
    rec = rs.add_recording(session, cam, start_at=T0 - dt.timedelta(days=1), end_at=T0,
                           object_key="recordings/OS-100/20260503.mp4")
    users = {r: ds.add_user(session, f"{r}.user", r, f"{r} 이름") for r in Role}
    return session, cam, rec, users


def new_request(session, cam, kind=RequestKind.열람, received_at=T0):
    return ds.receive_request(session, kind=kind, requester_name="김하늘", requester_phone="010-0123-4567",
                              requester_birth=dt.date(1990, 1, 2), requester_address="경기도 오산시 원동 1",
                              period_from=T0 - dt.timedelta(hours=5), period_to=T0 - dt.timedelta(hours=4),
                              camera_location=cam.location, camera_id=cam.id, purpose="차량 파손 경위 확인",
                              received_by="clerk.user", received_at=received_at)


def test_due_date_and_overdue_list(world):
    session, cam, _, _ = world
    r1 = new_request(session, cam, received_at=T0)
    r2 = new_request(session, cam, received_at=T0 + dt.timedelta(days=5))
    assert r1.due_at == T0 + dt.timedelta(days=10)
    assert r1.number != r2.number
    assert ds.overdue_requests(session, T0 + dt.timedelta(days=9)) == []
    assert ds.overdue_requests(session, T0 + dt.timedelta(days=11)) == [r1]
    assert ds.overdue_requests(session, T0 + dt.timedelta(days=16)) == [r1, r2]
    ds.decide(session, r1, outcome="grant", decided_by="privacy_officer.user", now=T0 + dt.timedelta(days=12))
    assert ds.overdue_requests(session, T0 + dt.timedelta(days=16)) == [r2]
    # A postponement is overdue again once its own date passes without a further decision.
    d = ds.decide(session, r2, outcome="postpone", reasons="마스킹 처리", decided_by="clerk.user",
                  postponed_until=T0 + dt.timedelta(days=20), now=T0 + dt.timedelta(days=6))
    assert d.postponed_until == T0 + dt.timedelta(days=20)
    assert ds.overdue_requests(session, T0 + dt.timedelta(days=19)) == []
    assert ds.overdue_requests(session, T0 + dt.timedelta(days=21)) == [r2]


def test_viewing_not_refused_on_ground_2_while_redaction_available(world):
    session, cam, _, _ = world
    req = new_request(session, cam)
    d = ds.decide(session, req, outcome="refuse", refusal_ground=2, reasons="타인이 촬영됨", decided_by="clerk.user",
                  now=T0 + dt.timedelta(days=1))
    assert d.outcome == Outcome.postpone and d.refusal_ground is None
    assert d.reasons == MASKING_POSTPONEMENT_REASON
    assert d.postponed_until == T0 + dt.timedelta(days=11)
    assert d.appeal_route and d.notice_pdf.startswith(b"%PDF")
    assert req.closed_at is None  # still open: the viewing follows the masking


def test_ground_2_allowed_only_without_redaction(world):
    session, cam, _, _ = world
    req = new_request(session, cam)
    d = ds.decide(session, req, outcome="refuse", refusal_ground=2, reasons="영상 손상으로 분리 불가",
                  decided_by="privacy_officer.user", redaction_available=False)
    assert d.outcome == Outcome.refuse and d.refusal_ground == 2 and req.closed_at is not None


def test_decisions_need_grounds_and_reasons(world):
    session, cam, _, _ = world
    req = new_request(session, cam)
    with pytest.raises(ds.DisclosureError, match="ground"):
        ds.decide(session, req, outcome="refuse", reasons="x", decided_by="u")
    with pytest.raises(ds.DisclosureError, match="ground"):
        ds.decide(session, req, outcome="refuse", refusal_ground=5, reasons="x", decided_by="u")
    with pytest.raises(ds.DisclosureError, match="reasons"):
        ds.decide(session, req, outcome="refuse", refusal_ground=1, decided_by="u")
    with pytest.raises(ds.DisclosureError, match="withheld"):
        ds.decide(session, req, outcome="limit", reasons="일부 제한", decided_by="u")
    with pytest.raises(ds.DisclosureError, match="only to a refusal"):
        ds.decide(session, req, outcome="grant", refusal_ground=1, decided_by="u")
    assert req.decisions == []


def test_release_needs_a_grant_and_is_a_ledger_row(world):
    session, cam, rec, _ = world
    req = new_request(session, cam)
    with pytest.raises(ds.DisclosureError, match="no grant"):
        ds.release_to_requester(session, req, released_by="clerk.user", object_key="k", file="f.mp4")
    ds.decide(session, req, outcome="grant", decided_by="privacy_officer.user")
    rel = ds.release_to_requester(session, req, released_by="clerk.user", object_key="releases/1.mp4",
                                  file="1_masked.mp4 / MP4(마스킹)", recording=rec)
    session.commit()
    entry = session.get(LedgerEntry, rel.ledger_number)
    assert entry.kind == "열람" and entry.party == "정보주체 본인" and "김하늘" not in entry.party
    assert session.get(LedgerPersonal, entry.number).name == "김하늘"
    assert Ledger.personal(session, entry.number).phone == "010-0123-4567"
    assert req.closed_at is not None
    assert verify_database(session, Ledger().key.public_key()).ok


def _provision(session, ground, **kw):
    return ds.propose_provision(session, ground=ground, recipient_agency="오산경찰서 형사과",
                                recipient_officer="경위 홍길동", recipient_phone="010-0999-0000", purpose="절도 수사",
                                period_from=T0 - dt.timedelta(days=1), period_to=T0, created_by="clerk.user",
                                use_until=dt.date(2026, 7, 1), form=kw.pop("form", "사본(원본)"), **kw)


def test_provision_without_the_right_approval_is_rejected(world):
    session, _, rec, users = world
    prov = _provision(session, 6)
    with pytest.raises(ds.ApprovalMissing):
        ds.provide(session, prov, released_by="operator.user", object_key="p/1.zip", file="a.mp4")
    for role in (Role.clerk, Role.operator, Role.auditor, Role.admin, Role.center_head):
        with pytest.raises(ds.ApprovalRejected):
            ds.approve_provision(session, prov, users[role])
    assert session.query(LedgerEntry).count() == 0
    appr = ds.approve_provision(session, prov, users[Role.privacy_officer])
    assert appr.article == "32-2"
    rel = ds.provide(session, prov, released_by="operator.user", object_key="p/1.zip", file="a.mp4 / 사본",
                     recording=rec)
    entry = session.get(LedgerEntry, rel.ledger_number)
    assert entry.kind == "제공" and "제32조제1항제6호" in entry.basis and "총괄책임관" in entry.approval
    assert entry.party == "오산경찰서 형사과" and "홍길동" not in entry.party


def test_center_head_alone_approves_item_8(world):
    session, _, _, users = world
    prov = _provision(session, 8, form="열람(관제센터 내)")
    appr = ds.approve_provision(session, prov, users[Role.center_head])
    assert appr.article == "32-3"
    rel = ds.provide(session, prov, released_by="operator.user", object_key="p/2", file="b.mp4")
    assert "통합관제센터의 장" in session.get(LedgerEntry, rel.ledger_number).approval
    # A disabled approver's approval no longer counts.
    users[Role.center_head].disabled = True
    with pytest.raises(ds.ApprovalMissing):
        ds.provide(session, prov, released_by="operator.user", object_key="p/3", file="b.mp4")


def test_item_4_only_anonymised(world):
    session, _, _, _ = world
    with pytest.raises(ds.DisclosureError, match="비식별"):
        _provision(session, 4, form="사본(원본)")
    assert _provision(session, 4, form="비식별 사본(전체 마스킹)").ground == 4
    with pytest.raises(ds.DisclosureError, match="1-8"):
        _provision(session, 9)


def test_deletion_request_destroys_footage_and_records_it(world, tmp_path):
    session, cam, rec, _ = world
    f = tmp_path / "clip.mp4"
    f.write_bytes(b"footage")
    rec.object_key = str(f)
    req = new_request(session, cam, kind=RequestKind.삭제)
    d = ds.decide(session, req, outcome="grant", decided_by="privacy_officer.user", now=T0 + dt.timedelta(days=1))
    assert not f.exists() and rec.destroyed_at == T0 + dt.timedelta(days=1)
    entry = session.query(LedgerEntry).one()
    assert (entry.kind, entry.officer, entry.ref) == ("파기", "privacy_officer.user", f"request:{req.id}")
    assert d.notice_pdf and req.closed_at is not None


def test_deletion_of_held_footage_is_refused_under_33_3(world, tmp_path):
    session, cam, rec, _ = world
    f = tmp_path / "clip.mp4"
    f.write_bytes(b"footage")
    rec.object_key = str(f)
    rs.place_hold(session, rec, reason="수사 자료 보존(제35조①2)", approved_by="privacy_officer.user")
    req = new_request(session, cam, kind=RequestKind.삭제)
    with pytest.raises(rs.RecordingHeld):
        ds.decide(session, req, outcome="grant", decided_by="privacy_officer.user")
    assert f.exists() and rec.destroyed_at is None and session.query(LedgerEntry).count() == 0
    # A 삭제 request follows 제33조③ like the others: a refusal needs a ground, and ground 2 is not converted.
    d = ds.decide(session, req, outcome="refuse", refusal_ground=1, reasons="수사 중인 사건의 증거",
                  decided_by="privacy_officer.user")
    assert d.outcome == Outcome.refuse and f.exists()
    req2 = new_request(session, cam, kind=RequestKind.삭제)
    d2 = ds.decide(session, req2, outcome="refuse", refusal_ground=2, reasons="특정인만 삭제 곤란",
                   decided_by="privacy_officer.user")
    assert d2.outcome == Outcome.refuse


def test_request_form_is_validated(world):
    session, cam, _, _ = world
    with pytest.raises(ds.DisclosureError, match="name"):
        ds.receive_request(session, kind="열람", requester_name=" ", period_from=T0, period_to=T0 + dt.timedelta(1),
                           camera_location="x", purpose="y", received_by="c")
    with pytest.raises(ds.DisclosureError, match="period"):
        ds.receive_request(session, kind="열람", requester_name="a", period_from=T0, period_to=T0,
                           camera_location="x", purpose="y", received_by="c")
    with pytest.raises(ValueError):
        ds.receive_request(session, kind="구경", requester_name="a", period_from=T0, period_to=T0 + dt.timedelta(1),
                           camera_location="x", purpose="y", received_by="c")

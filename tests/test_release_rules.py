"""The release rules, approvals and decisions, and deletion of every copy, on SQLite and PostgreSQL: the domain
functions the API calls (the HTTP walk is tests/test_api_release_rules.py)."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from dbsupport import *  # noqa: F403

from redactor.disclosure import rules
from redactor.disclosure import service as ds
from redactor.disclosure.models import HandoverPackage, Outcome, RequestKind, Role
from redactor.disclosure.package import (
    Handover,
    Party,
    create_package,
    destruction_slip,
    manifest_digest,
)
from redactor.errors import BadInput, FootageDestroyed, scrub_paths
from redactor.jobs import service as js
from redactor.jobs.models import Job, JobKind, JobStatus, KeepSet
from redactor.keys import generate_keypair, load_private_key
from redactor.ledger.models import LedgerEntry
from redactor.ledger.service import Ledger
from redactor.ledger.verify import verify_database
from redactor.registry import service as rs
from redactor.registry.models import Purpose
from redactor.render.watermark_visible import mark_lines

T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)
SPAN = (T0 - dt.timedelta(hours=5), T0 - dt.timedelta(hours=4))
POLICE = Party("오산경찰서 형사과", "경위", "박수사")


@pytest.fixture
def store(ledger_home, monkeypatch):
    """The embedded local object store under the test's REDACTOR_HOME."""
    from redactor.storage import open_store

    monkeypatch.delenv("REDACTOR_STORE", raising=False)
    monkeypatch.delenv("REDACTOR_MASTER_KEY", raising=False)
    return open_store()


@pytest.fixture
def world(session):
    cam_a = rs.add_camera(session, code="OS-A", location="오산시 원동 123 앞 교차로", department="안전정책과",
                          officer="안전정책과장", staff="주무관", purpose=Purpose.사회안정, purpose_detail="방범")
    cam_b = rs.add_camera(session, code="OS-B", location="오산시 오산동 오산역 광장", department="안전정책과",
                          officer="안전정책과장", staff="주무관", purpose=Purpose.사회안정, purpose_detail="방범")
    rec = rs.add_recording(session, cam_a, start_at=SPAN[0], end_at=SPAN[1], object_key="recordings/OS-A/1.mp4")
    users = {r: ds.add_user(session, f"{r}.user", r, f"{r} 이름") for r in Role}
    return session, cam_a, cam_b, rec, users


def request_for(session, cam, kind=RequestKind.열람, period=SPAN, camera_id="same"):
    return ds.receive_request(session, kind=kind, requester_name="김하늘", requester_phone="010-0123-4567",
                              period_from=period[0], period_to=period[1], camera_location=cam.location,
                              camera_id=cam.id if camera_id == "same" else camera_id, purpose="차량 파손 경위 확인",
                              received_by="clerk.user", received_at=T0)


def done_job(session, kind, rec, *, result=None, params=None, request_id=None, parent_id=None, store=None,
             status=JobStatus.done):
    job = js.create(session, kind, "clerk.user", params or {}, recording_id=rec.id, request_id=request_id,
                    parent_id=parent_id)
    if store is not None and job.object_key:
        store.put(job.object_key, io.BytesIO(f"{kind} of recording {rec.id}".encode()),
                  expires_at=rec.expires_at)
        result = (result or {}) | {("table_key" if kind == JobKind.analyze else "object_key"): job.object_key}
    if status != JobStatus.queued:
        js.finish(session, job, result or {}, status)
    return job


def render_keeping(session, rec, kept, request_id=None, store=None):
    analysis = done_job(session, JobKind.analyze, rec, request_id=request_id, store=store)
    k = KeepSet(analysis_id=analysis.id, track_ids=json.dumps(kept), chosen_by="clerk.user", chosen_at=T0)
    session.add(k)
    session.flush()
    render = done_job(session, JobKind.render, rec, params={"keep_set_id": k.id}, request_id=request_id,
                      parent_id=analysis.id, store=store,
                      result={"kept": kept, "released": True, "object_key": f"renders/x{k.id}.mp4"})
    return analysis, render


def refused(rule, fn, *a, **kw) -> ds.ReleaseRefused:
    with pytest.raises(ds.ReleaseRefused) as err:
        fn(*a, **kw)
    assert (err.value.rule, err.value.article) == rule, err.value
    assert rule[1] in str(err.value)
    return err.value


def test_a_request_gets_only_its_own_footage(world):
    session, cam_a, cam_b, rec, _ = world
    req = request_for(session, cam_a)
    _, kept = render_keeping(session, rec, [3], request_id=req.id)
    _, nobody = render_keeping(session, rec, [])
    refused(rules.ReleaseRule.GRANT, ds.check_release, session, kept, request=req)
    ds.decide(session, req, outcome="postpone", reasons="마스킹 처리 중", decided_by="clerk.user")
    refused(rules.ReleaseRule.GRANT, ds.check_release, session, kept, request=req)
    ds.decide(session, req, outcome="grant", decided_by="privacy_officer.user")
    assert ds.check_release(session, kept, request=req) == rules.VIEWING_MARK
    assert ds.check_release(session, nobody, request=req) == rules.VIEWING_MARK

    other_camera = request_for(session, cam_b)
    ds.decide(session, other_camera, outcome="grant", decided_by="privacy_officer.user")
    refused(rules.ReleaseRule.CAMERA, ds.check_release, session, nobody, request=other_camera)
    # without a camera id, the place written on the form decides
    by_place = request_for(session, cam_a, camera_id=None)
    ds.decide(session, by_place, outcome="grant", decided_by="privacy_officer.user")
    assert ds.check_release(session, nobody, request=by_place)
    elsewhere = request_for(session, cam_b, camera_id=None)
    ds.decide(session, elsewhere, outcome="grant", decided_by="privacy_officer.user")
    refused(rules.ReleaseRule.CAMERA, ds.check_release, session, nobody, request=elsewhere)

    later = request_for(session, cam_a, period=(T0 - dt.timedelta(hours=2), T0 - dt.timedelta(hours=1)))
    ds.decide(session, later, outcome="grant", decided_by="privacy_officer.user")
    refused(rules.ReleaseRule.PERIOD, ds.check_release, session, nobody, request=later)
    # a few seconds of clock difference are no reason to refuse; half an hour is
    near = request_for(session, cam_a, period=(SPAN[0] + dt.timedelta(seconds=20), SPAN[1]))
    ds.decide(session, near, outcome="grant", decided_by="privacy_officer.user")
    assert ds.check_release(session, nobody, request=near)

    # the person kept visible was chosen for the first requester, not for this one
    same_place = request_for(session, cam_a)
    ds.decide(session, same_place, outcome="grant", decided_by="privacy_officer.user")
    refused(rules.ReleaseRule.OTHERS_MASKED, ds.check_release, session, kept, request=same_place)
    assert ds.check_release(session, nobody, request=same_place)

    existence = request_for(session, cam_a, kind=RequestKind.존재확인)
    ds.decide(session, existence, outcome="limit", reasons="일부", withheld="타인", decided_by="privacy_officer.user")
    refused(rules.ReleaseRule.KIND, ds.check_release, session, nobody, request=existence)

    blocked = done_job(session, JobKind.render, rec, status=JobStatus.blocked)
    refused(rules.ReleaseRule.AUDITED, ds.check_release, session, blocked, request=req)


def test_provisions_need_approval_and_anonymised_ones_keep_nobody(world):
    session, cam_a, cam_b, rec, users = world
    _, kept = render_keeping(session, rec, [1, 2])
    _, nobody = render_keeping(session, rec, [])

    def provision(ground, form="사본(원본)", camera=cam_a):
        return ds.propose_provision(session, ground=ground, recipient_agency="오산경찰서 형사과",
                                    recipient_officer="박수사", recipient_rank="경위", purpose="수사",
                                    period_from=SPAN[0] - dt.timedelta(hours=1), period_to=SPAN[1],
                                    camera_id=camera.id if camera else None, created_by="clerk.user", form=form)

    police = provision(6)
    refused(rules.ReleaseRule.APPROVAL, ds.check_release, session, kept, provision=police)
    ds.approve_provision(session, police, users[Role.privacy_officer])
    assert ds.check_release(session, kept, provision=police) == rules.POLICE_MARK

    press = provision(4, form="비식별 사본(전체 마스킹)")
    ds.approve_provision(session, press, users[Role.privacy_officer])
    refused(rules.ReleaseRule.ANONYMISED, ds.check_release, session, kept, provision=press)
    assert ds.check_release(session, nobody, provision=press) == rules.ANONYMISED_MARK
    # a research copy asked for in a 비식별 form under another ground is held to the same rule
    research = provision(3, form="비식별 통계용 사본")
    ds.approve_provision(session, research, users[Role.privacy_officer])
    refused(rules.ReleaseRule.ANONYMISED, ds.check_release, session, kept, provision=research)

    wrong_camera = provision(6, camera=cam_b)
    ds.approve_provision(session, wrong_camera, users[Role.privacy_officer])
    refused(rules.ReleaseRule.CAMERA, ds.check_release, session, kept, provision=wrong_camera)

    court = provision(7)
    ds.approve_provision(session, court, users[Role.privacy_officer])
    assert ds.check_release(session, nobody, provision=court) == rules.COURT_MARK


def test_visible_mark_follows_the_basis():
    assert rules.visible_mark() == rules.VIEWING_MARK and "열람용" in rules.VIEWING_MARK
    assert "수사 제공용" in rules.visible_mark(ground=6)
    assert "비식별 보도·연구용" in rules.visible_mark(ground=4, form="비식별 사본")
    assert rules.visible_mark(ground=8) == rules.PROVISION_MARK
    lines = mark_lines("제공 3 · 관리대장 7", "오산경찰서", dt.date(2026, 3, 2), notice=rules.POLICE_MARK)
    assert lines[-1] == rules.POLICE_MARK and "열람용" not in " ".join(lines)


def test_each_approver_once_and_closed_requests_take_no_decision(world):
    session, cam_a, _, _, users = world
    prov = ds.propose_provision(session, ground=6, recipient_agency="오산경찰서", recipient_officer="박수사",
                                purpose="수사", period_from=SPAN[0], period_to=SPAN[1], created_by="clerk.user")
    ds.approve_provision(session, prov, users[Role.privacy_officer])
    with pytest.raises(ds.ApprovalRepeated) as err:
        ds.approve_provision(session, prov, users[Role.privacy_officer])
    assert err.value.rule == "approve-once" and len(prov.approvals) == 1
    second = ds.add_user(session, "po2", Role.privacy_officer, "부책임관")
    assert ds.approve_provision(session, prov, second).article == "32-2"

    req = request_for(session, cam_a)
    ds.decide(session, req, outcome="refuse", refusal_ground=1, reasons="수사 중", decided_by="privacy_officer.user")
    for outcome in ("grant", "postpone", "refuse"):
        with pytest.raises(ds.RequestClosed, match="closed"):
            ds.decide(session, req, outcome=outcome, reasons="x", refusal_ground=1 if outcome == "refuse" else None,
                      decided_by="privacy_officer.user")
    assert len(req.decisions) == 1

    converted = request_for(session, cam_a)
    d = ds.decide(session, converted, outcome="refuse", refusal_ground=2, reasons="타인 촬영",
                  decided_by="privacy_officer.user")
    assert d.outcome == Outcome.postpone and d.converted_from == "refuse:2" and converted.closed_at is None
    plain = ds.decide(session, request_for(session, cam_a), outcome="postpone", reasons="x", decided_by="c")
    assert plain.converted_from is None


def package_for(session, rec, users, store, tmp_path, *, use_until=None, handed_over=True):
    """A release of a police provision and its handover package, stored, as the package job leaves them."""
    prov = ds.propose_provision(session, ground=6, recipient_agency="오산경찰서 형사과", recipient_officer="박수사",
                                recipient_rank="경위", purpose="수사", period_from=SPAN[0], period_to=SPAN[1],
                                created_by="clerk.user", use_until=use_until)
    ds.approve_provision(session, prov, users[Role.privacy_officer])
    release_job = done_job(session, JobKind.release, rec, store=store)
    rel = ds.provide(session, prov, released_by="po", object_key=release_job.object_key, file="1.mp4",
                     recording=rec)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"a released clip")
    key_prefix = tmp_path / "city"
    if not key_prefix.with_suffix(".key").exists():
        generate_keypair(key_prefix)
    zipped = tmp_path / f"package-{rel.id}.zip"
    create_package([clip], zipped, Handover(recipient=POLICE, basis="32-1-6",
                                            entry=rel.ledger_number), load_private_key(key_prefix.with_suffix(".key")))
    job = js.create(session, JobKind.package, "po", {"release_id": rel.id}, recording_id=rec.id,
                    provision_id=prov.id)
    store.put(job.object_key, zipped, expires_at=rec.expires_at)
    js.finish(session, job, {"object_key": job.object_key})
    pkg = ds.record_package(session, job_id=job.id, provision=prov, release=rel, object_key=job.object_key,
                            manifest_sha256=manifest_digest(zipped), recipient=POLICE,
                            handed_over_by=Party("오산시 안전정책과", "행정6급", "이담당"))
    if handed_over:
        ds.mark_handed_over(session, job.object_key)
    return pkg, zipped


def test_deletion_takes_every_copy(world, store, tmp_path):
    session, cam_a, cam_b, rec, users = world
    req = request_for(session, cam_a)
    analysis, render = render_keeping(session, rec, [3], request_id=req.id, store=store)
    pkg, _ = package_for(session, rec, users, store, tmp_path)
    pending = done_job(session, JobKind.render, rec, status=JobStatus.queued)
    elsewhere = rs.add_recording(session, cam_b, start_at=SPAN[0], end_at=SPAN[1], object_key="recordings/OS-B/1.mp4")
    other_analysis = done_job(session, JobKind.analyze, elsewhere, store=store)
    keys = [analysis.object_key, render.object_key, pkg.object_key] + [
        j.object_key for j in session.query(Job).filter(Job.kind == JobKind.release)]
    assert all(store.exists(k) for k in keys)
    before = session.query(LedgerEntry).count()

    deletion = request_for(session, cam_a, kind=RequestKind.삭제)
    ds.decide(session, deletion, outcome="grant", decided_by="privacy_officer.user", destroyer=lambda r: None)
    session.commit()
    assert not any(store.exists(k) for k in keys)
    assert store.exists(other_analysis.object_key)  # another camera's footage is not touched
    rows = session.query(LedgerEntry).filter(LedgerEntry.number > before).order_by(LedgerEntry.number).all()
    assert [r.kind for r in rows] == ["파기"] * 5  # package, analysis, render, release copy, then the recording
    assert all(r.ref.startswith(f"request:{deletion.id}") for r in rows)
    assert "인계 꾸러미" in rows[0].file and "분석 결과" in rows[1].file and rows[-1].file.endswith("영상파일")
    session.expire_all()
    for job in (analysis, render):
        assert session.get(Job, job.id).destroyed_at is not None
        with pytest.raises(FootageDestroyed):
            js.require_live(session.get(Job, job.id))
    assert session.get(Job, pending.id).status == JobStatus.failed
    assert session.get(HandoverPackage, pkg.job_id).stored_copy_destroyed_at is not None
    with pytest.raises(FootageDestroyed):
        ds.check_release(session, session.get(Job, render.id), request=req)
    assert verify_database(session, Ledger().key.public_key()).ok


def test_retention_takes_the_copies_too(world, store):
    from redactor.retention.service import run

    session, _, _, rec, _ = world
    analysis, render = render_keeping(session, rec, [], store=store)
    session.commit()
    store.set_expiry(analysis.object_key, dt.datetime.now(dt.UTC) + dt.timedelta(days=40))  # outlives the footage
    done = run(session, now=rec.expires_at + dt.timedelta(hours=1), destroyer=lambda r: None)
    assert [rid for rid, _ in done.destroyed] == [rec.id]
    assert not store.exists(analysis.object_key) and not store.exists(render.object_key)
    assert session.query(LedgerEntry).filter(LedgerEntry.kind == "파기").count() == 3


def test_package_destruction_by_slip_or_officer(world, store, tmp_path):
    session, _, _, rec, users = world
    pkg, zipped = package_for(session, rec, users, store, tmp_path, use_until=dt.date.today() - dt.timedelta(days=1))
    generate_keypair(tmp_path / "police")
    police_key = load_private_key(tmp_path / "police.key")
    assert ds.overdue_destructions(session) == [pkg]
    not_handed = package_for(session, rec, users, store, tmp_path, use_until=dt.date.today() - dt.timedelta(days=1),
                             handed_over=False)[0]
    assert not_handed not in ds.overdue_destructions(session)  # never downloaded: no copy outside to chase

    with pytest.raises(BadInput, match="signed destruction slip"):
        ds.confirm_package_destruction(session, pkg, recorded_by="po", slip=b"not json")
    other_zip = tmp_path / "other.zip"
    create_package([zipped], other_zip, Handover(recipient=Party(name="x"), basis="32-1-7"), police_key)
    other_slip = json.dumps(destruction_slip(other_zip, Party(name="x"), police_key)).encode()
    with pytest.raises(BadInput, match="another package"):
        ds.confirm_package_destruction(session, pkg, recorded_by="po", slip=other_slip)
    tampered = destruction_slip(zipped, POLICE, police_key)
    tampered["slip"]["method"] = "안 지움"
    with pytest.raises(BadInput, match="signature"):
        ds.confirm_package_destruction(session, pkg, recorded_by="po", slip=json.dumps(tampered).encode())
    with pytest.raises(BadInput, match="slip"):
        ds.confirm_package_destruction(session, pkg, recorded_by="po")

    slip = json.dumps(destruction_slip(zipped, POLICE, police_key)).encode()
    ds.confirm_package_destruction(session, pkg, recorded_by="po", slip=slip)
    entry = session.get(LedgerEntry, pkg.destruction_ledger_number)
    assert entry.kind == "파기" and entry.party == "오산경찰서 형사과 경위" and "박수사" not in entry.party
    assert "제35조" in entry.basis and f"package:{pkg.job_id}" in entry.ref
    assert Ledger.personal(session, entry.number).name == "박수사"
    assert pkg.destruction_method == "slip" and len(pkg.slip_sha256) == 64
    assert ds.overdue_destructions(session) == []
    with pytest.raises(ds.DestructionAlreadyConfirmed):
        ds.confirm_package_destruction(session, pkg, recorded_by="po", slip=slip)

    with pytest.raises(BadInput, match="who destroyed"):
        ds.confirm_package_destruction(session, not_handed, recorded_by="po", officer_confirmed=True)
    ds.confirm_package_destruction(session, not_handed, recorded_by="po", officer_confirmed=True,
                                   destroyed_by=POLICE, slip=b"%PDF scan")
    assert not_handed.destruction_method == "officer" and not_handed.slip_sha256
    assert verify_database(session, Ledger().key.public_key()).ok


def test_holds_end_once_with_their_reason(world):
    session, _, _, rec, _ = world
    hold = rs.place_hold(session, rec, reason="수사 자료 보존", approved_by="po")
    rs.release_hold(session, hold, reason="수사 종결", released_by="po")
    assert (hold.release_reason, hold.released_by) == ("수사 종결", "po") and not rs.is_held(rec)
    with pytest.raises(rs.RegistryError, match="already released"):
        rs.release_hold(session, hold, reason="again")


def test_no_server_path_in_messages():
    assert scrub_paths("/tmp/redactor-upload-x1/upload: not a video") == "upload: not a video"
    assert scrub_paths("File \"/work/main/redactor/jobs/steps.py\", line 3") == "File \"steps.py\", line 3"
    for kept in ("POST /api/v1/auth/token", "http://127.0.0.1:8000/objects/abc", "소속/직급/성명",
                 "renders/abc.mp4 missing"):
        assert scrub_paths(kept) == kept


def test_register_export_keeps_user_text_as_text(session):
    """A camera's text that looks like a formula stays text; a control character does not break the export."""
    from openpyxl import load_workbook

    from redactor.registry.export import register_export

    rs.add_camera(session, code="OS-X", location='=HYPERLINK("http://x","y")', department="교통\x01행정과",
                  officer="과장", staff="주무관", purpose=Purpose.교통안전, purpose_detail="교통정보")
    ws = load_workbook(io.BytesIO(register_export(session, "xlsx"))).active
    row = [c for c in ws[2]]
    assert row[7].value == '=HYPERLINK("http://x","y")' and row[7].data_type == "s"
    assert row[1].value == "교통행정과"
    assert register_export(session, "pdf").startswith(b"%PDF")

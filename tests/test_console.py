"""The staff console in process (FastAPI TestClient, real SQLite, real local store): every page renders in Korean for
the roles it serves and refuses the others in Korean; the login form sets an HttpOnly SameSite=Strict cookie that
the /api/v1 routes accept as a second token source; an unsafe call with that cookie but without the CSRF header,
or from another origin, is refused; the queue is sorted by due date with D-n, D-day and 기한 경과."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from services import *  # noqa: F403  (short_clip)

PASSWORD = "a-long-password"
ROLES = ("clerk", "privacy_officer", "center_head", "operator", "auditor", "admin")
BASE = "http://testserver"
PAGES = ["/console", "/console/requests/new", "/console/footage", "/console/cameras", "/console/approvals",
         "/console/ledger", "/console/records", "/console/provisions"]


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    monkeypatch.setenv("REDACTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REDACTOR_DB", f"sqlite:///{tmp_path / 'c.db'}")
    monkeypatch.delenv("REDACTOR_BROKER", raising=False)
    monkeypatch.delenv("REDACTOR_STORE", raising=False)
    monkeypatch.delenv("REDACTOR_PUBLIC_URL", raising=False)
    from api.app import create_app
    from redactor import db
    from redactor.auth import accounts

    db.upgrade()
    with db.session_scope() as s:
        for role in ROLES:
            accounts.create(s, role, role, PASSWORD, f"{role} 담당")
    with TestClient(create_app(), base_url=BASE) as c:
        yield c
    db.dispose_all()


def login(c: TestClient, role: str) -> str:
    r = c.post("/console/login", data={"username": role, "password": PASSWORD, "next": "/console"},
               headers={"Origin": BASE}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers["set-cookie"]


def csrf(page_html: str) -> str:
    return re.search(r'name="csrf-token" content="([0-9a-f]{64})"', page_html).group(1)


def test_login_sets_a_strict_httponly_cookie_and_pages_need_it(app_env):
    c = app_env
    r = c.get("/console", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    page = c.get("/console/login")
    assert page.status_code == 200 and 'lang="ko"' in page.text and "로그인" in page.text
    assert "Content-Security-Policy" in page.headers and "script-src 'self'" in page.headers["content-security-policy"]
    bad = c.post("/console/login", data={"username": "clerk", "password": "wrong-one"}, headers={"Origin": BASE})
    assert bad.status_code == 401 and "비밀번호가 맞지 않습니다" in bad.text and "redactor_session" not in c.cookies
    cross = c.post("/console/login", data={"username": "clerk", "password": PASSWORD},
                   headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403 and "다른 사이트" in cross.text
    cookie = login(c, "clerk")
    assert "redactor_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace(
        "SameSite=Strict", "SameSite=strict") and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here; https (REDACTOR_PUBLIC_URL) adds it
    queue = c.get("/console")
    assert queue.status_code == 200 and "요청 목록" in queue.text and "no-store" in queue.headers["cache-control"]
    # the cookie is a token for the API too (reads need nothing more)
    me = c.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["role"] == "clerk"
    out = c.post("/console/logout", data={"csrf_token": csrf(queue.text)}, headers={"Origin": BASE},
                 follow_redirects=False)
    assert out.status_code == 303 and "redactor_session=" in out.headers["set-cookie"]
    assert c.get("/api/v1/auth/me").status_code == 401


def test_unsafe_calls_with_the_cookie_need_the_csrf_header_and_this_origin(app_env):
    c = app_env
    login(c, "clerk")
    token = csrf(c.get("/console").text)
    body = {"kind": "열람", "requester_name": "김민수", "period_from": "2026-03-02T18:00:00+09:00",
            "period_to": "2026-03-02T19:00:00+09:00", "camera_location": "오산시 원동 1", "purpose": "본인 확인"}
    none = c.post("/api/v1/requests", json=body, headers={"Origin": BASE})
    assert none.status_code == 403 and "CSRF" in none.json()["detail"] and "다시 시도" in none.json()["detail"]
    wrong = c.post("/api/v1/requests", json=body, headers={"Origin": BASE, "X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    cross = c.post("/api/v1/requests", json=body, headers={"Origin": "https://evil.example", "X-CSRF-Token": token})
    assert cross.status_code == 403 and "Origin" in cross.json()["detail"]
    no_origin = c.post("/api/v1/requests", json=body, headers={"X-CSRF-Token": token})
    assert no_origin.status_code == 403
    ok = c.post("/api/v1/requests", json=body, headers={"Origin": BASE, "X-CSRF-Token": token})
    assert ok.status_code == 201, ok.text
    referer = c.post("/api/v1/requests", json=body, headers={"Referer": f"{BASE}/console", "X-CSRF-Token": token})
    assert referer.status_code == 201, referer.text
    # the bearer header needs neither (no browser adds it by itself)
    c.cookies.clear()
    bearer = c.post("/api/v1/auth/token", data={"username": "clerk", "password": PASSWORD}).json()["access_token"]
    assert c.post("/api/v1/requests", json=body, headers={"Authorization": f"Bearer {bearer}"}).status_code == 201
    # a logout without the token is refused
    login(c, "clerk")
    assert c.post("/console/logout", data={"csrf_token": "x"}, headers={"Origin": BASE}).status_code == 403


def test_each_page_renders_for_its_roles_in_korean(app_env):
    c = app_env
    allowed = {"/console": {"clerk", "privacy_officer", "center_head", "operator", "auditor"},
               "/console/requests/new": {"clerk", "privacy_officer"},
               "/console/footage": {"clerk", "privacy_officer", "center_head", "operator", "auditor"},
               "/console/cameras": set(ROLES),
               "/console/approvals": {"privacy_officer", "center_head"},
               "/console/ledger": {"auditor", "privacy_officer", "admin"},
               "/console/records": {"privacy_officer", "center_head", "clerk", "auditor"},
               "/console/provisions": {"clerk", "privacy_officer", "center_head", "operator", "auditor"}}
    for role in ROLES:
        c.cookies.clear()
        login(c, role)
        for path in PAGES:
            r = c.get(path)
            assert r.status_code == (200 if role in allowed[path] else 403), (role, path, r.status_code)
            assert 'lang="ko"' in r.text and "로그아웃" in r.text
            if r.status_code == 403:
                assert "만 쓸 수 있습니다" in r.text
            # every menu link answers (no dead link) and no page loads anything from elsewhere
            assert not re.search(r'(src|href)="(https?:)?//', r.text), (path, "external resource")
        for href in re.findall(r'<li><a href="(/console[^"]*)"', c.get("/console/cameras").text):
            assert c.get(href).status_code == 200, (role, href)


def _assign_clerk(s, req) -> None:
    """Requests made here, not through the API, get their handler as filing would (issue 20: by assignment)."""
    from sqlalchemy import select

    from redactor.disclosure.assignment import assign
    from redactor.disclosure.models import User

    s.flush()
    assign(s, s.scalar(select(User).where(User.username == "clerk")), by="clerk", request=req)


def test_queue_sorted_by_due_date_with_days_left(app_env):
    from redactor import db
    from redactor.base import utcnow
    from redactor.disclosure.service import receive_request

    now = utcnow()
    with db.session_scope() as s:
        for name, days_ago in (("박지훈", 2), ("이서연", 12), ("최유진", 10), ("정하늘", 8)):
            req = receive_request(s, kind="열람", requester_name=name, period_from=now - dt.timedelta(days=20),
                                  period_to=now - dt.timedelta(days=19), camera_location="오산시 원동 1",
                                  purpose="본인 확인", received_by="clerk",
                                  received_at=now - dt.timedelta(days=days_ago))
            _assign_clerk(s, req)
    c = app_env
    login(c, "clerk")
    page = c.get("/console").text
    order = [n for n in re.findall(r"<td>(박지훈|이서연|최유진|정하늘)</td>", page)]
    assert order == ["이서연", "최유진", "정하늘", "박지훈"]
    assert "기한 경과 (D+2)" in page and "D-day" in page and "D-2" in page and "D-8" in page
    assert "기한 경과 <strong id=\"overdue-count\" class=\"late\">1</strong>" in page
    late = c.get("/console", params={"status": "overdue"}).text
    assert "이서연" in late and "박지훈" not in late
    assert "박지훈" in c.get("/console", params={"q": "박지훈"}).text
    assert "박지훈" not in c.get("/console", params={"kind": "삭제"}).text


def test_intake_form_has_every_field_of_the_form_and_pages_of_a_request(app_env):
    c = app_env
    login(c, "admin")
    token = csrf(c.get("/console/cameras").text)
    cam = c.post("/api/v1/cameras", headers={"Origin": BASE, "X-CSRF-Token": token}, json={
        "code": "OS-0101", "location": "오산시 원동 1", "department": "안전정책과", "officer": "과장",
        "staff": "관제팀장",
        "purpose": "사회안정"})
    assert cam.status_code == 201, cam.text
    assert "OS-0101" in c.get("/console/cameras").text
    c.cookies.clear()
    login(c, "clerk")
    page = c.get("/console/requests/new").text
    for name in ("kind", "requester_name", "requester_phone", "requester_birth", "requester_relation",
                 "requester_address", "subject_name", "subject_phone", "subject_birth", "subject_address",
                 "period_from", "period_to", "camera_id", "camera_location", "purpose", "received_at"):
        assert f'name="{name}"' in page, name
    # every input has its label
    for ident in re.findall(r'<(?:input|select|textarea)[^>]* id="([^"]+)"', page):
        assert f'for="{ident}"' in page, ident
    assert "별지 제4호" in page and "OS-0101" in page
    token = csrf(page)
    r = c.post("/api/v1/requests", headers={"Origin": BASE, "X-CSRF-Token": token}, json={
        "kind": "열람", "requester_name": "김민수", "period_from": "2026-03-02T18:00:00+09:00",
        "period_to": "2026-03-02T19:00:00+09:00", "camera_location": "오산시 원동 1", "camera_id": cam.json()["id"],
        "purpose": "본인 확인"})
    assert r.status_code == 201
    # the API's validation answers in Korean first, per field (the page's script puts it beside the field)
    bad = c.post("/api/v1/requests", headers={"Origin": BASE, "X-CSRF-Token": token}, json={"kind": "열람"})
    assert bad.status_code == 422 and any(e["msg_ko"] == "필수 항목입니다" for e in bad.json()["errors"])
    detail = c.get(f"/console/requests/{r.json()['id']}")
    assert detail.status_code == 200 and "D-10" in detail.text and "김민수" in detail.text
    assert "이 청구의 영상 찾기·올리기" in detail.text and "마스킹을 위한 연기" in detail.text
    footage = c.get("/console/footage", params={"request_id": r.json()["id"]})
    assert footage.status_code == 200 and 'id="upload-bar"' in footage.text and "2026-03-02T18:00" in footage.text
    assert c.get("/console/requests/999").status_code == 404
    # a provision proposed through the API shows on its page, with the approval it waits for
    prov = c.post("/api/v1/provisions", headers={"Origin": BASE, "X-CSRF-Token": token}, json={
        "ground": 6, "recipient_agency": "오산경찰서", "recipient_officer": "홍길동", "recipient_rank": "경위",
        "camera_id": cam.json()["id"], "purpose": "절도 사건 수사", "period_from": "2026-03-02T18:00:00+09:00",
        "period_to": "2026-03-02T19:00:00+09:00"})
    assert prov.status_code == 201, prov.text
    shown = c.get(f"/console/provisions/{prov.json()['id']}")
    assert shown.status_code == 200 and "오산경찰서" in shown.text and "아직 승인이 없습니다" in shown.text
    assert "인계 꾸러미와 파기 확인" in shown.text
    assert "찾을 수 없습니다" in c.get("/console/analyses/" + "0" * 32).text
    # the static files answer, and the vendored nothing-from-outside rule holds for scripts too
    for name in ("console.js", "console.css", "intake.js", "review.js", "footage.js", "request.js", "render.js"):
        s = c.get(f"/console/static/{name}")
        assert s.status_code == 200 and "http://" not in s.text and "https://" not in s.text, name
    # `/` leads to the console
    assert c.get("/", follow_redirects=False).headers["location"] == "/console"


def test_every_template_compiles():
    from api.console import HERE, templates

    names = [p.name for p in (HERE / "templates" / "console").glob("*.html")]
    assert len(names) >= 14
    for name in names:
        templates.env.get_template(f"console/{name}")


def test_a_page_renews_a_session_past_half_its_life(app_env):
    from redactor import db
    from redactor.auth import tokens
    from redactor.disclosure.models import User

    c = app_env
    with db.session_scope() as s:
        clerk = s.query(User).filter_by(username="clerk").one()
        uid = clerk.id
    old, _ = tokens.issue(uid, "clerk", now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))  # of 15
    c.cookies.set("redactor_session", old, domain="testserver.local")
    page = c.get("/console")
    assert page.status_code == 200 and "redactor_session=" in page.headers.get("set-cookie", "")
    fresh = page.cookies.get("redactor_session")
    c.cookies.clear()
    c.cookies.set("redactor_session", fresh, domain="testserver.local")
    assert fresh != old and csrf(page.text) == __import__("api.cookies").cookies.csrf_token(fresh)
    again = c.get("/console")
    assert "set-cookie" not in again.headers  # a fresh session is not renewed again


def test_footage_found_uploaded_held_and_released_from_hold(app_env, short_clip):
    c = app_env
    login(c, "admin")
    token = csrf(c.get("/console/cameras").text)
    cam = c.post("/api/v1/cameras", headers={"Origin": BASE, "X-CSRF-Token": token}, json={
        "code": "OS-0202", "location": "오산시 궐동 2", "department": "안전정책과", "officer": "과장",
        "staff": "관제팀장", "purpose": "사회안정"}).json()
    c.cookies.clear()
    login(c, "clerk")
    token = csrf(c.get("/console/footage").text)
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).astimezone(dt.timezone(dt.timedelta(hours=9)))
    at = at.replace(second=0, microsecond=0)
    with open(short_clip, "rb") as fh:  # what the page's XMLHttpRequest sends
        rec = c.post("/api/v1/recordings", headers={"Origin": BASE, "X-CSRF-Token": token},
                     data={"camera_id": str(cam["id"]), "start_at": at.isoformat()},
                     files={"file": ("clip.mp4", fh, "video/mp4")})
    assert rec.status_code == 201, rec.text
    span = {"camera_id": cam["id"], "start": (at - dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M"),
            "end": (at + dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")}
    found = c.get("/console/footage", params=span)
    assert found.status_code == 200 and at.strftime("%Y-%m-%d %H:%M:00") in found.text
    assert 'class="hold-form' not in found.text
    later = {"camera_id": cam["id"], "start": (at + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
             "end": (at + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")}
    assert "조건에 맞는 영상이 없습니다" in c.get("/console/footage", params=later).text
    assert "형식이 올바르지 않습니다" in c.get("/console/footage", params={"start": "어제"}).text
    c.cookies.clear()
    login(c, "privacy_officer")
    page = c.get("/console/footage", params={"camera_id": cam["id"]}).text
    assert 'class="hold-form' in page
    token = csrf(page)
    hold = c.post(f"/api/v1/recordings/{rec.json()['id']}/holds", headers={"Origin": BASE, "X-CSRF-Token": token},
                  json={"reason": "수사기관 보존 요청"})
    assert hold.status_code == 201, hold.text
    records = c.get("/console/records").text
    assert "수사기관 보존 요청" in records and "보존 해제" in records


def _jobs_for_render_page(status: str) -> tuple[str, int]:
    """An analysis, its keep-set and a render with an identity report, as the workers leave them."""
    import json

    from redactor import db
    from redactor.base import utcnow
    from redactor.disclosure.service import receive_request
    from redactor.jobs import service
    from redactor.jobs.models import KeepSet

    with db.session_scope() as s:
        now = utcnow()
        req = receive_request(s, kind="열람", requester_name="김민수", period_from=now - dt.timedelta(hours=2),
                              period_to=now, camera_location="오산시 원동 1", purpose="본인 확인", received_by="clerk")
        s.flush()
        _assign_clerk(s, req)
        analysis = service.create(s, "analyze", "clerk", request_id=req.id)
        analysis.status, analysis.result_json = "done", json.dumps({"frames": 20})
        k = KeepSet(analysis_id=analysis.id, track_ids="[3]", reason="청구인", chosen_by="clerk")
        s.add(k)
        s.flush()
        render = service.create(s, "render", "clerk", {"keep_set_id": k.id, "style": "solid"}, parent_id=analysis.id,
                                request_id=req.id)
        found = {"frame": 7, "label": "face", "box": [1.0, 2.0, 30.0, 40.0], "score": 0.81}
        findings = [found] if status == "blocked" else []
        render.status, render.result_json = status, json.dumps({
            "findings": findings, "identity_check": {"verified": False},
            "masked_for_identity": [{"track": 3, "reason": "face unverified", "frames": [5, 6, 7],
                                     "ranges": [[5, 7]]}]})
        return render.id, k.id


def test_render_page_shows_the_audit_and_the_unverified_frames_to_confirm(app_env):
    c = app_env
    rid, ks = _jobs_for_render_page("done")
    login(c, "clerk")
    page = c.get(f"/console/renders/{rid}")
    assert page.status_code == 200 and "감사 통과" in page.text and "5-7" in page.text and "청구인 맞음" in page.text
    assert 'id="rerender"' in page.text and "release-form" not in page.text  # the clerk does not release
    token = csrf(page.text)
    ok = c.post(f"/api/v1/keep-sets/{ks}/confirmations", headers={"Origin": BASE, "X-CSRF-Token": token},
                json={"first": 5, "last": 7, "track": 3, "note": "얼굴 확인"})
    assert ok.status_code == 201, ok.text
    assert ok.json()["by"] == "clerk" and (ok.json()["first"], ok.json()["last"]) == (5, 7)
    listed = c.get(f"/api/v1/keep-sets/{ks}/confirmations").json()
    assert [(x["first"], x["last"], x["track"]) for x in listed] == [(5, 7, 3)]
    beyond = c.post(f"/api/v1/keep-sets/{ks}/confirmations", headers={"Origin": BASE, "X-CSRF-Token": token},
                    json={"first": 5, "last": 30})
    assert beyond.status_code == 400 and "20 frames" in beyond.json()["detail"]
    other = c.post(f"/api/v1/keep-sets/{ks}/confirmations", headers={"Origin": BASE, "X-CSRF-Token": token},
                   json={"first": 1, "last": 2, "track": 9})
    assert other.status_code == 400
    c.cookies.clear()
    login(c, "privacy_officer")
    assert "release-form" in c.get(f"/console/renders/{rid}").text


def test_a_blocked_render_shows_its_findings_and_offers_no_release(app_env):
    c = app_env
    rid, _ = _jobs_for_render_page("blocked")
    login(c, "privacy_officer")
    page = c.get(f"/console/renders/{rid}").text
    assert "제공할 수 없습니다" in page and "감사 지적 (1건)" in page and "release-form" not in page

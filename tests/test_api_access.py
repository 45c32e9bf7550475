"""Nobody in where they don't belong (issue 20), through the real server (`redactor serve`: SQLite, embedded worker)
over HTTP:

- a request is handled by its assignees: a second clerk, not assigned, reaches none of the first clerk's analysis,
  keep-sets or renders (403) and reads the request's names masked; assigned by the privacy officer, they do;
- every footage row of the access log names the request it serves, whatever the caller wrote;
- `redactor users passwd`, a password change through the API, a disable and an enable each end every earlier token;
- a clerk may not open a police (제32조①6) release to its recipient (403); links are stored, listed, revoked, their
  uses and failed uses logged, and their address never takes the request's Host;
- a 200 MiB chunked body without a token is refused before it is read, and the server grows by < 150 MB;
- security headers on every answer, no-store on API answers and footage, /openapi.json behind login.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from services import *  # noqa: F403
from services import PASSWORD, cut_clip, login, make_service_env, run_cli, start_capped_api, stop_server

from redactor.auth import accounts


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    return make_service_env(tmp_path_factory.mktemp("access"), {"clerk2": "clerk", "clerk3": "clerk",
                                                                "clerk4": "clerk"})


@pytest.fixture(scope="module")
def served(service):
    proc, base = start_capped_api(service)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            yield client, proc, base
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def case(served, vtest, tmp_path_factory):
    """A camera, clerk's request, an uploaded recording and clerk's analysis for it (not waited for)."""
    client, _, _ = served
    h = {r: login(client, r) for r in ("admin", "clerk", "clerk2", "privacy_officer", "operator", "auditor")}
    cam = client.post("/api/v1/cameras", headers=h["admin"], json={
        "code": "OS-0201", "location": "오산시 원동 2", "department": "안전정책과", "officer": "과장", "staff": "팀장",
        "purpose": "사회안정"}).json()
    now = dt.datetime.now(dt.UTC)
    req = client.post("/api/v1/requests", headers=h["clerk"], json={
        "kind": "열람", "requester_name": "김민수", "period_from": (now - dt.timedelta(hours=1)).isoformat(),
        "period_to": now.isoformat(), "camera_location": "오산시 원동 2", "camera_id": cam["id"],
        "purpose": "본인 차량 접촉사고 확인"})
    assert req.status_code == 201, req.text
    clip = cut_clip(vtest, tmp_path_factory.mktemp("clip") / "c.mp4", seconds=0.5)
    with open(clip, "rb") as fh:
        rec = client.post("/api/v1/recordings", headers=h["clerk"], data={"camera_id": str(cam["id"])},
                          files={"file": ("c.mp4", fh, "video/mp4")})
    assert rec.status_code == 201, rec.text
    job = client.post("/api/v1/analyses", headers=h["clerk"], json={"recording_id": rec.json()["id"],
                                                                    "request_id": req.json()["id"],
                                                                    "reason": "아무 말"})
    assert job.status_code == 202, job.text
    return {"h": h, "camera": cam, "request": req.json(), "recording": rec.json(), "analysis": job.json()}


def test_only_assignees_reach_a_requests_footage(served, case):
    client, _, _ = served
    h, rid, aid = case["h"], case["request"]["id"], case["analysis"]["id"]
    footage = [("get", f"/api/v1/analyses/{aid}"), ("get", f"/api/v1/analyses/{aid}/tracks"),
               ("get", f"/api/v1/analyses/{aid}/frames/0/tracks"), ("get", f"/api/v1/analyses/{aid}/frames/0.jpg"),
               ("get", f"/api/v1/analyses/{aid}/tracks/1/thumbnail.jpg"), ("get", f"/api/v1/jobs/{aid}")]
    for method, path in footage:
        r = client.request(method, path, headers=h["clerk2"])
        assert r.status_code == 403, (path, r.status_code, r.text)
        assert r.json()["rule"] == "assignment"
    r = client.post(f"/api/v1/analyses/{aid}/keep-sets", headers=h["clerk2"], json={"track_ids": []})
    assert r.status_code == 403
    r = client.post("/api/v1/analyses", headers=h["clerk2"], json={"recording_id": case["recording"]["id"],
                                                                   "request_id": rid})
    assert r.status_code == 403
    assert client.post("/api/v1/analyses", headers=h["clerk"], json={"recording_id": case["recording"]["id"]}
                       ).status_code == 422  # no case named: no analysis
    assert aid not in [j["id"] for j in client.get("/api/v1/analyses", headers=h["clerk2"]).json()["items"]]
    assert aid not in [j["id"] for j in client.get("/api/v1/jobs", headers=h["clerk2"]).json()["items"]]
    assert aid in [j["id"] for j in client.get("/api/v1/analyses", headers=h["clerk"]).json()["items"]]
    assert client.get(f"/api/v1/analyses/{aid}", headers=h["clerk"]).status_code == 200
    assert client.get(f"/api/v1/analyses/{aid}", headers=h["privacy_officer"]).status_code == 200
    # an unassigned operator (a role that may look at footage) is refused as well
    assert client.get(f"/api/v1/analyses/{aid}", headers=h["operator"]).status_code == 403

    # names and purpose: the request's handlers and the overseers only
    def seen(who):
        return client.get(f"/api/v1/requests/{rid}", headers=h[who]).json()

    assert seen("clerk")["requester_name"] == "김민수" and seen("clerk")["purpose"]
    assert seen("privacy_officer")["requester_name"] == "김민수"
    for who in ("clerk2", "operator", "auditor"):
        assert seen(who)["requester_name"] == "김*수" and seen(who)["purpose"] is None, who
        listed = next(r for r in client.get("/api/v1/requests", headers=h[who]).json() if r["id"] == rid)
        assert listed["requester_name"] == "김*수" and listed["purpose"] is None

    # the privacy officer assigns clerk2: now they reach it; taken off again, they do not
    url = f"/api/v1/requests/{rid}/assignees"
    assert client.post(url, headers=h["clerk"], json={"username": "clerk2"}).status_code == 403
    r = client.post(url, headers=h["privacy_officer"], json={"username": "clerk2"})
    assert r.status_code == 200, r.text
    assert {a["username"] for a in r.json()} == {"clerk", "clerk2"}
    assert client.get(f"/api/v1/analyses/{aid}", headers=h["clerk2"]).status_code == 200
    assert seen("clerk2")["requester_name"] == "김민수"
    r = client.post(url, headers=h["privacy_officer"], json={"username": "clerk2", "remove": True})
    assert {a["username"] for a in r.json()} == {"clerk"}
    assert client.get(f"/api/v1/analyses/{aid}", headers=h["clerk2"]).status_code == 403
    assert client.post(url, headers=h["privacy_officer"], json={"username": "auditor"}).status_code == 409


def test_access_log_names_the_request_not_the_callers_words(served, case):
    client, _, _ = served
    h, rid = case["h"], case["request"]["id"]
    rows = client.get("/api/v1/access-log", headers=h["auditor"], params={"request_id": rid}).json()
    analyze = [r for r in rows if r["action"] == "analyze"]
    assert analyze and all(r["request_id"] == rid for r in analyze)
    assert all(r["reason"] == "아무 말" for r in analyze)  # kept as a note beside the request, not instead of it
    everything = client.get("/api/v1/access-log", headers=h["auditor"], params={"limit": 1000}).json()
    uses = [r for r in everything if r["action"] in ("view", "analyze", "render", "link", "download", "edit", "match")]
    assert uses and all(r["request_id"] or r["provision_id"] for r in uses)


def test_password_change_disable_and_enable_end_earlier_tokens(served, service):
    client, _, _ = served
    me = "/api/v1/auth/me"
    old = login(client, "clerk3")
    assert client.get(me, headers=old).status_code == 200
    r = run_cli(service, "users", "passwd", "clerk3", stdin="another long passphrase\n")
    assert r.returncode == 0, r.stderr
    assert client.get(me, headers=old).status_code == 401
    new = login(client, "clerk3", "another long passphrase")
    assert client.get(me, headers=new).status_code == 200

    # through the API: one's own password (the answer carries a fresh token), and the admin's reset
    r = client.post("/api/v1/auth/password", headers=new, json={"current_password": "wrong one",
                                                                "new_password": "third passphrase"})
    assert r.status_code == 403
    r = client.post("/api/v1/auth/password", headers=new, json={"current_password": "another long passphrase",
                                                                "new_password": "third passphrase"})
    assert r.status_code == 200, r.text
    assert client.get(me, headers=new).status_code == 401
    fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert client.get(me, headers=fresh).status_code == 200
    admin = login(client, "admin")
    uid = client.get(me, headers=fresh).json()["id"]
    assert client.post(f"/api/v1/users/{uid}/password", headers=admin, json={"password": PASSWORD}).status_code == 200
    assert client.get(me, headers=fresh).status_code == 401

    # a disable, then an enable: the token from before does not come back
    before = login(client, "clerk3")
    assert run_cli(service, "users", "disable", "clerk3").returncode == 0
    assert client.get(me, headers=before).status_code == 401
    assert run_cli(service, "users", "enable", "clerk3").returncode == 0
    assert client.get(me, headers=before).status_code == 401
    assert client.get(me, headers=login(client, "clerk3")).status_code == 200


def _stored_release(service, tmp_path, *, request_id=None, provision_id=None) -> int:
    """A release row and its stored copy, made directly (the release job's own path is the slow suites')."""
    from redactor import db
    from redactor.disclosure.models import Release
    from redactor.storage import open_store

    mp = pytest.MonkeyPatch()
    for k, v in service.env.items():
        if k.startswith("REDACTOR_"):
            mp.setenv(k, v)
    try:
        copy = tmp_path / "copy.mp4"
        copy.write_bytes(os.urandom(50_000))
        key = f"releases/test-{request_id}-{provision_id}.mp4"
        open_store().put(key, copy, expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=7),
                         content_type="video/mp4")
        with db.session_scope(service.db_url) as s:
            rel = Release(request_id=request_id, provision_id=provision_id, object_key=key, form="사본",
                          released_by="privacy_officer", expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=7))
            s.add(rel)
            s.flush()
            return rel.id
    finally:
        mp.undo()
        db.dispose_all()


def test_links_are_minted_by_who_may_and_stored_logged_revocable(served, service, case, tmp_path):
    client, _, base = served
    h, rid = case["h"], case["request"]["id"]
    now = dt.datetime.now(dt.UTC)
    police = client.post("/api/v1/provisions", headers=h["clerk"], json={
        "ground": 6, "recipient_agency": "오산경찰서", "recipient_officer": "홍길동", "purpose": "수사",
        "period_from": (now - dt.timedelta(hours=1)).isoformat(), "period_to": now.isoformat(),
        "camera_id": case["camera"]["id"]}).json()
    police_release = _stored_release(service, tmp_path, provision_id=police["id"])
    r = client.post(f"/api/v1/releases/{police_release}/links", headers=h["clerk"], json={"hours": 168})
    assert r.status_code == 403, r.text
    assert r.json()["rule"] == "provision-links"
    r = client.post(f"/api/v1/releases/{police_release}/links", json={"hours": 24, "reason": "수사 협조"},
                    headers=h["privacy_officer"] | {"Host": "evil.example"})
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    assert "evil.example" not in url and url.startswith(base + "/objects/")
    link_id = r.json()["link_id"]

    # a requester's copy: its assigned clerk mints, another clerk may not
    viewing = _stored_release(service, tmp_path, request_id=rid)
    assert client.post(f"/api/v1/releases/{viewing}/links", headers=h["clerk2"], json={}).status_code == 403
    mine = client.post(f"/api/v1/releases/{viewing}/links", headers=h["clerk"], json={})
    assert mine.status_code == 201, mine.text

    path = url.removeprefix(base)
    assert client.get(path).status_code == 200
    assert client.get(path, headers={"Range": "bytes=0-99"}).status_code == 206
    stored = client.get(f"/api/v1/links/{link_id}", headers=h["privacy_officer"]).json()
    assert stored["minted_by"] == "privacy_officer" and stored["uses"] == 2 and stored["revoked_at"] is None
    assert stored["provision_id"] == police["id"] and stored["expires_at"]
    listed = client.get("/api/v1/links", headers=h["auditor"], params={"release_id": police_release}).json()
    assert [x["id"] for x in listed] == [link_id]
    assert client.get("/api/v1/links", headers=h["clerk2"], params={"release_id": police_release}).json() == []
    assert [x["id"] for x in client.get("/api/v1/links", headers=h["clerk"],  # clerk proposed the provision
                                        params={"release_id": police_release}).json()] == [link_id]

    purl = f"/api/v1/provisions/{police['id']}/assignees"
    assert client.post(purl, headers=h["clerk"], json={"username": "clerk2"}).status_code == 403
    assert {a["username"] for a in client.post(purl, headers=h["privacy_officer"], json={"username": "clerk2"}
                                               ).json()} == {"clerk", "clerk2"}
    assert [x["id"] for x in client.get("/api/v1/links", headers=h["clerk2"],
                                        params={"release_id": police_release}).json()] == [link_id]
    client.post(purl, headers=h["privacy_officer"], json={"username": "clerk2", "remove": True})

    # revoking only closes: any handler of the case may (clerk proposed the provision); others may not
    assert client.post(f"/api/v1/links/{link_id}/revoke", headers=h["clerk2"], json={"reason": "x"}).status_code == 403
    r = client.post(f"/api/v1/links/{link_id}/revoke", headers=h["privacy_officer"], json={"reason": "잘못 보냄"})
    assert r.status_code == 200 and r.json()["revoked_by"] == "privacy_officer"
    assert client.get(path).status_code == 410
    assert client.get("/objects/not-a-link").status_code == 410
    log = client.get("/api/v1/access-log", headers=h["auditor"], params={"limit": 1000}).json()
    downloads = [x for x in log if x["action"] == "download" and x["target"] == f"release:{police_release}"]
    assert len(downloads) == 2 and all(x["provision_id"] == police["id"] for x in downloads)
    refused = [x for x in log if x["action"] == "refused"]
    assert {x["target"] for x in refused} >= {f"link:{link_id}", "link:unknown"}
    assert any("revoked" in x["reason"] for x in refused)
    assert any(x["action"] == "revoke" and x["target"] == f"link:{link_id}" for x in log)


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _send_chunked(port: int, path: str, total: int, headers: str = "") -> bytes:
    """POST `total` bytes chunked (1 MiB chunks) until done or the server closes; the answer's first bytes."""
    chunk = os.urandom(1 << 20)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                  f"Content-Type: application/json\r\n{headers}\r\n".encode())
        sent = 0
        try:
            while sent < total:
                s.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
            s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            return s.recv(4096)
        except (ConnectionResetError, TimeoutError):
            return b""


def test_chunked_bodies_are_counted_and_refused_before_they_are_read(served):
    client, proc, base = served
    port = int(base.rsplit(":", 1)[1])
    token = login(client, "clerk4")["Authorization"]
    peak, done = [0], threading.Event()
    baseline = _rss_kb(proc.pid)

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_kb(proc.pid))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        answers = [_send_chunked(port, "/api/v1/recordings", 200 << 20),  # the upload route, no token
                   _send_chunked(port, "/api/v1/requests", 200 << 20),  # a JSON route, no token
                   _send_chunked(port, "/api/v1/requests", 200 << 20, f"Authorization: {token}\r\n")]
    finally:
        done.set()
        watcher.join()
    grown_mb = (peak[0] - baseline) / 1024
    print(f"server RSS {baseline / 1024:.0f} MB, peak {peak[0] / 1024:.0f} MB while sent 3 x 200 MiB chunked")
    assert grown_mb < 150, grown_mb
    assert answers[0].startswith(b"HTTP/1.1 401"), answers[0][:200]
    for a in answers[1:]:
        assert a.startswith(b"HTTP/1.1 413"), a[:200]
    assert proc.poll() is None and client.get("/healthz").status_code == 200
    # a declared length over the limit: 413 before a byte is read
    r = client.post("/api/v1/requests", headers={"Authorization": token, "Content-Length": str(2 << 20)},
                    content=b"x" * (2 << 20))
    assert r.status_code == 413


def test_security_headers_and_the_schema_behind_login(served):
    client, _, _ = served
    for path in ("/healthz", "/api/v1/auth/me", "/docs"):
        r = client.get(path)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer"
    assert "no-store" in client.get("/api/v1/auth/me").headers["cache-control"]
    h = login(client, "auditor")
    assert "no-store" in client.get("/api/v1/requests", headers=h).headers["cache-control"]
    assert "no-store" not in client.get("/docs/assets/swagger-ui.css").headers.get("cache-control", "")
    assert client.get("/openapi.json").status_code == 401
    assert client.get("/openapi.json", headers=h).json()["paths"]
    page = client.get("/docs").text
    assert "swagger-ui" in page and "https://" not in page


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    monkeypatch.setenv("REDACTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REDACTOR_DB", f"sqlite:///{tmp_path / 'r.db'}")
    monkeypatch.delenv("REDACTOR_BROKER", raising=False)
    from redactor import db

    db.upgrade()
    with db.session_scope() as s:
        for name in ("kim", "lee", "park", "choi"):
            accounts.create(s, name, "clerk", PASSWORD)
    yield
    db.dispose_all()


def _app(**settings):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import ServiceSettings

    return TestClient(create_app(ServiceSettings(**settings)))


def test_docs_off_and_open(app_env):
    with _app(docs="off") as c:
        assert c.get("/docs").status_code == 404 and c.get("/openapi.json").status_code == 404
    with _app(docs="open") as c:
        assert c.get("/openapi.json").status_code == 200 and "swagger-ui" in c.get("/docs").text


def test_rate_limit_per_address(app_env):
    with _app(rate_per_minute=5) as c:
        codes = [c.get("/api/v1/cameras").status_code for _ in range(7)]
        assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
        assert int(c.get("/api/v1/cameras").headers["retry-after"]) >= 1
        assert c.get("/healthz").status_code == 200  # probes are not counted


def test_login_limit_spares_the_owner_and_stops_spraying(app_env):
    from api.ratelimit import LoginLimiter

    limiter = LoginLimiter(attempts=3, window_s=60, address_attempts=5)
    for _ in range(3):
        limiter.failed("kim", "10.0.0.9")  # someone guessing kim's password from their address
    assert limiter.retry_after("kim", "10.0.0.9") > 0
    assert limiter.retry_after("kim", "10.0.0.1") == 0  # kim at their own desk is not locked out
    with _app(login_attempts=3, login_address_attempts=5) as c:
        def try_login(name, password="wrong password"):  # noqa: S107 - a wrong guess
            return c.post("/api/v1/auth/token", data={"username": name, "password": password}).status_code

        # spraying: two wrong tries at each of three names from one address
        codes = [try_login(n) for n in ("kim", "lee", "park") for _ in range(2)]
        assert codes[:5] == [401] * 5 and codes[5] == 429
        assert try_login("choi", PASSWORD) == 429  # that address is stopped for every name until the window passes

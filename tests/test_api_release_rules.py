"""Issue 16 through the HTTP API alone (`redactor serve` as its own process, embedded worker, SQLite): releases
refused on the POST by the rule that forbids them, approvals once, closed requests, the ground-2 conversion said so,
deletion taking every copy (410 afterwards), handover destruction, holds, the ledger and register exports, and errors
that show no server path, with validation messages in Korean first.

The walk with real footage (analysis, renders, releases, a package) is the slow test at the end."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile

import httpx
import pytest
from services import *  # noqa: F403
from services import cut_clip, login, make_service_env, run_cli, start_api, stop, wait_job

from redactor.disclosure.package import Party, destruction_slip
from redactor.keys import generate_keypair, load_private_key

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
PATH_RE = re.compile(r"(?<![\w:/.])/(?!api/|objects/)[\w.-]+/[\w./-]+")  # a server path such as /tmp/x/y


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    return make_service_env(tmp_path_factory.mktemp("release-rules"))


@pytest.fixture(scope="module")
def served(service):
    proc, base = start_api(service)
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            yield client
    finally:
        log = stop(proc)
        assert "Traceback" not in log, log


@pytest.fixture(scope="module")
def tiny_clip(vtest, tmp_path_factory):
    return cut_clip(vtest, tmp_path_factory.mktemp("tiny") / "tiny.mp4", seconds=1.0, size=(160, 120))


def heads(client):
    return {r: login(client, r) for r in ("admin", "clerk", "privacy_officer", "center_head", "auditor")}


def camera(client, h, code, location):
    r = client.post("/api/v1/cameras", headers=h["admin"], json={
        "code": code, "location": location, "department": "안전정책과", "officer": "안전정책과장",
        "staff": "관제팀장", "purpose": "사회안정", "purpose_detail": "방범"})
    assert r.status_code == 201, r.text
    return r.json()


def file_request(client, h, cam, kind="열람", start=NOW - dt.timedelta(hours=1), end=NOW + dt.timedelta(hours=1)):
    r = client.post("/api/v1/requests", headers=h["clerk"], json={
        "kind": kind, "requester_name": "김민수", "requester_phone": "010-1234-5678",
        "period_from": start.isoformat(), "period_to": end.isoformat(), "camera_location": cam["location"],
        "camera_id": cam["id"], "purpose": "본인 차량 접촉사고 확인"})
    assert r.status_code == 201, r.text
    return r.json()


def upload(client, h, cam, clip, start=NOW - dt.timedelta(minutes=10), seconds=1.0):
    with open(clip, "rb") as fh:
        r = client.post("/api/v1/recordings", headers=h["clerk"], files={"file": ("clip.mp4", fh, "video/mp4")},
                        data={"camera_id": str(cam["id"]), "start_at": start.isoformat(),
                              "end_at": (start + dt.timedelta(seconds=seconds)).isoformat()})
    assert r.status_code == 201, r.text
    return r.json()


def decide(client, h, request_id, role="privacy_officer", **body):
    return client.post(f"/api/v1/requests/{request_id}/decisions", headers=h[role], json=body)


def refusal(r, rule: str) -> dict:
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["rule"] == rule and body["article"] and body["article"] in body["detail"], body
    return body


def provision(client, h, cam, ground, form="사본(원본)", use_until=None):
    r = client.post("/api/v1/provisions", headers=h["clerk"], json={
        "ground": ground, "recipient_agency": "오산경찰서 형사과" if ground != 4 else "경기일보 사회부",
        "recipient_officer": "박수사", "recipient_rank": "경위" if ground != 4 else "기자", "purpose": "사건 확인",
        "period_from": (NOW - dt.timedelta(hours=1)).isoformat(),
        "period_to": (NOW + dt.timedelta(hours=1)).isoformat(),
        "camera_id": cam["id"], "form": form, "use_until": use_until})
    assert r.status_code == 201, r.text
    return r.json()


def test_decisions_say_what_they_did_and_closed_requests_take_no_more(served):
    h = heads(served)
    cam = camera(served, h, "RR-1", "오산시 원동 1 앞")
    viewing = file_request(served, h, cam)
    r = decide(served, h, viewing["id"], outcome="refuse", refusal_ground=2, reasons="다른 사람이 함께 촬영됨")
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["outcome"] == "postpone" and d["converted_from"] == {"outcome": "refuse", "refusal_ground": 2}
    assert "연기" in d["message"] and "postponement" in d["message"]
    plain = decide(served, h, viewing["id"], role="clerk", outcome="postpone", reasons="마스킹 중").json()
    assert plain["converted_from"] is None and plain["message"] is None

    refused = file_request(served, h, cam)
    assert decide(served, h, refused["id"], outcome="refuse", refusal_ground=1, reasons="수사 중").status_code == 201
    for body in ({"outcome": "grant"}, {"outcome": "postpone", "reasons": "다시"}):
        refusal(decide(served, h, refused["id"], **body), "request-closed")
    assert len(served.get(f"/api/v1/requests/{refused['id']}/decisions", headers=h["clerk"]).json()) == 1


def test_each_approver_approves_once(served):
    h = heads(served)
    cam = camera(served, h, "RR-2", "오산시 원동 2 앞")
    prov = provision(served, h, cam, 6)
    first = served.post(f"/api/v1/provisions/{prov['id']}/approvals", headers=h["privacy_officer"], json={})
    assert first.status_code == 201, first.text
    refusal(served.post(f"/api/v1/provisions/{prov['id']}/approvals", headers=h["privacy_officer"], json={}),
            "approve-once")
    assert len(served.get(f"/api/v1/provisions/{prov['id']}", headers=h["clerk"]).json()["approvals"]) == 1


def test_holds_and_records_through_the_api(served, service, tiny_clip, tmp_path):
    h = heads(served)
    cam = camera(served, h, "RR-3", "오산시 원동 3 앞")
    rec = upload(served, h, cam, tiny_clip)
    url = f"/api/v1/recordings/{rec['id']}/holds"
    assert served.post(url, headers=h["clerk"], json={"reason": "x"}).status_code == 403
    bad = served.post(url, headers=h["privacy_officer"], json={"reason": ""})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("입력값이 올바르지 않습니다")
    hold = served.post(url, headers=h["privacy_officer"], json={"reason": "수사 자료 보존 요청 (제35조①)"})
    assert hold.status_code == 201, hold.text
    assert served.get(f"/api/v1/recordings/{rec['id']}", headers=h["clerk"]).json()["held"] is True
    # held footage is not deleted: the 삭제 grant is refused with the hold's reason
    deletion = file_request(served, h, cam, kind="삭제")
    held = decide(served, h, deletion["id"], outcome="grant")
    assert held.status_code == 409 and "held" in held.json()["detail"]
    end = f"{url}/{hold.json()['id']}/release"
    assert served.post(end, headers=h["privacy_officer"], json={}).status_code == 422
    ended = served.post(end, headers=h["privacy_officer"], json={"reason": "수사 종결 통보"})
    assert ended.status_code == 200 and ended.json()["release_reason"] == "수사 종결 통보"
    assert served.post(end, headers=h["privacy_officer"], json={"reason": "again"}).status_code == 409
    assert [x["released_by"] for x in served.get(url, headers=h["auditor"]).json()] == ["privacy_officer"]
    assert decide(served, h, deletion["id"], outcome="grant").status_code == 201
    assert served.get(f"/api/v1/recordings/{rec['id']}", headers=h["clerk"]).json()["destroyed_at"]
    assert served.post(url, headers=h["privacy_officer"], json={"reason": "늦은 보존"}).status_code == 409

    # the 관리대장 export, for the auditor and the privacy officer
    for fmt, magic in (("xlsx", b"PK"), ("pdf", b"%PDF"), ("jsonl", b'{"')):
        r = served.get("/api/v1/ledger/export", params={"format": fmt}, headers=h["auditor"])
        assert r.status_code == 200 and r.content.startswith(magic), (fmt, r.text[:200])
    out = tmp_path / "ledger.jsonl"
    out.write_bytes(served.get("/api/v1/ledger/export?format=jsonl", headers=h["privacy_officer"]).content)
    assert '"kind":"파기"' in out.read_text()
    verify = run_cli(service, "ledger", "verify", "--file", str(out))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert served.get("/api/v1/ledger/export?format=xlsx", headers=h["clerk"]).status_code == 403
    assert served.get("/api/v1/ledger/export?format=xlsx&with_personal=true",
                      headers=h["auditor"]).status_code == 403
    assert served.get("/api/v1/ledger/export?format=csv", headers=h["auditor"]).status_code == 422

    # the 별지 1호 camera register
    from openpyxl import load_workbook

    r = served.get("/api/v1/cameras/register?format=xlsx", headers=h["auditor"])
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[0][:5] == ("연번", "부서명", "책임관", "담당자", "설치 수량 (대)")
    assert ("안전정책과", "안전정책과장", "관제팀장", 1, "사회안정", "방범", "오산시 원동 3 앞", "RR-3") in [
        row[1:9] for row in rows[1:]]
    assert served.get("/api/v1/cameras/register?format=pdf", headers=h["admin"]).content.startswith(b"%PDF")
    assert served.get("/api/v1/cameras/register", headers=h["clerk"]).status_code == 403


def test_errors_show_no_server_path_and_speak_korean_first(served):
    h = heads(served)
    cam = camera(served, h, "RR-4", "오산시 원동 4 앞")
    for payload in (b"not a video at all" * 50, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500):
        r = served.post("/api/v1/recordings", headers=h["clerk"], data={"camera_id": str(cam["id"])},
                        files={"file": ("movie.mp4", payload, "video/mp4")})
        assert r.status_code == 400, r.text
        assert not PATH_RE.search(r.json()["detail"]) and "redactor-upload" not in r.text, r.text
    r = served.post("/api/v1/requests", headers=h["clerk"], json={"kind": "열람", "requester_name": ""})
    assert r.status_code == 422
    body = r.json()
    detail = body["detail"]
    assert detail.startswith("입력값이 올바르지 않습니다") and "Field required" in detail
    assert detail.index("필수 항목입니다") < detail.index("Field required")
    assert {"loc", "msg_ko", "msg"} <= set(body["errors"][0])
    r = served.post("/api/v1/provisions", headers=h["clerk"], json={"ground": 9})
    assert "8 이하여야 합니다" in r.json()["detail"]
    r = served.post("/api/v1/releases", headers=h["privacy_officer"], json={"render_id": "x", "request_id": 1,
                                                                             "provision_id": 1})
    assert r.status_code == 422 and "exactly one" in r.json()["detail"]


def test_accounts_carry_affiliation_and_rank(served):
    h = heads(served)
    me = served.get("/api/v1/auth/me", headers=h["privacy_officer"]).json()
    r = served.patch(f"/api/v1/users/{me['id']}", headers=h["admin"],
                     json={"display_name": "이책임", "affiliation": "오산시 안전정책과", "rank": "행정5급"})
    assert r.status_code == 200 and r.json()["rank"] == "행정5급"
    assert served.patch(f"/api/v1/users/{me['id']}", headers=h["clerk"], json={"rank": "x"}).status_code == 403
    me = served.get("/api/v1/auth/me", headers=h["privacy_officer"]).json()
    assert (me["display_name"], me["affiliation"], me["rank"]) == ("이책임", "오산시 안전정책과", "행정5급")


# --- the walk with real footage ------------------------------------------------------------------------------------


def release(client, h, render_id, **basis):
    return client.post("/api/v1/releases", headers=h["privacy_officer"], json={"render_id": render_id, **basis})


def released(client, h, render_id, **basis) -> dict:
    r = release(client, h, render_id, **basis)
    assert r.status_code == 202, r.text
    job = wait_job(client, h["privacy_officer"], r.json()["id"])
    assert job["status"] == "done", job
    return job


@pytest.mark.slow  # one CPU analysis and two renders of 2 s of footage: a few minutes on this machine
def test_release_rules_and_deletion_of_every_copy(short_clip, tmp_path):
    senv = make_service_env(tmp_path)
    proc, base = start_api(senv)
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            walk(client, short_clip, tmp_path)
    finally:
        log = stop(proc)
    assert "Traceback" not in log, log


def walk(client, clip, tmp_path):
    h = heads(client)
    me = client.get("/api/v1/auth/me", headers=h["privacy_officer"]).json()
    cam_a = camera(client, h, "OS-A", "오산시 원동 123 앞 교차로")
    cam_b = camera(client, h, "OS-B", "오산시 오산동 오산역 광장")
    req = file_request(client, h, cam_a)
    other = file_request(client, h, cam_b)
    rec = upload(client, h, cam_a, clip, seconds=2.0)

    job = client.post("/api/v1/analyses", headers=h["clerk"], json={"recording_id": rec["id"],
                                                                    "request_id": req["id"]})
    analysis = wait_job(client, h["clerk"], job.json()["id"], timeout=600)
    assert analysis["status"] == "done", analysis
    tracks = client.get(f"/api/v1/analyses/{analysis['id']}/tracks", headers=h["clerk"]).json()["tracks"]
    person = max((t for t in tracks if t["label"] == "person"), key=lambda t: t["frames"])["id"]
    renders = {}
    for name, kept in (("kept", [person]), ("nobody", [])):
        ks = client.post(f"/api/v1/analyses/{analysis['id']}/keep-sets", headers=h["clerk"],
                         json={"track_ids": kept, "reason": "청구인 본인" if kept else "전원 마스킹"})
        r = client.post("/api/v1/renders", headers=h["clerk"], json={"keep_set_id": ks.json()["id"]})
        renders[name] = wait_job(client, h["clerk"], r.json()["id"], timeout=600)
        assert renders[name]["status"] == "done", renders[name]
    kept, nobody = renders["kept"]["id"], renders["nobody"]["id"]

    # a release before any grant: refused on the POST, nothing queued, no ledger row
    body = refusal(release(client, h, kept, request_id=req["id"]), "grant")
    assert "id" not in body and client.get("/api/v1/ledger", headers=h["auditor"]).json() == []
    # another camera's footage for a granted request: refused
    assert decide(client, h, other["id"], outcome="grant").status_code == 201
    refusal(release(client, h, nobody, request_id=other["id"]), "camera")
    refusal(release(client, h, kept, request_id=other["id"]), "camera")

    assert decide(client, h, req["id"], outcome="grant").status_code == 201
    viewing = released(client, h, kept, request_id=req["id"])
    assert "열람용" in viewing["result"]["visible_mark"]

    # an anonymised provision (제32조①4): someone kept is refused, nobody kept is released with the press mark
    press = provision(client, h, cam_a, 4, form="비식별 사본(전체 마스킹)")
    refusal(release(client, h, nobody, provision_id=press["id"]), "approval")
    url = f"/api/v1/provisions/{press['id']}/approvals"
    assert client.post(url, headers=h["privacy_officer"], json={}).status_code == 201
    refusal(client.post(url, headers=h["privacy_officer"], json={}), "approve-once")
    refusal(release(client, h, kept, provision_id=press["id"]), "anonymised")
    anonymised = released(client, h, nobody, provision_id=press["id"])
    assert "비식별 보도·연구용" in anonymised["result"]["visible_mark"]

    # police (제32조①6): a handover package with both sides of the 별지 3호 receipt, then its destruction
    police = provision(client, h, cam_a, 6, use_until=(dt.date.today() - dt.timedelta(days=1)).isoformat())
    assert client.post(f"/api/v1/provisions/{police['id']}/approvals", headers=h["privacy_officer"],
                       json={}).status_code == 201
    handed = released(client, h, kept, provision_id=police["id"])
    assert "수사 제공용" in handed["result"]["visible_mark"]
    pkg_url = f"/api/v1/provisions/{police['id']}/packages"
    blank = client.post(pkg_url, headers=h["privacy_officer"], json={"release_id": handed["result"]["release_id"]})
    refusal(blank, "receipt-fields")  # the officer's account has no 소속 and 직급 yet
    assert client.patch(f"/api/v1/users/{me['id']}", headers=h["admin"], json={
        "display_name": "이책임", "affiliation": "오산시 안전정책과", "rank": "행정5급"}).status_code == 200
    pkg = client.post(pkg_url, headers=h["privacy_officer"], json={"release_id": handed["result"]["release_id"]})
    assert pkg.status_code == 202, pkg.text
    package = wait_job(client, h["privacy_officer"], pkg.json()["id"])
    assert package["status"] == "done", package
    link = client.post(f"{pkg_url}/{package['id']}/links", headers=h["privacy_officer"], json={})
    zipped = tmp_path / "package.zip"
    zipped.write_bytes(httpx.get(link.json()["url"], timeout=60).content)
    with zipfile.ZipFile(zipped) as z:
        manifest = json.loads(z.read("manifest.json"))
    assert manifest["recipient"] == {"affiliation": "오산경찰서 형사과", "rank": "경위", "name": "박수사"}
    assert manifest["handed_over_by"] == {"affiliation": "오산시 안전정책과", "rank": "행정5급", "name": "이책임"}
    overdue = client.get("/api/v1/provisions/packages/overdue", headers=h["auditor"]).json()
    assert [p["job_id"] for p in overdue] == [package["id"]]
    generate_keypair(tmp_path / "police")
    police_key = load_private_key(tmp_path / "police.key")
    slip = destruction_slip(zipped, Party("오산경찰서 형사과", "경위", "박수사"), police_key)
    destroyed = client.post(f"{pkg_url}/{package['id']}/destruction", headers=h["privacy_officer"],
                            files={"slip": ("slip.json", json.dumps(slip).encode(), "application/json")})
    assert destroyed.status_code == 201, destroyed.text
    number = destroyed.json()["destruction"]["ledger_number"]
    entry = next(e for e in client.get("/api/v1/ledger", headers=h["auditor"]).json() if e["number"] == number)
    assert entry["kind"] == "파기" and entry["party"] == "오산경찰서 형사과 경위"
    assert client.get("/api/v1/provisions/packages/overdue", headers=h["auditor"]).json() == []
    assert client.post(f"{pkg_url}/{package['id']}/destruction", headers=h["privacy_officer"],
                       files={"slip": ("slip.json", json.dumps(slip).encode())}).status_code == 409

    # a granted 삭제 request: the footage and every copy made of it are gone, their routes answer 410
    before = len(client.get("/api/v1/ledger", headers=h["auditor"]).json())
    deletion = file_request(client, h, cam_a, kind="삭제")
    assert decide(client, h, deletion["id"], outcome="grant").status_code == 201
    refusal(decide(client, h, deletion["id"], outcome="grant"), "request-closed")
    gone = [client.get(f"/api/v1/analyses/{analysis['id']}/tracks", headers=h["clerk"]),
            client.post(f"/api/v1/analyses/{analysis['id']}/keep-sets", headers=h["clerk"], json={"track_ids": []}),
            client.get(f"/api/v1/renders/{kept}/video", headers=h["clerk"]),
            client.get(f"/api/v1/renders/{nobody}/video", headers=h["clerk"]),
            client.post(f"/api/v1/releases/{viewing['result']['release_id']}/links", headers=h["clerk"], json={}),
            client.post(f"{pkg_url}/{package['id']}/links", headers=h["privacy_officer"], json={}),
            release(client, h, nobody, provision_id=press["id"])]
    assert [r.status_code for r in gone] == [410] * len(gone), [r.text for r in gone]
    assert httpx.get(link.json()["url"], timeout=60).status_code in (404, 410)
    rows = client.get("/api/v1/ledger", headers=h["auditor"]).json()[before:]
    # the recording, its analysis, two renders, three released copies and the stored package: one 파기 row each
    assert [r["kind"] for r in rows] == ["파기"] * 8, rows
    assert all(r["ref"].startswith(f"request:{deletion['id']}") for r in rows)
    assert client.get("/api/v1/ledger/verify", headers=h["auditor"]).json()["ok"] is True

"""Several staff at once (issue 22), on SQLite and on PostgreSQL: every well-formed write succeeds exactly once, its
answer comes only after its commit (a read-back at once finds it), numbers never collide, and a commit that fails
after the route returned answers an error and leaves nothing behind.

- the order FastAPI runs a dependency's exit in, pinned for the installed version (what api.deps.db relies on);
- 접수번호 from threads calling the service directly;
- `redactor serve` (its own process) with 4 clients filing 50 requests each, every one read back at once;
- a commit made to fail after the route returned (a constraint checked at commit; the database connection killed);
- (slow) clerks and officers filing, analysing, rendering, deciding, approving and releasing at once, then
  `redactor ledger verify` with one row per release.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from dbsupport import *  # noqa: F403
from dbsupport import PgServer
from services import *  # noqa: F403
from services import PASSWORD, ROLES, ServiceEnv, base_env, login, run_cli, start_api, stop, wait_job
from sqlalchemy import event, func, select, text

from redactor import db

THREADS, PER_THREAD = 4, 50


def request_body(i: int, camera_id: int | None = None) -> dict:
    now = dt.datetime.now(dt.UTC)
    body = {"kind": "열람", "requester_name": f"청구인{i:04d}", "requester_phone": f"010-0000-{i:04d}",
            "period_from": (now - dt.timedelta(hours=1)).isoformat(), "period_to": now.isoformat(),
            "camera_location": "오산시 원동 123 앞 교차로", "purpose": f"본인 차량 접촉사고 확인 #{i}"}
    if camera_id is not None:
        body["camera_id"] = camera_id
    return body


def file_at_once(base: str, headers: dict, threads: int = THREADS, per_thread: int = PER_THREAD) -> dict:
    """Each thread files `per_thread` distinct requests and reads each back at once. Returns what went wrong."""
    refused: list[str] = []
    missing: list[str] = []
    filed: dict[int, dict] = {}
    lock = threading.Lock()

    def clerk(t: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as c:
            for j in range(per_thread):
                body = request_body(t * per_thread + j)
                r = c.post("/api/v1/requests", headers=headers, json=body)
                if r.status_code != 201:
                    with lock:
                        refused.append(f"{r.status_code} {r.text[:200]}")
                    continue
                made = r.json()
                got = c.get(f"/api/v1/requests/{made['id']}", headers=headers)
                with lock:
                    filed[made["id"]] = made
                    if got.status_code != 200 or got.json() != made:
                        missing.append(f"{made['id']}: {got.status_code} {got.text[:200]}")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(clerk, range(threads)))
    return {"refused": refused, "missing": missing, "filed": filed}


# The mechanism ------------------------------------------------------------------------------------------------------


def test_installed_fastapi_runs_function_scoped_exit_before_sending():
    """What api.deps.db relies on: with scope="function" the code after `yield` runs before the answer is sent, so
    its failure is the answer; with the default scope the client has its 200 already."""
    from fastapi import Depends, FastAPI
    from fastapi.responses import JSONResponse
    from fastapi.testclient import TestClient

    class CommitFailed(Exception):
        pass

    def failing_exit():
        yield "session"
        raise CommitFailed

    app = FastAPI()

    @app.exception_handler(CommitFailed)
    async def failed(_, __) -> JSONResponse:
        return JSONResponse({"detail": "not stored"}, status_code=503)

    @app.get("/function")
    def function_scoped(s: str = Depends(failing_exit, scope="function")) -> dict:
        return {"ok": s}

    @app.get("/request")
    def request_scoped(s: str = Depends(failing_exit)) -> dict:
        return {"ok": s}

    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/function").status_code == 503
        # the default: the answer is out before the exit code fails (the bug of issue 22)
        assert client.get("/request").status_code == 200


def test_request_numbers_from_threads_never_collide(db_url, ledger_home):
    from redactor.disclosure.models import DisclosureRequest
    from redactor.disclosure.service import receive_request

    errors: list[str] = []
    now = dt.datetime.now(dt.UTC)

    def clerk(t: int) -> None:
        for j in range(10):
            try:
                with db.session_scope(db_url) as s:
                    body = request_body(t * 10 + j) | {"period_from": now - dt.timedelta(hours=1), "period_to": now}
                    receive_request(s, received_by="clerk", **body)
            except Exception as err:  # collected: an assertion in a thread would be lost
                errors.append(repr(err))

    threads = [threading.Thread(target=clerk, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.session_scope(db_url) as s:
        numbers = sorted(s.scalars(select(DisclosureRequest.number)))
    assert numbers == [f"{now.year}-{n:05d}" for n in range(1, 41)]


def test_numbering_carries_on_from_numbers_given_before_the_counter(session):
    """A database migrated with requests in it (or a year's first request) continues after the highest number."""
    from redactor.disclosure.models import DisclosureRequest, RequestKind
    from redactor.disclosure.service import request_number

    now = dt.datetime.now(dt.UTC)
    session.add(DisclosureRequest(number="2025-00007", kind=RequestKind.열람, requester_name="a", period_from=now,
                                  period_to=now, camera_location="x", purpose="p", received_at=now, due_at=now,
                                  received_by="clerk"))
    session.flush()
    assert [request_number(session, 2025), request_number(session, 2025)] == ["2025-00008", "2025-00009"]
    assert request_number(session, 2024) == "2024-00001"


def test_sqlite_reader_that_writes_waits_for_the_lock_instead_of_failing(tmp_path):
    """A transaction that reads, then writes, while another writer holds the lock: it waits (SQLite would otherwise
    answer "database is locked" at once), and SELECT ... FOR UPDATE takes the lock at the read."""
    url = f"sqlite:///{tmp_path / 'l.db'}"
    with db.get_engine(url).begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1, 0)"))
    errors: list[str] = []

    def bump(lock_first: bool) -> None:
        for _ in range(25):
            try:
                with db.session_scope(url) as s:
                    q = select(text("v")).select_from(text("t")).where(text("id = 1"))
                    v = s.execute(q.with_for_update() if lock_first else q).scalar()
                    if lock_first:
                        s.execute(text("UPDATE t SET v = :v WHERE id = 1"), {"v": v + 1})  # read-modify-write
                    else:
                        s.execute(text("UPDATE t SET v = v + 1 WHERE id = 1"))
            except Exception as err:
                errors.append(repr(err))

    threads = [threading.Thread(target=bump, args=(i % 2 == 0,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.session_scope(url) as s:
        assert s.execute(text("SELECT v FROM t")).scalar() == 100
    db.dispose_all()



def test_a_connection_opened_while_another_writes_a_rollback_mode_database_waits(tmp_path):
    """A database still in rollback mode (made by another tool, or before WAL was set at upgrade) cannot be switched to
    WAL while a writer holds it: SQLite answers "database is locked" at once, busy_timeout or not. CI lost a request
    that way when four threads opened their first connections together (stop 25). A new connection waits instead."""
    import sqlite3

    path = tmp_path / "rollback.db"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE t (v INTEGER)")
    assert writer.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (1)")
    threading.Timer(0.5, writer.commit).start()
    with db.get_engine(f"sqlite:///{path}").connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1  # it waited for the writer's commit
    writer.close()
    db.dispose_all()


def test_upgrade_leaves_a_sqlite_database_in_wal_mode(tmp_path):
    import sqlite3

    path = tmp_path / "new.db"
    db.upgrade(f"sqlite:///{path}")
    db.dispose_all()
    with contextlib.closing(sqlite3.connect(path)) as conn:  # a plain connection: nothing here switches the mode
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

# Through the real server --------------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request, tmp_path):
    """`redactor serve` as its own process on a fresh database of each kind, with one account per role (made here,
    in process: `redactor users add` for each role costs a process start apiece)."""
    from redactor.auth import accounts

    server = PgServer() if request.param == "postgres" else None
    home = tmp_path / "home"
    url = server.url if server else f"sqlite:///{tmp_path / 'service.db'}"
    senv = ServiceEnv(home, url, base_env(home, url))
    db.upgrade(url)
    with db.session_scope(url) as s:
        for role in ROLES:
            accounts.create(s, role, role, PASSWORD)
    db.dispose_all()
    proc, base = start_api(senv)
    yield senv, base
    out = stop(proc)
    if server is not None:
        server.drop()
    assert "Traceback" not in out, out[-3000:]


@pytest.mark.parametrize("per_thread", [20, pytest.param(PER_THREAD, marks=pytest.mark.slow)])
def test_four_clerks_filing_at_once_lose_nothing(served, per_thread):
    """The issue's check (4 x 50 in the slow suite, 4 x 20 in the default one): 0 refused, 0 missing at once, 0
    missing three seconds later, numbers 1..n without a gap, and the ledger verifies."""
    senv, base = served
    with httpx.Client(base_url=base, timeout=30) as c:
        clerk = login(c, "clerk")
    out = file_at_once(base, clerk, THREADS, per_thread)
    assert out["refused"] == [] and out["missing"] == [], (len(out["refused"]), out["refused"][:3],
                                                           len(out["missing"]), out["missing"][:3])
    assert len(out["filed"]) == THREADS * per_thread
    time.sleep(3)
    with httpx.Client(base_url=base, timeout=30) as c:
        for request_id, made in out["filed"].items():
            assert c.get(f"/api/v1/requests/{request_id}", headers=clerk).json() == made
    year = dt.datetime.now(dt.UTC).year
    assert sorted(m["number"] for m in out["filed"].values()) == [f"{year}-{n:05d}"
                                                                   for n in range(1, THREADS * per_thread + 1)]
    verify = run_cli(senv, "ledger", "verify")
    assert verify.returncode == 0 and "OK" in verify.stdout, verify.stdout + verify.stderr


# A commit that fails after the route returned ------------------------------------------------------------------------


class InProcessServer:
    """The real app under uvicorn on a loopback port, in this process, so a test can reach its database engine."""

    def __init__(self, home, url: str) -> None:
        import uvicorn
        from services import free_port

        from api.app import create_app

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "uvicorn did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def in_process(db_url, ledger_home, monkeypatch):
    monkeypatch.delenv("REDACTOR_BROKER", raising=False)
    monkeypatch.delenv("REDACTOR_STORE", raising=False)
    from redactor.auth import accounts

    with db.session_scope(db_url) as s:
        for role in ("clerk", "privacy_officer"):
            accounts.create(s, role, role, PASSWORD)
    server = InProcessServer(ledger_home, db_url)
    yield server, db_url
    server.stop()


@contextlib.contextmanager
def failing_commit(url: str, how: str) -> Iterator[threading.Event]:
    """While inside, the next COMMIT that writes a request fails in the database itself: a foreign key checked only
    at commit (`constraint`), or the connection killed under it (`gone`, PostgreSQL). Yields an event set once it
    fired."""
    engine = db.get_engine(url)
    fired = threading.Event()
    postgres = engine.dialect.name == "postgresql"
    if postgres and how == "constraint":  # PostgreSQL checks our foreign keys at once; this one waits for the commit
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE commit_probe (r INTEGER REFERENCES requests (id) "
                                 "DEFERRABLE INITIALLY DEFERRED)")

    def mark(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO REQUESTS"):
            conn.info["wrote_request"] = True

    def fail(conn) -> None:
        if fired.is_set() or not conn.info.pop("wrote_request", None):
            return
        fired.set()
        if how == "gone":
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with engine.connect() as other:
                other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        elif postgres:
            conn.exec_driver_sql("INSERT INTO commit_probe VALUES (999999)")
        else:
            conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
            conn.exec_driver_sql("INSERT INTO decisions (request_id, outcome, reasons, appeal_route, withheld, "
                                 "decided_at, decided_by) VALUES (999999, 'grant', '', '', '', "
                                 "'2026-01-01 00:00:00', 'x')")

    def clear(conn) -> None:
        conn.info.pop("wrote_request", None)

    hooks = [("before_cursor_execute", mark), ("commit", fail), ("rollback", clear)]
    for name, fn in hooks:
        event.listen(engine, name, fn)
    try:
        yield fired
    finally:
        for name, fn in hooks:
            event.remove(engine, name, fn)
        if postgres and how == "constraint":
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP TABLE commit_probe")


@pytest.mark.parametrize("how", ["constraint", "gone"])
def test_a_commit_that_fails_after_the_route_answers_an_error_and_stores_nothing(in_process, how):
    from redactor.counters import Counter
    from redactor.disclosure.models import DisclosureRequest
    from redactor.ledger.models import LedgerEntry

    server, url = in_process
    if how == "gone" and db.get_engine(url).dialect.name != "postgresql":
        pytest.skip("killing the connection under a commit is a PostgreSQL server's failure")
    with httpx.Client(base_url=server.base, timeout=30) as c:
        clerk = login(c, "clerk")
        first = c.post("/api/v1/requests", headers=clerk, json=request_body(1))
        assert first.status_code == 201, first.text
        with failing_commit(url, how) as fired:
            r = c.post("/api/v1/requests", headers=clerk, json=request_body(2))
        assert fired.is_set()
        assert r.status_code == (409 if how == "constraint" else 503), r.text
        assert r.json()["error"] in ("Conflict", "Unavailable")
        # nothing half-done: no second request, the counter where it was, no ledger row; the next filing works
        with db.session_scope(url) as s:
            assert s.scalar(select(func.count()).select_from(DisclosureRequest)) == 1
            assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 0
            assert s.scalar(select(Counter.value)) == 1
        again = c.post("/api/v1/requests", headers=clerk, json=request_body(2))
        assert again.status_code == 201, again.text
        assert again.json()["number"].endswith("-00002")
        listed = c.get("/api/v1/requests", headers=clerk).json()
        assert sorted(x["requester_name"] for x in listed) == ["청구인0001", "청구인0002"]


# Every kind of act at once (slow: real analyses and renders) --------------------------------------------------------


@pytest.mark.slow
def test_staff_filing_deciding_approving_releasing_at_once(served, short_clip):  # noqa: F811
    """Four viewing requests walked to release by clerks and the privacy officer at once, beside provisions being
    proposed and approved and requests being filed: every act succeeds once, every answer matches its read-back,
    and the ledger verifies with one 열람 row per release."""
    senv, base = served
    with httpx.Client(base_url=base, timeout=60) as c:
        admin, clerk, officer, head = (login(c, r) for r in ("admin", "clerk", "privacy_officer", "center_head"))
        cam = c.post("/api/v1/cameras", headers=admin, json={
            "code": "OS-0001", "location": "오산시 원동 123 앞 교차로", "department": "안전정책과",
            "officer": "안전정책과장", "staff": "관제팀장", "purpose": "사회안정", "purpose_detail": "방범"})
        assert cam.status_code == 201, cam.text
    camera_id = cam.json()["id"]

    def walk(i: int) -> dict:
        with httpx.Client(base_url=base, timeout=60) as c:
            req = c.post("/api/v1/requests", headers=clerk, json=request_body(1000 + i, camera_id))
            assert req.status_code == 201, req.text
            rid = req.json()["id"]
            with open(short_clip, "rb") as fh:
                up = c.post("/api/v1/recordings", headers=clerk, data={"camera_id": str(camera_id),
                                                                       "reason": f"request:{rid}"},
                            files={"file": ("clip.mp4", fh, "video/mp4")})
            assert up.status_code == 201, up.text
            job = c.post("/api/v1/analyses", headers=clerk, json={"recording_id": up.json()["id"], "request_id": rid})
            assert job.status_code == 202, job.text
            analysis = wait_job(c, clerk, job.json()["id"], timeout=600)
            assert analysis["status"] == "done", analysis
            tracks = c.get(f"/api/v1/analyses/{analysis['id']}/tracks", headers=clerk).json()["tracks"]
            keep = max((t for t in tracks if t["label"] == "person"), key=lambda t: t["frames"])["id"]
            ks = c.post(f"/api/v1/analyses/{analysis['id']}/keep-sets", headers=clerk,
                        json={"track_ids": [keep], "reason": "청구인 본인 (신분증 대조)"})
            assert ks.status_code == 201, ks.text
            r = c.post("/api/v1/renders", headers=clerk, json={"keep_set_id": ks.json()["id"]})
            assert r.status_code == 202, r.text
            render = wait_job(c, clerk, r.json()["id"], timeout=600)
            assert render["status"] == "done" and render["result"]["released"], render
            d = c.post(f"/api/v1/requests/{rid}/decisions", headers=officer, json={"outcome": "grant"})
            assert d.status_code == 201, d.text
            assert [x["id"] for x in c.get(f"/api/v1/requests/{rid}/decisions", headers=officer).json()] == \
                [d.json()["id"]]
            rel = c.post("/api/v1/releases", headers=officer, json={"render_id": render["id"], "request_id": rid})
            assert rel.status_code == 202, rel.text
            done = wait_job(c, officer, rel.json()["id"], timeout=600)
            assert done["status"] == "done", done
            got = c.get(f"/api/v1/releases/{done['result']['release_id']}", headers=officer)
            assert got.status_code == 200 and got.json()["ledger_number"] == done["result"]["ledger_number"]
            assert c.get(f"/api/v1/requests/{rid}", headers=clerk).json()["closed_at"] is not None
            return {"request": rid, "ledger_number": done["result"]["ledger_number"]}

    def provide(i: int) -> int:
        with httpx.Client(base_url=base, timeout=60) as c:
            now = dt.datetime.now(dt.UTC)
            p = c.post("/api/v1/provisions", headers=clerk, json={
                "ground": 6 if i % 2 else 8, "recipient_agency": "오산경찰서", "recipient_officer": f"경위 {i}",
                "purpose": f"범죄 수사 #{i}", "period_from": (now - dt.timedelta(hours=1)).isoformat(),
                "period_to": now.isoformat()})
            assert p.status_code == 201, p.text
            approver = head if i % 2 == 0 else officer  # item 8: the centre's head may approve alone (제32조③)
            a = c.post(f"/api/v1/provisions/{p.json()['id']}/approvals", headers=approver, json={"note": "결재"})
            assert a.status_code == 201, a.text
            got = c.get(f"/api/v1/provisions/{p.json()['id']}", headers=clerk).json()
            assert [x["id"] for x in got["approvals"]] == [a.json()["id"]]
            return p.json()["id"]

    with ThreadPoolExecutor(8) as pool:
        walks = [pool.submit(walk, i) for i in range(4)]
        provisions = [pool.submit(provide, i) for i in range(20)]
        filing = pool.submit(file_at_once, base, clerk, 2, 20)
        walked = [w.result() for w in walks]
        assert len({p.result() for p in provisions}) == 20
        filed = filing.result()
    assert filed["refused"] == [] and filed["missing"] == []
    assert sorted(w["ledger_number"] for w in walked) == [1, 2, 3, 4]

    verify = run_cli(senv, "ledger", "verify")
    assert verify.returncode == 0 and "OK" in verify.stdout, verify.stdout + verify.stderr
    from redactor.ledger.models import LedgerEntry

    with db.session_scope(senv.db_url) as s:
        rows = list(s.execute(select(LedgerEntry.kind, LedgerEntry.ref)))
    assert sorted(rows) == sorted(("열람", f"request:{w['request']}") for w in walked)

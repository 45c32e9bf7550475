"""Fixtures for the service tests: a data folder and database per test, accounts per role, short test clips, the API
served by uvicorn as a separate process (`redactor serve`), and a Celery worker as a separate process on the real
Redis broker. Import with `from services import *  # noqa: F403`.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from helpers import REDACTOR, ROOT, cut_clip, run_redactor

from redactor.config import Settings

PASSWORD = "correct-horse-battery"  # noqa: S105 - test accounts
ROLES = ("clerk", "privacy_officer", "center_head", "operator", "auditor", "admin")
MODELS = str(Settings().models_dir)  # the machine's fetched weights (REDACTOR_MODELS, else the cache)

__all__ = ["ROLES", "PASSWORD", "ServiceEnv", "free_port", "cut_clip", "short_clip", "service_env", "make_service_env",
           "run_cli", "start_api", "start_worker", "stop", "login", "wait_job", "redis_db", "base_env",
           "start_capped_api", "stop_server"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServiceEnv:
    home: Path
    db_url: str
    env: dict[str, str] = field(default_factory=dict)


def run_cli(env: ServiceEnv, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return run_redactor("--db", env.db_url, *args, env=env.env, stdin=stdin)


@pytest.fixture(scope="session")
def short_clip(vtest, tmp_path_factory) -> Path:
    return cut_clip(vtest, tmp_path_factory.mktemp("clips") / "short.mp4", seconds=2.0)


def base_env(home: Path, db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDACTOR_")}
    env.update({"REDACTOR_HOME": str(home), "REDACTOR_DB": db_url, "REDACTOR_MODELS": MODELS,
                "PYTHONPATH": str(ROOT)})
    env.update(extra)
    return env


def make_service_env(folder: Path, users: dict[str, str] | None = None, db_url: str | None = None) -> ServiceEnv:
    """A fresh data folder and database, migrated by `redactor db upgrade`, with one account per role (named after
    it) and any `users` ({name: role}), all made through `redactor users add` with the password on stdin."""
    home = folder / "home"
    url = db_url or f"sqlite:///{folder / 'service.db'}"
    senv = ServiceEnv(home, url, base_env(home, url))
    r = run_cli(senv, "db", "upgrade")
    assert r.returncode == 0, r.stderr
    for name, role in ({r: r for r in ROLES} | (users or {})).items():
        r = run_cli(senv, "users", "add", name, "--role", role, stdin=PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
    return senv


@pytest.fixture
def service_env(tmp_path) -> ServiceEnv:
    return make_service_env(tmp_path)


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(url)


def start_api(senv: ServiceEnv, *, preexec_fn=None, **extra: str) -> tuple[subprocess.Popen, str]:
    """`redactor serve --port P` as its own process; returns (process, base URL). `preexec_fn` runs in the server's
    process before exec (start_capped_api caps its address space there)."""
    port = free_port()
    env = senv.env | {"REDACTOR_PUBLIC_URL": f"http://127.0.0.1:{port}"} | extra
    proc = subprocess.Popen([REDACTOR, "--db", senv.db_url, "serve", "--port", str(port), "--log-level", "warning"],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=preexec_fn)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{base}/healthz", proc)
    except BaseException:
        proc.kill()
        raise
    return proc, base


def start_worker(env: dict[str, str], queues: str = "gpu,cpu", name: str = "w1",
                 log: Path | None = None) -> subprocess.Popen:
    """A Celery worker as a separate process (solo pool: the task runs in the worker process itself, so a SIGKILL of
    that process kills the task mid-flight, as a crashed GPU machine would). Its output to `log` where given (a
    worker of a long test: a pipe nobody reads fills up and stops it), else to a pipe (`stop` returns it)."""
    out = open(log, "w") if log is not None else subprocess.PIPE  # noqa: SIM115 - the child holds it open
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", queues,
                             "-P", "solo", "-c", "1", "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
                             "--without-heartbeat", "-l", "INFO"], env=env, cwd=ROOT, stdout=out,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    if log is not None:
        out.close()  # the child has its own copy
    return proc


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> str:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.stdout.read() if proc.stdout else ""


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def wait_job(client: httpx.Client, headers: dict, job_id: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("done", "failed", "blocked"):
            return job
        time.sleep(0.3)
    raise TimeoutError(f"job {job_id}: {job}")


def file_footage(client: httpx.Client, admin: dict, clerk: dict, clip: Path, *, code: str, location: str,
                 requester: str = "이영희", purpose: str = "분실물 확인", phone: str | None = None,
                 filename: str = "clip.mp4") -> tuple[dict, dict, dict]:
    """What comes before an analysis: the camera registered, a 열람 request for it filed by the clerk (every use of
    footage serves a request its handler filed), the clip uploaded: (camera, request, recording) from the API."""
    cam = client.post("/api/v1/cameras", headers=admin, json={
        "code": code, "location": location, "department": "안전정책과", "officer": "과장", "staff": "팀장",
        "purpose": "사회안정"}).json()
    now = dt.datetime.now(dt.UTC)
    body = {"kind": "열람", "requester_name": requester, "period_from": (now - dt.timedelta(hours=1)).isoformat(),
            "period_to": now.isoformat(), "camera_location": location, "camera_id": cam["id"], "purpose": purpose}
    req = client.post("/api/v1/requests", headers=clerk, json=body | ({"requester_phone": phone} if phone else {}))
    with open(clip, "rb") as fh:
        rec = client.post("/api/v1/recordings", headers=clerk, data={"camera_id": str(cam["id"])},
                          files={"file": (filename, fh, "video/mp4")}).json()
    return cam, req.json(), rec


def stop_workers(*workers: subprocess.Popen | None) -> None:
    """Every worker still running: SIGTERM to its process group (the Celery pool's children too), SIGKILL after 20 s."""
    for w in workers:
        if w is not None and w.poll() is None:
            os.killpg(w.pid, signal.SIGTERM)
            try:
                w.wait(20)
            except Exception:
                os.killpg(w.pid, signal.SIGKILL)


@pytest.fixture
def redis_db() -> Iterator[str]:
    """A Redis database of its own (flushed before and after) on the real server at 127.0.0.1:6379."""
    import redis

    # REDACTOR_TEST_REDIS_DB gives each checkout running tests side by side a database of its own
    n = int(os.environ.get("REDACTOR_TEST_REDIS_DB") or 9 + os.getpid() % 6)
    client = redis.Redis(host="127.0.0.1", port=6379, db=n)
    try:
        client.flushdb()
    except redis.ConnectionError as err:
        pytest.fail(f"Redis at 127.0.0.1:6379 is not reachable (scripts/services.sh starts it): {err}")
    yield f"redis://127.0.0.1:6379/{n}"
    client.flushdb()


# The server as acceptance runs it: its own process, its address space capped (as `prlimit --as` would) -----------

CAP = 8 << 30  # the address-space cap acceptance puts on the server


def _cap_address_space() -> None:  # in the server's process, before exec: as `prlimit --as` would
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))


def start_capped_api(senv, **extra: str) -> tuple[subprocess.Popen, str]:
    proc, base = start_api(senv, preexec_fn=_cap_address_space, **extra)
    threading.Thread(target=lambda: proc.stdout.read(), daemon=True).start()  # keep its pipe from filling up
    return proc, base


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

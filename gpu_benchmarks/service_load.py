"""Bounded load test of the HTTP API on loopback: concurrent job-status polls and recording uploads against
`redactor serve` (embedded default: SQLite, local object store). Prints requests/s and latency percentiles per kind.

    .venv/bin/python gpu_benchmarks/service_load.py --clip short.mp4 [--polls 400] [--uploads 24] [--concurrency 8]

Bounded in count and in time (--max-seconds): it never runs away on a slow machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def run(clip: Path, polls: int, uploads: int, concurrency: int, max_seconds: float) -> dict:
    from services import login, make_service_env, start_api, stop

    with tempfile.TemporaryDirectory(prefix="redactor-load-") as tmp:
        senv = make_service_env(Path(tmp))
        env = senv.env | {"REDACTOR_LOGIN_ATTEMPTS": "1000"}
        # one finished job to poll (what a client does while a render runs)
        code = ("from redactor import db; from redactor.jobs import service\n"
                "with db.session_scope() as s:\n"
                "    j = service.create(s, 'reap', 'load'); j.status = 'done'; print(j.id)")
        job_id = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                check=True).stdout.strip()
        senv.env = env
        proc, base = start_api(senv)
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                admin, clerk = login(client, "admin"), login(client, "clerk")
                # the job polled is no case's (a reap): the privacy officer oversees every case (issue 20)
                officer = login(client, "privacy_officer")
                cam = client.post("/api/v1/cameras", headers=admin, json={
                    "code": "LOAD-1", "location": "x", "department": "d", "officer": "o", "staff": "s",
                    "purpose": "사회안정"}).json()
            data = clip.read_bytes()
            deadline = time.monotonic() + max_seconds

            def poll(_: int) -> tuple[str, float, int]:
                if time.monotonic() > deadline:
                    return "poll", 0.0, -1
                with httpx.Client(base_url=base, timeout=60) as c:
                    t = time.perf_counter()
                    r = c.get(f"/api/v1/jobs/{job_id}", headers=officer)
                    return "poll", time.perf_counter() - t, r.status_code

            def upload(_: int) -> tuple[str, float, int]:
                if time.monotonic() > deadline:
                    return "upload", 0.0, -1
                with httpx.Client(base_url=base, timeout=120) as c:
                    t = time.perf_counter()
                    r = c.post("/api/v1/recordings", headers=clerk, data={"camera_id": str(cam["id"])},
                               files={"file": ("clip.mp4", data, "video/mp4")})
                    return "upload", time.perf_counter() - t, r.status_code

            jobs = [(poll, i) for i in range(polls)]
            step = max(1, polls // max(1, uploads))
            for i in range(uploads):  # uploads interleaved with the polls
                jobs.insert(min(len(jobs), i * (step + 1)), (upload, i))
            t0 = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                results = list(pool.map(lambda fj: fj[0](fj[1]), jobs))
            wall = time.perf_counter() - t0
        finally:
            stop(proc)
    out: dict = {"concurrency": concurrency, "wall_s": round(wall, 2), "clip_bytes": len(data),
                 "total_rps": round(sum(1 for r in results if r[2] > 0) / wall, 1)}
    for kind in ("poll", "upload"):
        lat = [r[1] for r in results if r[0] == kind and r[2] > 0]
        errors = sum(1 for r in results if r[0] == kind and r[2] not in (200, 201, -1))
        out[kind] = {"n": len(lat), "errors": errors, "p50_ms": round(percentile(lat, 0.5) * 1000, 1),
                     "p95_ms": round(percentile(lat, 0.95) * 1000, 1),
                     "mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else None}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, required=True)
    ap.add_argument("--polls", type=int, default=400)
    ap.add_argument("--uploads", type=int, default=24)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--max-seconds", type=float, default=120)
    args = ap.parse_args()
    os.chdir(ROOT)
    print(json.dumps(run(args.clip, args.polls, args.uploads, args.concurrency, args.max_seconds), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

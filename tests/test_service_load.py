"""The bounded load test (gpu_benchmarks/service_load.py) in small: concurrent status polls and uploads against a
served API on loopback all succeed, and the numbers come out."""

from __future__ import annotations

import sys
from pathlib import Path

from services import short_clip  # noqa: F401, E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gpu_benchmarks"))


def test_concurrent_polls_and_uploads_all_succeed(short_clip):  # noqa: F811
    from service_load import run

    out = run(short_clip, polls=80, uploads=6, concurrency=6, max_seconds=60)
    assert out["poll"]["errors"] == 0 and out["upload"]["errors"] == 0, out
    assert out["poll"]["n"] == 80 and out["upload"]["n"] == 6, out
    assert out["poll"]["p95_ms"] > 0 and out["total_rps"] > 0

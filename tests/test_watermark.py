"""Watermarks on real clips encoded and attacked by the real ffmpeg: the issue's check, false positives, the visible
mark in every frame and out of the requester's way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT, SHARED, ffmpeg, run_redactor

from redactor.errors import BadInput
from redactor.media import decode
from redactor.render.watermark_forensic import decode_payload, encode_payload, extract_clip
from redactor.render.watermark_visible import VisibleWatermark

TOOLS = SHARED / "tools"


def redactor(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "REDACTOR_HOME": str(home)}
    env.pop("REDACTOR_WATERMARK_KEY", None)
    return run_redactor(*args, env=env)


@pytest.fixture(scope="module")
def cctv(vtest, tmp_path_factory) -> Path:
    """14 s of real overhead CCTV footage (vtest.avi, 10 fps)."""
    out = tmp_path_factory.mktemp("wm") / "cctv.mp4"
    ffmpeg("-i", str(vtest), "-t", "14", "-c:v", "libx264", "-crf", "18", "-an", str(out))
    return out


def test_payload_has_crc_and_bounds():
    bits = encode_payload(123456)
    assert len(bits) == 32 and decode_payload(bits) == 123456
    bits[5] ^= 1
    assert decode_payload(bits) is None
    with pytest.raises(BadInput):
        encode_payload(1 << 24)


def test_issue_check_embed_reencode_halve_excerpt_extract(cctv, tmp_path):
    home = tmp_path / "home"
    marked, leaked = tmp_path / "marked.mp4", tmp_path / "leaked.mp4"
    r = redactor("watermark", "embed", str(cctv), "-o", str(marked), "--entry", "4242",
                 "--text", "열람-2026-0007 · 홍길동", home=home)
    assert r.returncode == 0, r.stderr
    # what a third party does: re-encode at CRF 28, half size, a 10-second excerpt from the middle
    ffmpeg("-ss", "2", "-i", str(marked), "-t", "10", "-vf", "scale=trunc(iw/4)*2:trunc(ih/4)*2", "-c:v", "libx264",
           "-crf", "28", "-an", str(leaked))
    r = redactor("watermark", "extract", str(leaked), "--json", home=home)
    assert r.returncode == 0, r.stdout + r.stderr
    got = json.loads(r.stdout)
    assert got["entry"] == 4242 and got["confidence"] >= 6
    r = redactor("watermark", "extract", str(leaked), home=home)
    assert r.stdout.strip() == "4242"
    # another service's key finds nothing
    r = redactor("watermark", "extract", str(leaked), home=tmp_path / "other")
    assert r.returncode == 1 and "no forensic mark" in r.stdout
    # the visible mark is in every frame: its corner differs from the source in every frame
    src = [f.image for f in decode(cctv)]
    out = [f.image for f in decode(marked)]
    assert len(src) == len(out) == 140
    h, w = src[0].shape[:2]
    corner = (slice(int(h * 0.8), h), slice(int(w * 0.55), w))
    diffs = [np.abs(a[corner].astype(int) - b[corner].astype(int)).mean() for a, b in zip(src, out, strict=True)]
    assert min(diffs) > 8, min(diffs)


def test_unmarked_real_clips_report_nothing(cctv, evaldata, tmp_path):
    clip = tmp_path / "faces.mp4"
    images = sorted(p.name for p in (evaldata / "faces").glob("*.jpg"))[:2]
    subprocess.run([sys.executable, str(TOOLS / "make_clip.py"), str(evaldata / "faces" / "labels.json"),
                    str(evaldata / "faces"), str(clip), "--seconds", "3", "--size", "640x360", "--images", *images],
                   check=True, capture_output=True)
    key = b"k" * 32
    for path in (cctv, clip):
        r = extract_clip(path, key=key)
        assert r.entry is None and r.confidence < 6, (path.name, r)


def test_forensic_mark_is_invisible_enough(cctv):
    from redactor.render.watermark_forensic import ForensicMarker

    m = ForensicMarker(77, key=b"k" * 32)
    frames = [f.image for f, _ in zip(decode(cctv), range(20), strict=False)]
    mse = np.mean([np.mean((m.apply(f, i, i / 10).astype(float) - f) ** 2) for i, f in enumerate(frames)])
    assert 10 * np.log10(255**2 / mse) > 38


def test_release_hooks_mark_inside_an_encode_loop(cctv, tmp_path):
    """What pipeline.render does: hooks (image, index) -> image in its own loop, frame times from index / fps."""
    from fractions import Fraction

    from redactor.media import VideoWriter, probe
    from redactor.render.watermark_forensic import release_hooks

    info = probe(cctv)
    keep = {i: [(0, 0, 200, 200)] for i in range(200)}
    hooks = release_hooks(99, info.width, info.height, info.fps, ["열람-3 · 김민수"], keep_boxes=keep.get,
                          key=b"h" * 32)
    out = tmp_path / "hooked.mp4"
    with VideoWriter(out, info.width, info.height, info.fps, Fraction(1, 12800)) as w:
        for f in decode(cctv):
            image = f.image
            for hook in hooks:
                image = hook(image, f.index)
            w.write(image, round(f.time * 12800))
    assert extract_clip(out, key=b"h" * 32).entry == 99


def test_visible_mark_moves_out_of_the_requesters_way():
    frame = np.full((360, 640, 3), 90, np.uint8)
    vm = VisibleWatermark(["열람-1 · 김민수", "2026-03-02", "열람용 · 복제·배포 금지"], 640, 360)
    x1, y1, x2, y2 = vm.region("bottom-right")
    requester = (x1 + 10, y1 - 50, x2, 360)  # standing in the bottom-right corner
    out = vm.apply(frame, [requester])
    assert vm.place != "bottom-right"
    rx1, ry1, rx2, ry2 = vm.region(vm.place)
    assert rx2 <= requester[0] or rx1 >= requester[2] or ry2 <= requester[1] or ry1 >= requester[3]
    assert np.array_equal(out[requester[1]:, requester[0]:], frame[requester[1]:, requester[0]:])
    with pytest.raises(BadInput):
        vm.apply(np.zeros((100, 100, 3), np.uint8))


@pytest.mark.slow
def test_robustness_sweep(evaldata, vtest, tmp_path):
    """The benchmark's sweep (every attack, two real clips) as a test."""
    sys.path.insert(0, str(ROOT))
    from gpu_benchmarks.watermark_robustness import run

    results = run(out_dir=tmp_path, evaldata=evaldata, vtest=vtest, seconds=24)
    for row in results["attacks"]:
        assert row["entry_ok"], row
    assert all(not r["found"] for r in results["unmarked"])


def test_bad_input_is_one_clear_line(tmp_path):
    junk = tmp_path / "notes.mp4"
    junk.write_text("not a video")
    r = redactor("watermark", "extract", str(junk), home=tmp_path / "home")
    assert r.returncode == 2 and "notes.mp4" in r.stderr and "Traceback" not in r.stderr
    r = redactor("watermark", "embed", str(junk), "-o", str(tmp_path / "o.mp4"), "--entry", "-1", home=tmp_path / "h")
    assert r.returncode == 2 and "Traceback" not in r.stderr and not (tmp_path / "o.mp4").exists()

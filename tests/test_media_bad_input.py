"""Bad input gets a clear one-line error, a non-zero exit, no traceback and nothing at the output path; odd but
valid input (rotated, variable frame rate) is honoured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from clips import bomb_ts, concat_ts, ffmpeg, looped_ts, short_clip, ts_part

from redactor.config import ConfigError
from redactor.errors import BadInput
from redactor.media import decode, probe
from redactor.media.limits import Limits

REDACTOR = [sys.executable, "-m", "redactor"]


def run_redact(src: Path, out: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*REDACTOR, "redact", str(src), "-o", str(out)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


def assert_clean_failure(proc: subprocess.CompletedProcess, out: Path, words: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert words in lines[0].lower(), lines[0]
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.stem}*")), "a partial output was left behind"


@pytest.fixture()
def outdir(tmp_path: Path) -> Path:
    d = tmp_path / "out"
    d.mkdir()
    return d


def test_zero_length_file(tmp_path: Path, outdir: Path) -> None:
    src = tmp_path / "empty.mp4"
    src.touch()
    assert_clean_failure(run_redact(src, outdir / "o.mp4"), outdir / "o.mp4", "empty")


def test_random_bytes(tmp_path: Path, outdir: Path) -> None:
    src = tmp_path / "noise.mp4"
    src.write_bytes(os.urandom(200_000))
    assert_clean_failure(run_redact(src, outdir / "o.mp4"), outdir / "o.mp4", "not a video")


def test_text_file_named_mp4(tmp_path: Path, outdir: Path) -> None:
    src = tmp_path / "notes.mp4"
    src.write_text("this is not a video\n" * 100)
    assert_clean_failure(run_redact(src, outdir / "o.mp4"), outdir / "o.mp4", "not a video")


def test_truncated_file(tmp_path: Path, outdir: Path, vtest: Path) -> None:
    full = short_clip(vtest, tmp_path / "full.mp4", seconds=3, audio=False)
    data = full.read_bytes()
    src = tmp_path / "cut.mp4"
    src.write_bytes(data[: len(data) // 2])
    proc = run_redact(src, outdir / "o.mp4")
    assert_clean_failure(proc, outdir / "o.mp4", "")
    assert any(w in proc.stderr.lower() for w in ("truncated", "corrupt", "cannot open", "not a video"))


def test_unknown_codec(tmp_path: Path, outdir: Path, vtest: Path) -> None:
    avi = tmp_path / "clip.avi"
    ffmpeg("-t", "1", "-i", str(vtest), "-c:v", "mpeg4", "-vtag", "FMP4", str(avi))
    data = avi.read_bytes().replace(b"FMP4", b"QQZ9")  # a fourcc no decoder knows
    src = tmp_path / "unknown.avi"
    src.write_bytes(data)
    proc = run_redact(src, outdir / "o.mp4")
    assert_clean_failure(proc, outdir / "o.mp4", "codec")


def test_resolution_above_limit(tmp_path: Path, outdir: Path, vtest: Path) -> None:
    src = short_clip(vtest, tmp_path / "c.mp4", seconds=1, size="640x480", audio=False)
    proc = run_redact(src, outdir / "o.mp4", env={"REDACTOR_MAX_WIDTH": "320"})
    assert_clean_failure(proc, outdir / "o.mp4", "above the limit")


def test_missing_file(tmp_path: Path, outdir: Path) -> None:
    assert_clean_failure(run_redact(tmp_path / "nope.mp4", outdir / "o.mp4"), outdir / "o.mp4", "no such file")


def test_rotated_clip_is_turned_upright(tmp_path: Path, vtest: Path) -> None:
    src = short_clip(vtest, tmp_path / "c.mp4", seconds=1, size="320x240", audio=False)
    rotated = tmp_path / "rot.mp4"
    ffmpeg("-i", str(src), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(rotated))
    info = probe(rotated)
    assert (info.width, info.height) == (240, 320)
    frames = list(decode(rotated, info.rotation))
    assert frames[0].image.shape[:2] == (320, 240)


def test_variable_frame_rate_keeps_timestamps(tmp_path: Path, vtest: Path) -> None:
    src = short_clip(vtest, tmp_path / "c.mp4", seconds=2, size="160x120", audio=False)
    vfr = tmp_path / "vfr.mp4"
    # Timestamps stretched unevenly: frame i at i*0.1 s for the first half, at 0.2 s steps after.
    ffmpeg("-i", str(src), "-vf", "setpts='if(lt(N,10),N*0.1,1+(N-10)*0.2)/TB'", "-fps_mode", "vfr",
           "-c:v", "libx264", str(vfr))
    src_times = [round(f.time, 2) for f in decode(vfr)]
    assert len(set(round(b - a, 2) for a, b in zip(src_times, src_times[1:], strict=False))) > 1
    from redactor.media import VideoWriter, atomic_output

    info = probe(vfr)
    out = tmp_path / "o.mp4"
    with atomic_output(out) as tmp, VideoWriter(tmp, info.width, info.height, info.fps, info.time_base) as w:
        for f in decode(vfr, info.rotation):
            w.write(f.image, f.pts)
    out_times = [round(f.time, 2) for f in decode(out)]
    assert out_times == src_times


def test_report_and_output_contract(tmp_path: Path, vtest: Path) -> None:
    """A real clip with audio and a title: the output has the same frame count, no audio, no source metadata."""
    src = short_clip(vtest, tmp_path / "c.mp4", seconds=2, size="320x240", audio=True)
    out, report = tmp_path / "o.mp4", tmp_path / "r.json"
    proc = subprocess.run([*REDACTOR, "redact", str(src), "-o", str(out), "--report", str(report)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    streams = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-count_frames",
                                         "-of", "json", str(out)], capture_output=True, text=True).stdout)
    kinds = [s["codec_type"] for s in streams["streams"]]
    assert kinds == ["video"]
    assert streams["streams"][0]["codec_name"] == "h264"
    assert int(streams["streams"][0]["nb_read_frames"]) == probe(src).frames
    assert "secret source title" not in json.dumps(streams["format"])
    r = json.loads(report.read_text())
    for key in ("frames", "fps", "duration", "tracks", "kept", "findings", "models", "input_sha256",
                "output_sha256", "seconds"):
        assert key in r
    assert r["frames"] == probe(src).frames


# ---- limits on what is decoded, not on what the container declares (issue 20) ----

def test_bomb_stream_refused_on_the_frame_that_breaks_the_limit(tmp_path: Path, outdir: Path, vtest: Path) -> None:
    """320x240 for a second, then 6000x6000: the container says 320x240; the decoder is refused the big picture
    (libavcodec's max_pixels), so it is never allocated, and the error says what and where."""
    src = bomb_ts(vtest, tmp_path)
    info = probe(src)
    assert (info.width, info.height) == (320, 240)  # all the container tells
    with pytest.raises(BadInput, match=r"6000x6000 is above the limit 4096x4096") as err:
        for _ in decode(src, info.rotation):
            pass
    assert "\n" not in str(err.value)
    # the whole decode, in a process of its own: its memory stays near a small clip's, far from 5 x 6000x6000
    peak = subprocess.run([sys.executable, "-c", PEAK_RSS, str(src)], capture_output=True, text=True, timeout=120)
    assert peak.returncode == 0, peak.stderr
    assert int(peak.stdout) < 400_000, f"decode peaked at {int(peak.stdout) // 1024} MB"
    out = outdir / "o.mp4"
    proc = subprocess.run([*REDACTOR, "analyze", str(src), "--out", str(out)], capture_output=True, text=True,
                          timeout=600)
    assert_clean_failure(proc, out, "6000x6000 is above the limit")


# VmHWM, the peak of this process's own memory (ru_maxrss would carry over the parent's peak through exec)
PEAK_RSS = """
import sys
from redactor.errors import BadInput
from redactor.media import decode
try:
    for _ in decode(sys.argv[1]):
        pass
except BadInput:
    pass
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def test_looped_stream_counted_as_decoded(tmp_path: Path, outdir: Path, vtest: Path) -> None:
    src = looped_ts(vtest, tmp_path, times=40)
    info = probe(src)
    assert info.frames <= 30  # the container describes one second
    assert sum(1 for _ in decode(src, info.rotation)) == 1000
    out = outdir / "o.json"
    proc = subprocess.run([*REDACTOR, "analyze", str(src), "--out", str(out)], capture_output=True, text=True,
                          env={**os.environ, "REDACTOR_MAX_FRAMES": "30"}, timeout=600)
    assert_clean_failure(proc, out, "more than 30 frames decoded")


def test_picture_size_change_mid_stream_is_refused(tmp_path: Path, vtest: Path) -> None:
    """Within every limit, but 320x240 and then 640x480: the masks, tracker and encoder are laid out for one size."""
    src = concat_ts([ts_part(vtest, tmp_path / "a.ts", "320x240"), ts_part(vtest, tmp_path / "b.ts", "640x480",
                                                                             start=7)], tmp_path / "change.ts")
    info = probe(src)
    seen = []
    with pytest.raises(BadInput, match=r"frame 25 is 640x480 but the stream began at 320x240"):
        for frame in decode(src, info.rotation):
            seen.append(frame.image.shape)
    assert set(seen) == {(240, 320, 3)} and len(seen) == 25


def test_limits_are_read_when_used(tmp_path: Path, vtest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = short_clip(vtest, tmp_path / "c.mp4", seconds=2, size="320x240", audio=False)
    assert probe(src).width == 320
    monkeypatch.setenv("REDACTOR_MAX_PIXELS", str(320 * 240 - 1))
    with pytest.raises(BadInput, match="REDACTOR_MAX_PIXELS"):
        probe(src)
    monkeypatch.delenv("REDACTOR_MAX_PIXELS")
    monkeypatch.setenv("REDACTOR_MAX_FRAMES", "not a number")
    with pytest.raises(ConfigError, match="REDACTOR_MAX_FRAMES"):
        probe(src)


def test_duration_and_pixel_rate_by_decoded_timestamps(tmp_path: Path, vtest: Path) -> None:
    src = short_clip(vtest, tmp_path / "c.mp4", seconds=2, size="320x240", audio=False)  # 10 fps
    base = Limits.current()
    with pytest.raises(BadInput, match=r"frame 10 is at 1.00 s, above the limit 0.95 s"):
        list(decode(src, limits=replace(base, seconds=0.95)))
    # 10 frames a second of 76,800 pixels: 768,000 a second; a limit of 300,000 holds for the first second's grace
    with pytest.raises(BadInput, match="REDACTOR_MAX_PIXEL_RATE") as err:
        list(decode(src, limits=replace(base, pixel_rate=300_000)))
    assert "by 0." in str(err.value)
    assert len(list(decode(src, limits=replace(base, pixel_rate=800_000)))) == 20
    # the default limits: a day at 30 fps
    assert base.frames == 24 * 3600 * 30 and base.seconds == 24 * 3600

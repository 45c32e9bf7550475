"""Long recordings split across workers (issue 18): keyframe-aligned segments with overlap, each decoded alone with
the whole clip's indices and timestamps, tracks stitched through the overlap, encoded segments joined without
re-encoding into the source's frame count and no audio; the command line's `redact --segments N` gives the unsplit
run's result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from clips import ffmpeg

from redactor.audit import same_boxes
from redactor.jobs.segments import Plan, audit_request, join, plan, remask, render_segment, stitch
from redactor.media import decode, probe
from redactor.track.masks import plan_masks
from redactor.track.table import Track, TrackTable

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def long_clip(vtest: Path, tmp_path_factory) -> Path:
    """12 s of real footage at 10 fps (120 frames) with a keyframe every 2 s and an audio track (never carried)."""
    out = tmp_path_factory.mktemp("segments") / "long.mp4"
    ffmpeg("-ss", "5", "-t", "12", "-i", str(vtest), "-f", "lavfi", "-t", "12", "-i", "sine=frequency=440",
           "-vf", "scale=320:240", "-r", "10", "-c:v", "libx264", "-g", "20", "-pix_fmt", "yuv420p", "-c:a", "aac",
           "-shortest", str(out))
    return out


def test_plan_cuts_at_keyframes_with_overlap(long_clip: Path) -> None:
    p = plan(long_clip, 3, overlap=1.5)
    assert p.frames == 120 and len(p.segments) == 3
    segs = p.segments
    assert segs[0].start == 0 and segs[-1].end == 120
    assert all(a.end == b.start for a, b in zip(segs, segs[1:], strict=False))  # every frame owned once
    for s in segs:
        assert s.start % 20 == 0 and s.read_from % 20 == 0  # keyframes (-g 20)
        assert s.read_from <= max(0, s.start - 15) and s.read_to >= min(120, s.end + 15)  # 1.5 s either side
    assert Plan.from_json(json.loads(json.dumps(p.to_json()))) == p
    assert len(plan(long_clip, 40, overlap=1.5).segments) <= 4  # never shorter than twice the overlap


def test_a_segment_decodes_the_clips_own_frames(long_clip: Path) -> None:
    whole = list(decode(long_clip))
    p = plan(long_clip, 3, overlap=1.5)
    seg = p.segments[1]
    for span, first in ((seg.analysis_span(p.origin_pts), seg.read_from), (seg.render_span(p.origin_pts), seg.start)):
        part = list(decode(long_clip, span=span))
        assert [f.index for f in part] == list(range(first, first + span.count))
        for f in part:
            ref = whole[f.index]
            assert (f.pts, f.time) == (ref.pts, ref.time)
            assert np.array_equal(f.image, ref.image)


def _track(tid: int, frames: range, x0: float) -> dict:
    fr = np.array(list(frames))
    boxes = np.column_stack([x0 + fr, np.full(len(fr), 50.0), x0 + fr + 20, np.full(len(fr), 80.0)])
    return Track(tid, "face", fr, boxes.astype(np.float32), np.full(len(fr), 0.9, np.float32),
                 sources=["yunet"] * len(fr)).to_json()


def test_stitch_joins_a_track_through_the_overlap(long_clip: Path) -> None:
    p = plan(long_clip, 2, overlap=1.5)
    a, b = p.segments
    assert a.end == 60 and b.read_from <= 45 and a.read_to >= 75
    parts = [{"index": 0, "read_from": 0, "tracks": [_track(5, range(0, a.read_to, 2), 0)],
              "motion": [[1, 0, 0, 0, 1, 0]] * (a.read_to - a.read_from), "models": {}, "params": {"stride": 4}},
             {"index": 1, "read_from": b.read_from,
              # the same face seen again (a keyframe phase apart), and one that left before the segment's own frames
              "tracks": [_track(1, range(b.read_from + 1, 120, 2), 0), _track(2, range(b.read_from, 55), 200)],
              "motion": [[1, 0, 0, 0, 1, 0]] * (b.read_to - b.read_from), "models": {}, "params": {"stride": 4}}]
    table = stitch({"fps": 10.0}, p, parts)
    assert len(table.tracks) == 1, [(t.id, t.frames[[0, -1]]) for t in table.tracks]
    t = table.tracks[0]
    assert t.frames[0] == 0 and t.frames[-1] == 119 and np.all(np.diff(t.frames) > 0)
    assert set(t.frames[t.frames < 60] % 2) == {0} and set(t.frames[t.frames >= 60] % 2) == {1}  # each its owner's
    assert len(table.motion) == 120 and table.frames == 120 and table.params["segments"] == 2


def test_segments_encode_apart_and_join_into_the_clip(long_clip: Path, tmp_path: Path) -> None:
    """Each segment's frames encoded by itself, joined without re-encoding: the source's frame count and timestamps,
    no audio, and the masks where the table puts them."""
    info = probe(long_clip)
    p = plan(long_clip, 3, overlap=1.5)
    box = np.array([[100, 60, 160, 140]], np.float32)
    track = Track(1, "face", np.arange(120), np.repeat(box, 120, 0), np.full(120, 0.9, np.float32))
    table = TrackTable(video={}, frames=120, models={}, params={}, tracks=[track])
    parts = []
    for seg in p.segments:
        out = tmp_path / f"part{seg.index}.mp4"
        done = render_segment(long_clip, table, p, seg.index, out, threads=1)
        assert done["frames"] == seg.end - seg.start
        parts.append(out)
    joined = tmp_path / "joined.mp4"
    assert join(parts, [s.start_time for s in p.segments], joined) == 120
    with av.open(str(joined)) as c:
        assert not c.streams.audio and len(c.streams.video) == 1
    out_frames = list(decode(joined))
    assert len(out_frames) == info.frames == 120
    src_times = [f.time for f in decode(long_clip)]
    assert np.allclose([f.time for f in out_frames], src_times, atol=1e-3)
    masked = plan_masks(table)
    for f in out_frames[::17]:
        x1, y1, x2, y2 = masked[f.index][0].astype(int)
        inside = f.image[y1 + 4:y2 - 4, x1 + 4:x2 - 4].astype(int)
        assert inside.std() < 4  # a solid mask survives the encode, in every segment


def test_a_remask_round_renders_again_only_the_segments_its_findings_touch(long_clip: Path) -> None:
    """The audit of each segment's render looks at the frames redact audits in one piece; a finding in one segment
    becomes a mask there, and only that segment is rendered again, with only its audited frames whose masks changed
    audited again."""
    p = plan(long_clip, 3, overlap=1.5)
    box = np.array([[100, 60, 160, 140]], np.float32)
    track = Track(1, "face", np.arange(0, 120, 4), np.repeat(box, 30, 0), np.full(30, 0.9, np.float32))
    table = TrackTable(video={}, frames=120, models={}, params={"stride": 4}, tracks=[track])
    assert audit_request(table) == {"stride": 2, "offset": 1, "only": None}  # pipeline.redact's: the odd frames
    before = plan_masks(table)
    mid = p.segments[1]
    at = (mid.start + mid.end) // 2
    finding = {"frame": at, "label": "face", "box": [250.0, 20.0, 280.0, 60.0], "score": 0.8}
    only, redo = remask(table, p, [finding], {at - 1, at + 1, 3, mid.end + 7})
    assert redo == {1}
    assert only == {at - 1, at + 1}
    assert len(table.tracks) == 2 and table.tracks[1].sources == ["audit"] and table.tracks[1].id == 2
    after = plan_masks(table)
    changed = {f for f in set(before) | set(after) if not same_boxes(before.get(f), after.get(f))}
    assert changed and all(mid.start <= f < mid.end for f in changed) and at in changed
    # a segment's own masks, planned for its frames alone, are the whole plan's there
    own = plan_masks(table, window=(mid.start, mid.end))
    assert set(own) == {f for f in after if mid.start <= f < mid.end}
    assert all(np.array_equal(own[f], after[f]) for f in own)


def masked_share(table: TrackTable, width: int, height: int) -> float:
    total = 0
    for boxes in plan_masks(table).values():
        mask = np.zeros((height, width), bool)
        for x1, y1, x2, y2 in boxes.clip(0):
            mask[int(y1):int(np.ceil(y2)), int(x1):int(np.ceil(x2))] = True
        total += int(mask.sum())
    return total / (width * height * table.frames)


@pytest.mark.slow  # two CPU analyses of 120 frames and two renders with their audits (a few minutes here)
def test_redact_in_segments_gives_the_unsplit_result(long_clip: Path, tmp_path: Path) -> None:
    runs = {}
    for n in (1, 3):
        out, report, tracks = tmp_path / f"out{n}.mp4", tmp_path / f"report{n}.json", tmp_path / f"tracks{n}.json"
        cmd = [sys.executable, "-m", "redactor", "analyze", str(long_clip), "--out", str(tracks), "--segments", str(n)]
        subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
        res = subprocess.run([sys.executable, "-m", "redactor", "redact", str(long_clip), "-o", str(out),
                              "--report", str(report), "--segments", str(n)], cwd=ROOT, capture_output=True,
                             text=True)
        assert res.returncode == 0, res.stderr[-2000:]
        runs[n] = (out, json.loads(report.read_text()), TrackTable.load(tracks))
    info = probe(long_clip)
    for out, report, table in runs.values():
        got = probe(out)
        assert not got.has_audio
        assert sum(1 for _ in decode(out)) == info.frames == report["frames"] == table.frames
    share1 = masked_share(runs[1][2], info.width, info.height)
    share3 = masked_share(runs[3][2], info.width, info.height)
    assert share1 > 0.005  # people are masked: the comparison is not of two empty clips
    assert abs(share1 - share3) <= 0.002, (share1, share3)

"""A reviewer's edits of a track table: a manual box followed by Lucas-Kanade flow forward and backward until lost,
and a split; both leave the table they were given unchanged (the evidence)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from make_identity_clips import make_clips

from redactor.errors import BadInput
from redactor.media import decode
from redactor.track.edits import add_manual_track, follow, split_track
from redactor.track.masks import plan_masks, tracks_at
from redactor.track.table import Track, TrackTable


def _iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
    return iw * ih / u if u > 0 else 0.0


def _table(frames: int = 30) -> TrackTable:
    t = Track(id=3, label="person", frames=np.arange(0, 20, 4), boxes=np.tile([[10, 10, 50, 110]], (5, 1)).astype(
        np.float32), scores=np.ones(5, np.float32), sources=["yolo"] * 5)
    face = Track(id=4, label="face", frames=np.array([12, 16]), boxes=np.array([[20, 12, 40, 30]] * 2, np.float32),
                 scores=np.ones(2, np.float32), parent=3, embeddings=[[0.1] * 128])
    return TrackTable(video={"width": 320, "height": 240}, frames=frames, models={}, params={}, tracks=[t, face])


def test_split_makes_two_tracks_and_leaves_the_original():
    table = _table()
    edited, first, second = split_track(table, 3, 10)
    assert list(first.frames) == [0, 4, 8] and list(second.frames) == [12, 16] and second.id == 5
    assert edited.by_id()[4].parent == 5  # the face that starts after the split follows the new part
    assert len(table.by_id()[3].frames) == 5 and table.by_id()[4].parent == 3  # the given table is untouched
    with pytest.raises(BadInput):
        split_track(table, 3, 0)
    with pytest.raises(BadInput):
        split_track(table, 99, 5)


def test_manual_track_is_masked_and_interpolated():
    table = _table()
    edited, track = add_manual_track(table, "face", np.array([2, 6]), np.array([[100, 100, 120, 124],
                                                                                [110, 100, 130, 124]]), "clerk")
    assert track.sources == ["manual", "manual"] and track.added_by == "clerk"
    at4 = dict((t.id, box) for t, box in tracks_at(edited, 4))
    assert np.allclose(at4[track.id], [105, 100, 125, 124])
    assert any(np.all(b[:2] < [105, 100]) for b in plan_masks(edited)[4])
    again = Track.from_json(json.loads(json.dumps(track.to_json())))
    assert again.added_by == "clerk"
    with pytest.raises(BadInput):
        add_manual_track(table, "cat", np.array([1]), np.array([[0, 0, 5, 5]]), "clerk")


def test_follow_carries_a_face_forward_and_back(tmp_path):
    clip = make_clips(tmp_path, clips=1, frames=30, seed=2)[0]
    gt = json.loads(clip.with_suffix(".gt.json").read_text())
    frames = [f.image for f in decode(clip)]

    def frames_from(a, b):
        for n in range(a, min(b, len(frames))):
            yield n, frames[n]

    ious, both_ways = [], 0
    for who in gt["people"]:
        rows = {int(f): b["box"] for f, v in gt["boxes"].items() for b in v if b["who"] == who}
        start = sorted(rows)[len(rows) // 4]  # before the paths cross (where a face may be lost under another)
        got_f, got_b = follow(frames_from, len(frames), start, np.array(rows[start]))
        both_ways += bool(got_f[0] < start < got_f[-1])
        got = dict(zip(got_f.tolist(), got_b, strict=True))
        ious += [_iou(got[f], rows[f]) if f in got else 0.0 for f in rows]
    assert both_ways and np.mean(ious) >= 0.5, (both_ways, np.mean(ious))

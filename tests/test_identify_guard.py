"""The identity guard's rules on a track's per-frame checks: an isolated mismatch is masked in its frame, a
persisting one masks the track from the frame after its last match to its end; steady matches in a track not kept
become a kept track of the verified boxes. (The whole guard on real clips: tests/test_keep_identity.py.)"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from redactor.identify.guard import PAD_AFTER, Check, IdentityGuard, dense_boxes
from redactor.track.table import Track, TrackTable


def _table() -> TrackTable:
    frames = np.arange(0, 20)
    boxes = np.array([[100 + 2 * f, 100, 140 + 2 * f, 150] for f in frames], np.float32)
    kept = Track(id=1, label="face", frames=frames, boxes=boxes, scores=np.ones(20, np.float32))
    other = Track(id=2, label="face", frames=frames, boxes=boxes + 200, scores=np.ones(20, np.float32))
    return TrackTable(video={}, frames=20, models={}, params={}, tracks=[kept, other])


def _checks(scores: dict[int, float], track: Track) -> list[Check]:
    return [Check(f, s, track.boxes[f], clear=True) for f, s in scores.items()]


def test_isolated_mismatch_masks_only_its_frame():
    table = _table()
    guard = IdentityGuard(table, [1], "unused.mp4")
    t = table.by_id()[1]
    masks = defaultdict(list)
    guard._swaps(t, _checks({0: 0.7, 3: 0.1, 5: 0.7, 9: 0.6}, t), dense_boxes(t), masks)
    assert sorted(masks) == [3]
    assert not guard.events


def test_persisting_mismatch_masks_track_to_its_end_and_is_reported():
    table = _table()
    guard = IdentityGuard(table, [1], "unused.mp4")
    t = table.by_id()[1]
    masks = defaultdict(list)
    guard._swaps(t, _checks({0: 0.7, 4: 0.8, 8: 0.1, 10: 0.05, 12: 0.9}, t), dense_boxes(t), masks)
    # masked from the frame after the last match (4) to the end, plus the render's padding in time
    assert set(range(5, 20 + PAD_AFTER)) <= set(masks)
    assert not set(range(0, 5)) & set(masks)
    assert guard.events[0]["event"] == "identity mismatch" and guard.events[0]["from_frame"] == 5
    # a mask covers the track's box in a frame after the swap, even where the match came back (frame 12)
    box = masks[12][-1]
    tb = t.boxes[12]
    assert box[0] <= tb[0] and box[1] <= tb[1] and box[2] >= tb[2] and box[3] >= tb[3]


def test_steady_matches_in_another_track_become_a_kept_track():
    table = _table()
    guard = IdentityGuard(table, [1], "unused.mp4")
    other = table.by_id()[2]
    guard._candidates(_checks({2: 0.5, 3: 0.6, 4: 0.55, 5: 0.7, 9: 0.9, 15: 0.1}, other))  # one run of 4
    guard._candidates(_checks({16: 0.9, 17: 0.9}, other))  # too short: could be a false accept
    guard._add_segments()
    assert len(guard.added) == 1
    added = table.by_id()[guard.added[0]]
    assert added.frames.tolist() == [2, 3, 4, 5] and added.id in guard.keep
    assert sorted(guard._visible) == [2, 3, 4, 5]

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


def _face_track(tid: int, frames: list[int], x0: float, step: float) -> Track:
    f = np.asarray(frames, np.int64)
    boxes = np.array([[x0 + step * k, 200, x0 + step * k + 44, 260] for k in f], np.float32)
    return Track(id=tid, label="face", frames=f, boxes=boxes, scores=np.ones(len(f), np.float32))


def test_gaps_between_chosen_face_tracks_are_searched_where_the_face_was_going():
    # the requester's face lost for frames 13-15 between two chosen pieces; a third piece too far away to be reached
    # at a face's pace; a track not chosen is never bridged to
    a, b = _face_track(1, [0, 4, 8, 12], 400, -10), _face_track(2, [16, 19], 400, -10)
    far = _face_track(3, [23, 24], 40, 0)
    other = _face_track(4, [20, 22], 400, -10)
    table = TrackTable(video={"fps": 10.0}, frames=40, models={}, params={}, tracks=[a, b, far, other])
    gaps = IdentityGuard(table, [1, 2, 3], "unused.mp4")._face_gaps()
    assert sorted(gaps) == [13, 14, 15]  # between pieces 1 and 2; not on to 3 (too far for a face) nor 4 (not chosen)
    assert np.allclose(gaps[14], [260, 200, 304, 260])  # where the face's pace puts it
    # a gap longer than LINK_GAP_S is not bridged
    late = _face_track(2, [60, 64], 400 - 600, -10)
    table = TrackTable(video={"fps": 10.0}, frames=80, models={}, params={}, tracks=[a, late])
    assert not IdentityGuard(table, [1, 2], "unused.mp4")._face_gaps()


def test_a_face_in_a_gap_is_shown_only_when_sface_verifies_it():
    """Real YuNet and SFace on a frame with a pasted face in the gap region: the requester's face is put back and
    exempt from the audit; a stranger's face there is masked."""
    import json

    import cv2
    from conftest import SHARED
    from make_identity_clips import paste, sprite

    from redactor.identify.guard import GAP
    from redactor.identify.propose import embed_photo
    from redactor.identify.sface import SFace

    root = SHARED / "evaldata" / "identities"
    people = json.loads((root / "labels.json").read_text())["people"]
    me, stranger = sorted(people)[:2]
    photos = sorted(people[me]["photos"])
    ref = embed_photo(root / me / photos[0]).embedding[None]
    a, b = _face_track(1, [0, 4, 8, 12], 400, -10), _face_track(2, [16, 19], 400, -10)
    table = TrackTable(video={"fps": 10.0}, frames=40, models={}, params={}, tracks=[a, b])
    sface = SFace()
    for who, photo, shown in ((me, photos[1], True), (stranger, sorted(people[stranger]["photos"])[0], False)):
        guard = IdentityGuard(table, [1, 2], "unused.mp4")
        box = guard._face_gaps()[14]
        image = np.full((480, 640, 3), 90, np.uint8)
        img, alpha, fb = sprite(cv2.imread(str(root / who / photo)), people[who]["photos"][photo]["face"], 60)
        paste(image, np.zeros(image.shape[:2], np.int16), 0, img, alpha, int(box[0] - fb[0]), int(box[1] - fb[1]))
        checks, masks = defaultdict(list), defaultdict(list)
        guard._masks = {}
        guard._check(image, 14, [(GAP, box)], ref, sface, checks, masks)
        assert checks[GAP.id], who  # the face was found where the requester was going
        assert bool(len(guard._visible.get(14, ()))) is shown, (who, checks[GAP.id])
        assert bool(len(guard.verified(14))) is shown
        assert bool(masks.get(14)) is not shown  # a stranger's face there is masked

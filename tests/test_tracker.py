"""The tracker's ids (redactor.track.tracker): one track a face from the clip's first keyframe on, one box an id."""

from __future__ import annotations

import numpy as np

from redactor.detect.types import LABEL_ID, Detections
from redactor.track.tracker import MultiLabelTracker

FACES = np.array([[100, 100, 140, 150], [300, 100, 340, 150]], np.float32)
SCORES = np.array([0.9, 0.8], np.float32)


def _walk(frames: int, stride: int = 4) -> list[np.ndarray]:
    """Two faces moving right a pixel a frame: detected on keyframes, carried (with their ids) between them, as
    redactor.pipeline.track_frames feeds the tracker."""
    tracker = MultiLabelTracker()
    out = tracker.update(Detections.of(FACES, SCORES, "face", "yunet"))
    ids = [out.track_ids.copy()]
    for f in range(1, frames):
        moved = FACES + f
        if f % stride:
            dets = Detections(moved, SCORES, np.full(2, LABEL_ID["face"], np.int16), out.track_ids, ("flow",) * 2)
        else:
            dets = Detections.of(moved, SCORES, "face", "yunet")
        out = tracker.update(dets)
        ids.append(out.track_ids.copy())
    return ids


def test_faces_of_the_first_keyframe_keep_one_track_each():
    # ByteTrack confirms a track on its second update: before the fix the first frame's boxes were tracks of their
    # own, and a requester clicked at frame 0 was kept at frame 0 only
    ids = _walk(12)
    assert all(sorted(i.tolist()) == sorted(ids[0].tolist()) for i in ids), ids
    assert len(set(ids[0].tolist())) == 2


def test_no_id_is_given_to_two_boxes_of_a_frame():
    tracker = MultiLabelTracker()
    out = tracker.update(Detections.of(FACES, SCORES, "face", "yunet"))
    # both carried boxes claim the first face's id: only one may keep it
    same = np.array([out.track_ids[0], out.track_ids[0]])
    out = tracker.update(Detections(FACES + 1, SCORES, np.full(2, LABEL_ID["face"], np.int16), same, ("flow",) * 2))
    assert len(set(out.track_ids.tolist())) == 2

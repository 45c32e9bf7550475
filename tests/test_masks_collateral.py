"""Mask padding where it buys recall, not collateral (issue 13): large faces, capped growth, audit re-masks, heads a
face mask already covers."""

from __future__ import annotations

import numpy as np

from redactor.track.masks import MaskParams, plan_masks
from redactor.track.table import Track, TrackTable


def _table(*tracks: Track, frames: int = 40, stride: int = 4) -> TrackTable:
    return TrackTable(video={}, frames=frames, models={}, params={"stride": stride}, tracks=list(tracks))


def _face(tid: int, frames: list[int], box: list[float], score: float, sources: list[str] | None = None) -> Track:
    return Track(id=tid, label="face", frames=np.array(frames), boxes=np.float32([box] * len(frames)),
                 scores=np.float32([score] * len(frames)), sources=sources or [])


def _width(masks: dict[int, np.ndarray], frame: int) -> float:
    b = masks[frame][0]
    return float(b[2] - b[0])


def test_large_faces_get_a_smaller_share_of_padding_and_growth_is_capped() -> None:
    p = MaskParams()
    small = plan_masks(_table(_face(1, [20], [100, 100, 124, 124], 0.9)), set(), p)
    large = plan_masks(_table(_face(1, [20], [100, 100, 400, 400], 0.9)), set(), p)
    assert abs(_width(small, 20) - 24 * (1 + 2 * p.face_pad)) < 0.01
    assert abs(_width(large, 20) - 300 * (1 + 2 * p.face_pad_large)) < 0.01
    # far from the track's end the padding stops growing at grow_max
    far = 20 - p.pad_before - 3
    assert abs(_width(small, far) - 24 * (1 + 2 * p.face_pad * p.grow_max)) < 0.01


def test_audit_finding_remask_padding() -> None:
    p = MaskParams()
    found = _face(1, [10], [100, 100, 120, 120], 0.4, ["audit"])
    masks = plan_masks(_table(found), set(), p)
    assert sorted(masks) == list(range(8, 13))
    assert abs(_width(masks, 10) - 20 * (1 + 2 * p.audit_pad)) < 0.01


def test_head_from_body_left_out_where_a_face_mask_covers_it() -> None:
    """A small person whose head a face track already masks gets no second, head-region mask there; where the face
    track is absent, the head is masked from the body box."""
    p = MaskParams()
    person = Track(id=2, label="person", frames=np.array([0, 30]), boxes=np.float32([[100, 100, 120, 160]] * 2),
                   scores=np.float32([0.8, 0.8]))
    heads = plan_masks(_table(person, frames=40, stride=1), set(), p)
    assert all(len(heads[f]) == 1 for f in range(0, 31))
    face = _face(1, [10, 20], [103, 99, 117, 113], 0.9)
    both = plan_masks(_table(person, face, frames=40, stride=1), set(), p)
    assert len(both[15]) == 1  # the face's mask alone: it covers the head region
    assert len(both[0]) == 1 and abs(both[0][0][0] - heads[0][0][0]) < 0.01  # before the face track's padding
    assert len(both[30]) == 1 and abs(both[30][0][0] - heads[30][0][0]) < 0.01  # the head mask, no face there

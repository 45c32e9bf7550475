"""Data checked where it is made (issue 17): a Track, Detections or TrackTable that would fail open is refused at
construction, never skipped later by render."""

import json

import numpy as np
import pytest

from redactor.detect.types import Detections
from redactor.errors import BadInput
from redactor.track.masks import plan_masks
from redactor.track.table import Track, TrackTable


def _track(**kw) -> Track:
    d = dict(id=1, label="face", frames=[0, 1, 2], boxes=[[0, 0, 10, 10]] * 3, scores=[0.9] * 3)
    return Track(**(d | kw))


def test_unknown_label_raises():
    with pytest.raises(ValueError, match="unknown label 'fase'"):
        _track(label="fase")


@pytest.mark.parametrize("frames", [[0, 2, 1], [0, 1, 1], [-1, 0, 1]])
def test_frames_out_of_order_raise(frames):
    with pytest.raises(ValueError, match="increasing"):
        _track(frames=frames)


def test_unequal_lengths_raise():
    with pytest.raises(ValueError, match="3 frames but 2 boxes"):
        _track(boxes=[[0, 0, 10, 10]] * 2)
    with pytest.raises(ValueError, match="scores"):
        _track(scores=[0.9])
    with pytest.raises(ValueError, match="sources"):
        _track(sources=["yunet"])
    with pytest.raises(ValueError, match="finite"):
        _track(boxes=[[0, 0, 10, float("nan")]] * 3)


def test_a_valid_track_is_masked_in_every_frame():
    t = _track()
    assert t.frames.dtype == np.int64 and t.boxes.shape == (3, 4)
    table = TrackTable(video={}, frames=3, models={}, params={"stride": 1}, tracks=[t])
    plan = plan_masks(table, keep=set())
    assert all(len(plan.get(f, [])) for f in range(3)), plan


def test_table_with_bad_track_is_a_bad_input(tmp_path):
    table = TrackTable(video={}, frames=3, models={}, params={}, tracks=[_track()])
    d = table.to_json()
    d["tracks"][0]["label"] = "fase"
    path = tmp_path / "t.json"
    path.write_text(json.dumps(d))
    with pytest.raises(BadInput, match="unknown label"):
        TrackTable.load(path)
    with pytest.raises(ValueError, match="unique"):
        TrackTable(video={}, frames=3, models={}, params={}, tracks=[_track(), _track()])


def test_detections_track_ids_must_match_and_survive_merge():
    with pytest.raises(ValueError, match="track ids"):
        Detections(np.zeros((1, 4)), [0.5], [0], track_ids=[1, 2])
    a = Detections(np.zeros((1, 4)), [0.5], [0], track_ids=[7])
    b = Detections(np.ones((2, 4)), [0.5, 0.6], [1, 1], track_ids=[8, 9])
    assert list(Detections.merge([a, b]).track_ids) == [7, 8, 9]

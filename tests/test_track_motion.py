"""Camera motion and mask planning: padding in time follows the picture when the camera pans."""

from __future__ import annotations

import cv2
import numpy as np

from redactor.track.masks import MaskParams, plan_masks
from redactor.track.motion import CameraMotion, apply, invert
from redactor.track.table import Track, TrackTable


def test_pan_is_measured_on_real_footage(testdata) -> None:
    frame = cv2.imread(str(testdata / "pexels_double_decker_bus.jpg"))
    camera = CameraMotion()
    camera.update(frame)
    shifted = cv2.warpAffine(frame, np.float32([[1, 0, 7], [0, 1, -4]]), (frame.shape[1], frame.shape[0]),
                             borderMode=cv2.BORDER_REPLICATE)
    m = camera.update(shifted)
    assert abs(m[0, 2] - 7) < 1.0 and abs(m[1, 2] + 4) < 1.0
    assert abs(m[0, 0] - 1) < 0.01


def test_apply_and_invert_round_trip() -> None:
    m = np.float32([[1.1, 0, 5], [0, 1.1, -3]])
    boxes = np.float32([[10, 20, 30, 40]])
    assert np.allclose(apply(invert(m), apply(m, boxes)), boxes, atol=1e-3)


def test_one_frame_track_padding_follows_the_camera() -> None:
    """A face seen in one frame only, camera panning 5 px a frame: the padded masks move with the picture; without
    the measured motion they would stay put and miss the face two frames later."""
    frames = 12
    motion = [[1, 0, 5, 0, 1, 0]] * frames
    track = Track(id=1, label="face", frames=np.array([6]), boxes=np.float32([[100, 50, 108, 58]]),
                  scores=np.float32([0.9]))
    table = TrackTable(video={}, frames=frames, models={}, params={}, tracks=[track], motion=motion)
    masks = plan_masks(table, set(), MaskParams(pad_before=4, pad_after=4, min_pad_px=0, face_pad=0.0))
    for k in (-4, -2, 2, 4):
        box = masks[6 + k][0]
        centre = (box[0] + box[2]) / 2
        assert abs(centre - (104 + 5 * k)) < 0.5, (k, box)
    still = TrackTable(video={}, frames=frames, models={}, params={}, tracks=[track])
    assert abs((plan_masks(still, set())[10][0][0] + plan_masks(still, set())[10][0][2]) / 2 - 104) < 0.5


def _shaken(frames: int, step: float = 14.0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Three 12 px faces on a still scene, the camera shaking by `step` px a frame (left-right, up-down): each
    frame's boxes and the camera motion into it."""
    rng = np.random.default_rng(5)
    faces = np.float32([[100, 100, 112, 112], [130, 100, 142, 112], [100, 140, 112, 152]])
    offset, boxes, motion = np.zeros(2, np.float32), [], []
    for _ in range(frames):
        shift = rng.choice([-step, step], 2).astype(np.float32)
        offset += shift
        boxes.append(faces + np.tile(offset, 2))
        motion.append(np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]))
    return boxes, motion


def test_tracker_follows_faces_through_camera_shake() -> None:
    """ByteTrack's Kalman filter alone loses 12 px faces the camera throws 14 px a frame (new ids again and again);
    given the measured camera motion, each face keeps one track for the whole shake (from its second frame: ByteTrack
    confirms a track a frame after its birth, and the planner joins that first frame to it, see the next test)."""
    from redactor.detect.types import LABEL_ID, Detections
    from redactor.track.tracker import MultiLabelTracker

    boxes, motion = _shaken(24)

    def ids(with_camera: bool) -> set[int]:
        tracker, seen = MultiLabelTracker(lost_frames=10), set()
        for i, (b, m) in enumerate(zip(boxes, motion, strict=True)):
            dets = Detections(b, np.full(len(b), 0.9), np.full(len(b), LABEL_ID["face"]))
            ids = tracker.update(dets, m if with_camera and i else None).track_ids.tolist()
            seen |= set(ids) if i else set()
        return seen

    assert len(ids(True)) == 3
    assert len(ids(False)) > 6


def test_fragments_of_one_face_are_masked_as_one_track() -> None:
    """A low-score face is one track per keyframe (ByteTrack starts none under its activation score): joined by the
    planner, it is padded in time at its ends only, so the frames in its life get no grown copies of its mask."""
    pieces = [Track(id=i + 1, label="face", frames=np.arange(4 * i, 4 * i + 4),
                    boxes=np.tile(np.float32([[100, 50, 112, 62]]), (4, 1)), scores=np.full(4, 0.2, np.float32))
              for i in range(5)]  # frames 0-19, stride 4
    table = TrackTable(video={}, frames=40, models={}, params={"stride": 4}, tracks=pieces,
                       motion=[[1, 0, 0, 0, 1, 0]] * 40)
    masks = plan_masks(table, set(), MaskParams(pad_after=4))
    assert all(len(masks[f]) == 1 for f in range(20))  # one mask a frame, not the pieces' padded copies
    assert np.allclose(masks[10][0], masks[0][0])  # inside its life, no growth
    assert max(masks) == 23  # padded after the chain's end (pad_after 4)
    apart = plan_masks(table, set(), MaskParams(pad_after=4, join_gap=0, join_iou=1.1))
    assert len(apart[10]) > 1


def test_masks_are_not_padded_across_a_cut() -> None:
    """A face first seen at a cut (frame 15) was not in the frames before it: another picture; nor is a face last
    seen before the cut masked after it."""
    before = Track(id=1, label="face", frames=np.arange(8, 15), boxes=np.tile(np.float32([[10, 10, 30, 30]]), (7, 1)),
                   scores=np.full(7, 0.9, np.float32))
    after = Track(id=2, label="face", frames=np.arange(15, 22), boxes=np.tile(np.float32([[10, 10, 30, 30]]), (7, 1)),
                  scores=np.full(7, 0.9, np.float32))
    table = TrackTable(video={}, frames=30, models={}, params={"stride": 4}, tracks=[before, after], cuts=[15])
    params = MaskParams(pad_before=4, pad_after=4)
    masks = plan_masks(table, set(), params)
    assert all(len(masks[f]) == 1 for f in range(8, 22))  # neither joined nor padded into the other's picture
    assert min(masks) == 1 and max(masks) == 25  # padded on the sides without a cut (4 + stride - 1 before)
    uncut = plan_masks(TrackTable(video={}, frames=30, models={}, params={"stride": 4}, tracks=[before, after]),
                       set(), params)
    assert len(uncut[15]) >= 1

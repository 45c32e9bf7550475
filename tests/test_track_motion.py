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

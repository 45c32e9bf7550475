"""Carry a keyframe's detections through the frames until the next keyframe, by sparse optical flow on each box.

The detectors run on keyframes only (every `stride`-th frame). A person walking across a 10 fps CCTV picture moves
more than a face's width in 4 frames, so boxes from two keyframes often do not overlap: the tracker could not tell
it is the same face, and masks held still between keyframes would slide off it. Moving each box with the picture
inside it (the median Lucas-Kanade motion of a few points in its centre) gives the tracker a box on every frame and
the masks a path that follows the face. The carried boxes are not detections: they live only until the next
keyframe, which replaces them with what the detectors find there (so drift lasts at most stride - 1 frames)."""

from __future__ import annotations

import cv2
import numpy as np

from redactor.detect.types import Detections
from redactor.track.motion import apply

WORK_WIDTH = 960  # px: boxes are followed on a grey copy at most this wide
_GRID = np.array([0.3, 0.5, 0.7], np.float32)  # points at these fractions of a box's width and height
_LK = {"winSize": (15, 15), "maxLevel": 3, "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03)}


def work_grey(image: np.ndarray) -> tuple[np.ndarray, float]:
    """The grey copy boxes are followed on, and its scale from the frame's pixels."""
    h, w = image.shape[:2]
    scale = min(1.0, WORK_WIDTH / w)
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if scale < 1.0:
        grey = cv2.resize(grey, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return grey, scale


class BoxFlow:
    def __init__(self) -> None:
        self._live = Detections.empty()
        self._grey: np.ndarray | None = None
        self._scale = 1.0

    def seed(self, dets: Detections, grey: np.ndarray, scale: float) -> None:
        """A keyframe: its tracked detections become the boxes carried forward, with their track ids."""
        self._live = Detections(dets.boxes.copy(), dets.scores, dets.labels, dets.track_ids,
                                sources=("flow",) * len(dets))
        self._grey, self._scale = grey, scale

    def step(self, grey: np.ndarray, scale: float, camera: np.ndarray) -> Detections:
        """The carried boxes moved into this frame. A box with no point followed moves with the camera."""
        prev, self._grey, self._scale = self._grey, grey, scale
        live = self._live
        if not len(live) or prev is None or prev.shape != grey.shape:
            self._live = Detections.empty()
            return self._live
        b = live.boxes * scale
        w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        gx, gy = np.meshgrid(_GRID, _GRID)
        px = b[:, 0, None] + w[:, None] * gx.ravel()  # (n, 9)
        py = b[:, 1, None] + h[:, None] * gy.ravel()
        pts = np.stack([px, py], -1).reshape(-1, 1, 2).astype(np.float32)
        nxt, status, _ = cv2.calcOpticalFlowPyrLK(prev, grey, pts, None, **_LK)
        d = (nxt - pts).reshape(len(b), -1, 2)
        ok = status.reshape(len(b), -1) == 1
        moved = apply(camera, live.boxes)  # the fallback: the camera's motion
        counts = ok.sum(1)
        for i in np.nonzero(counts > 0)[0]:
            dx, dy = np.median(d[i][ok[i]], axis=0) / scale
            moved[i] = live.boxes[i] + np.array([dx, dy, dx, dy], np.float32)
        self._live = Detections(moved.astype(np.float32), live.scores, live.labels, live.track_ids, live.sources)
        return self._live


FB_ERROR_PX = 2.0  # work-scale px: a point that does not come back to where it started was not followed
MIN_POINTS = 4  # of the 9 in a box: fewer followed points and the box is lost


def carry_box(prev: np.ndarray, grey: np.ndarray, box: np.ndarray, scale: float) -> np.ndarray | None:
    """One box from grey frame `prev` into `grey` (work-scale copies, see `work_grey`): the median Lucas-Kanade
    motion of the points that flow forward and back to where they started; None when too few do (the box is lost:
    covered, gone out of the picture, or too blurred to follow). A reviewer's manual box is carried so."""
    b = np.asarray(box, np.float32) * scale
    w, h = b[2] - b[0], b[3] - b[1]
    if w < 2 or h < 2:
        return None
    gx, gy = np.meshgrid(_GRID, _GRID)
    pts = np.stack([b[0] + w * gx.ravel(), b[1] + h * gy.ravel()], -1).reshape(-1, 1, 2).astype(np.float32)
    nxt, ok, _ = cv2.calcOpticalFlowPyrLK(prev, grey, pts, None, **_LK)
    back, ok_back, _ = cv2.calcOpticalFlowPyrLK(grey, prev, nxt, None, **_LK)
    err = np.linalg.norm((back - pts).reshape(-1, 2), axis=1)
    good = (ok.ravel() == 1) & (ok_back.ravel() == 1) & (err < FB_ERROR_PX)
    if good.sum() < MIN_POINTS:
        return None
    dx, dy = np.median((nxt - pts).reshape(-1, 2)[good], axis=0) / scale
    moved = np.asarray(box, np.float32) + np.array([dx, dy, dx, dy], np.float32)
    H, W = grey.shape[0] / scale, grey.shape[1] / scale
    inside = (min(moved[2], W) - max(moved[0], 0)) * (min(moved[3], H) - max(moved[1], 0))
    if inside < 0.5 * (moved[2] - moved[0]) * (moved[3] - moved[1]) or moved[2] <= 0 or moved[3] <= 0:
        return None  # half out of the picture: it left
    return moved

"""Camera motion between consecutive frames (PTZ cameras pan and zoom; dashcams and body cameras move).

A small face is often found in one frame and missed in the next few; the mask padded in time must then follow the
picture, not stay where the face was. Each frame's motion is a similarity transform (shift, zoom, slight rotation)
estimated from sparse optical flow on a downscaled grey frame (a few ms a frame), stored in the track table, and
used by mask planning to carry a track's boxes into the frames before and after it.

It also tells a cut (another camera, another scene): analysis runs the detectors there at once instead of waiting for
the next keyframe, since nothing tracked before a cut says where anyone is after it."""

from __future__ import annotations

import cv2
import numpy as np

IDENTITY = np.array([[1, 0, 0], [0, 1, 0]], np.float32)
WORK_WIDTH = 480
# Mean absolute grey difference (0-255) between a frame and its predecessor carried by the measured motion, above
# which the frame is a cut. Sensor noise and people walking stay under 10 on CCTV footage; a cut is 30 and more.
CUT_DIFFERENCE = 25.0


class CameraMotion:
    def __init__(self) -> None:
        self._prev: np.ndarray | None = None
        self._scale = 1.0
        self.cut = False  # whether the last frame given to update() does not follow on from the one before

    def update(self, image: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """The 2x3 transform taking the previous frame's pixel coordinates to this frame's (identity for the first
        frame, and wherever too little texture is tracked to say). `image` is the frame (BGR), or the grey copy
        analysis already made of it (redactor.track.flow.work_grey) at `scale` of the frame's size: one grey image
        a frame, not one per use."""
        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        gh, gw = grey.shape[:2]
        w, h = gw / scale, gh / scale
        self._scale = min(1.0, WORK_WIDTH / w)
        size = (round(w * self._scale), round(h * self._scale))
        if size != (gw, gh):
            grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        prev, self._prev = self._prev, grey
        self.cut = prev is None or prev.shape != grey.shape
        if self.cut:
            return IDENTITY.copy()
        m = self._estimate(prev, grey)
        self.cut = _difference(prev, grey, IDENTITY if m is None else m) > CUT_DIFFERENCE
        if m is None:
            return IDENTITY.copy()
        m[:, 2] /= self._scale  # back to full-size pixels (the linear part is scale-free)
        return m

    @staticmethod
    def _estimate(prev: np.ndarray, grey: np.ndarray) -> np.ndarray | None:
        """The similarity transform at work scale, or None where too little texture is tracked to say."""
        pts = cv2.goodFeaturesToTrack(prev, maxCorners=300, qualityLevel=0.01, minDistance=8)
        if pts is None or len(pts) < 12:
            return None
        nxt, status, _ = cv2.calcOpticalFlowPyrLK(prev, grey, pts, None, winSize=(21, 21), maxLevel=3)
        ok = status.reshape(-1) == 1
        if ok.sum() < 12:
            return None
        m, inliers = cv2.estimateAffinePartial2D(pts[ok], nxt[ok], method=cv2.RANSAC, ransacReprojThreshold=2.0)
        if m is None or inliers is None or inliers.sum() < 10:
            return None
        return m.astype(np.float32)


def _difference(prev: np.ndarray, grey: np.ndarray, m: np.ndarray) -> float:
    """Mean absolute difference between `grey` and `prev` carried by `m`, over the part of the picture both show."""
    h, w = grey.shape
    moved = cv2.warpAffine(prev, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    seen = cv2.warpAffine(np.full_like(prev, 255), m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0) > 0
    if seen.sum() < 0.25 * h * w:
        return 255.0
    return float(cv2.absdiff(moved, grey)[seen].mean())


def apply(transform: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Carry xyxy boxes through a 2x3 transform (the box around the moved corners)."""
    x1, y1, x2, y2 = boxes.T
    corners = np.stack([np.stack([x1, y1], -1), np.stack([x2, y1], -1), np.stack([x1, y2], -1),
                        np.stack([x2, y2], -1)], 1)  # (n, 4, 2)
    moved = corners @ transform[:, :2].T + transform[:, 2]
    return np.concatenate([moved.min(1), moved.max(1)], -1).astype(np.float32)


def invert(transform: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(transform).astype(np.float32)

"""Camera motion between consecutive frames (PTZ cameras pan and zoom; dashcams and body cameras move).

A small face is often found in one frame and missed in the next few; the mask padded in time must then follow the
picture, not stay where the face was. Each frame's motion is a similarity transform (shift, zoom, slight rotation)
estimated from sparse optical flow on a downscaled grey frame (a few ms a frame), stored in the track table, and
used by mask planning to carry a track's boxes into the frames before and after it."""

from __future__ import annotations

import cv2
import numpy as np

IDENTITY = np.array([[1, 0, 0], [0, 1, 0]], np.float32)
WORK_WIDTH = 480


class CameraMotion:
    def __init__(self) -> None:
        self._prev: np.ndarray | None = None
        self._scale = 1.0

    def update(self, image: np.ndarray) -> np.ndarray:
        """The 2x3 transform taking the previous frame's pixel coordinates to this frame's (identity for the first
        frame, and wherever too little texture is tracked to say)."""
        h, w = image.shape[:2]
        self._scale = min(1.0, WORK_WIDTH / w)
        small = cv2.resize(image, (round(w * self._scale), round(h * self._scale)), interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        prev, self._prev = self._prev, grey
        if prev is None or prev.shape != grey.shape:
            return IDENTITY.copy()
        pts = cv2.goodFeaturesToTrack(prev, maxCorners=300, qualityLevel=0.01, minDistance=8)
        if pts is None or len(pts) < 12:
            return IDENTITY.copy()
        nxt, status, _ = cv2.calcOpticalFlowPyrLK(prev, grey, pts, None, winSize=(21, 21), maxLevel=3)
        ok = status.reshape(-1) == 1
        if ok.sum() < 12:
            return IDENTITY.copy()
        m, inliers = cv2.estimateAffinePartial2D(pts[ok], nxt[ok], method=cv2.RANSAC, ransacReprojThreshold=2.0)
        if m is None or inliers is None or inliers.sum() < 10:
            return IDENTITY.copy()
        m = m.astype(np.float32)
        m[:, 2] /= self._scale  # back to full-size pixels (the linear part is scale-free)
        return m


def apply(transform: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Carry xyxy boxes through a 2x3 transform (the box around the moved corners)."""
    x1, y1, x2, y2 = boxes.T
    corners = np.stack([np.stack([x1, y1], -1), np.stack([x2, y1], -1), np.stack([x1, y2], -1),
                        np.stack([x2, y2], -1)], 1)  # (n, 4, 2)
    moved = corners @ transform[:, :2].T + transform[:, 2]
    return np.concatenate([moved.min(1), moved.max(1)], -1).astype(np.float32)


def invert(transform: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(transform).astype(np.float32)

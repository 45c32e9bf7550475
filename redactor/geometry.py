"""Box geometry, one home for it: xyxy boxes in pixels as numpy arrays, `(n, 4)` or a single `(4,)` box. Used by the
detectors (fusion, NMS), the track builder, the mask plan, the identity guard and the audit, so that "the box grown
by 30%" or "these boxes overlap" means the same thing in every step."""

from __future__ import annotations

import numpy as np


def pad(boxes: np.ndarray, frac: float, min_px: float = 0.0, scale: np.ndarray | float | None = None) -> np.ndarray:
    """Each box grown on every side by `frac` of its width (height), at least `min_px`, times `scale` (one factor
    per box, or one for all). Keeps the input's shape: a `(4,)` box in, a `(4,)` box out."""
    b = np.asarray(boxes, np.float32)
    flat = b.reshape(-1, 4)
    w, h = flat[:, 2] - flat[:, 0], flat[:, 3] - flat[:, 1]
    s = 1.0 if scale is None else scale
    dx, dy = np.maximum(w * frac, min_px) * s, np.maximum(h * frac, min_px) * s
    out = np.column_stack([flat[:, 0] - dx, flat[:, 1] - dy, flat[:, 2] + dx, flat[:, 3] + dy]).astype(np.float32)
    return out.reshape(b.shape)


def crop_window(box: np.ndarray, frac: float, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The box grown by `frac` as whole pixels inside an image of `shape` (rows, cols, ...): a crop's slice."""
    x1, y1, x2, y2 = (float(v) for v in pad(box, frac))
    h, w = shape[:2]
    return max(0, int(x1)), max(0, int(y1)), min(w, int(np.ceil(x2))), min(h, int(np.ceil(y2)))


def area(boxes: np.ndarray) -> np.ndarray:
    b = np.asarray(boxes, np.float32).reshape(-1, 4)
    return (b[:, 2] - b[:, 0]).clip(0) * (b[:, 3] - b[:, 1]).clip(0)


def intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection areas, (len(a), len(b))."""
    a, b = np.asarray(a, np.float32).reshape(-1, 4), np.asarray(b, np.float32).reshape(-1, 4)
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    return w.clip(0) * h.clip(0)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU, (len(a), len(b))."""
    a, b = np.asarray(a, np.float32).reshape(-1, 4), np.asarray(b, np.float32).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    inter = intersection(a, b)
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-9)


def coverage_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of each box in `a` covered by each box in `b`, (len(a), len(b))."""
    a, b = np.asarray(a, np.float32).reshape(-1, 4), np.asarray(b, np.float32).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    return intersection(a, b) / np.maximum(area(a)[:, None], 1e-9)


def overlaps(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Which of `others` share some area with `box` (touching edges do not count)."""
    return intersection(box, others)[0] > 0


def centre_in(box: np.ndarray, region: np.ndarray) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return bool(region[0] <= cx <= region[2] and region[1] <= cy <= region[3])


def interpolate(frames: np.ndarray, boxes: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Boxes at the frames `at` (inside the span of `frames`), linear between the known rows."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    if len(frames) == 1:
        return boxes.repeat(len(at), 0)
    return np.column_stack([np.interp(at, frames, boxes[:, k]) for k in range(4)]).astype(np.float32)


def iou_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise IoU of (..., 4) boxes, broadcast against each other (one box against many, or row by row)."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    ix = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    iy = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = ix * iy
    area_a = (a[..., 2] - a[..., 0]).clip(0) * (a[..., 3] - a[..., 1]).clip(0)
    area_b = (b[..., 2] - b[..., 0]).clip(0) * (b[..., 3] - b[..., 1]).clip(0)
    return inter / np.maximum(area_a + area_b - inter, 1e-9)

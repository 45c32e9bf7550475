"""YOLOv8 detectors (raw head output (1, 4 + classes, anchors), no NMS in the graph): the COCO model for persons and
vehicles, the plate models. The graph runs on the backend of redactor.detect.backend (onnxruntime on the CPU by
default), a batch of frames at a time."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from redactor.detect.backend import Backend, Prep, backend
from redactor.detect.nms import nms
from redactor.detect.yunet import _clip
from redactor.weights import onnx_session

COCO_PERSON = 0
COCO_VEHICLES = (1, 2, 3, 5, 7)  # bicycle, car, motorcycle, bus, truck

Result = tuple[np.ndarray, np.ndarray, np.ndarray]


class Yolo:
    def __init__(self, name: str, threshold: float = 0.25, nms_iou: float = 0.5, imgsz: int = 640,
                 runner: Backend | None = None) -> None:
        self.name = name
        self.threshold = threshold
        self.nms_iou = nms_iou
        self.backend = runner or backend()
        self.session = onnx_session(name)
        inp = self.session.get_inputs()[0]
        self.input = inp.name
        fixed = inp.shape[2] if isinstance(inp.shape[2], int) else None
        self.imgsz = fixed or imgsz
        self.dynamic = fixed is None

    def prep(self, shape: tuple[int, ...], imgsz: int | None = None) -> tuple[Prep, float]:
        """Letterboxed so that the longer side is `imgsz`: to a square for a graph of fixed size, else only to the
        next multiple of 32 on the shorter side (as ultralytics predicts; a 16:9 frame costs 0.6 of the square)."""
        size = (imgsz or self.imgsz) if self.dynamic else self.imgsz
        h0, w0 = shape[:2]
        r = min(size / w0, size / h0)
        w, h = round(w0 * r), round(h0 * r)
        cw, ch = (-(-w // 32) * 32, -(-h // 32) * 32) if self.dynamic else (size, size)
        return Prep((w, h), (cw, ch), 114, True, 1 / 255.0), r

    def __call__(self, image: np.ndarray, imgsz: int | None = None) -> Result:
        """Boxes (n, 4) in pixels of `image`, scores (n,), class ids (n,)."""
        return self.batch([image], imgsz)[0]

    def batch(self, images: Sequence[np.ndarray], imgsz: int | None = None) -> list[Result]:
        """As __call__ for several frames of one size, run as one batch where the backend and graph allow."""
        if not len(images):
            return []
        prep, r = self.prep(images[0].shape, imgsz)
        out = self.backend.infer(self.name, images, prep)[0]
        h0, w0 = images[0].shape[:2]
        return [self.decode(o, r, w0, h0) for o in out]

    def decode(self, out: np.ndarray, r: float, w0: int, h0: int) -> Result:
        """One frame's raw output (4 + nc, anchors) as boxes, scores and classes after class-aware NMS."""
        cls_scores = out[4:]
        cls = cls_scores.argmax(0)
        score = cls_scores[cls, np.arange(out.shape[1])]
        sel = score >= self.threshold
        if not sel.any():
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
        cx, cy, bw, bh = out[:4, sel]
        boxes = np.column_stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2]) / r
        score, cls = score[sel], cls[sel]
        # Class-aware NMS: offset boxes per class so different classes never suppress each other.
        keep = nms(boxes + (cls * 10000.0)[:, None], score, self.nms_iou)
        return _clip(boxes[keep], w0, h0), score[keep].astype(np.float32), cls[keep]

"""YOLOv8 detectors through onnxruntime (raw head output (1, 4 + classes, anchors), no NMS in the graph):
the COCO model for persons and vehicles, the plate models."""

from __future__ import annotations

import cv2
import numpy as np

from redactor.detect.nms import nms
from redactor.detect.yunet import _clip
from redactor.weights import onnx_session

COCO_PERSON = 0
COCO_VEHICLES = (1, 2, 3, 5, 7)  # bicycle, car, motorcycle, bus, truck


class Yolo:
    def __init__(self, name: str, threshold: float = 0.25, nms_iou: float = 0.5, imgsz: int = 640) -> None:
        self.name = name
        self.threshold = threshold
        self.nms_iou = nms_iou
        self.session = onnx_session(name)
        inp = self.session.get_inputs()[0]
        self.input = inp.name
        fixed = inp.shape[2] if isinstance(inp.shape[2], int) else None
        self.imgsz = fixed or imgsz
        self.dynamic = fixed is None

    def __call__(self, image: np.ndarray, imgsz: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (n, 4) in pixels of `image`, scores (n,), class ids (n,). Letterboxed so that the longer side is
        `imgsz`: to a square for a graph of fixed size, else only to the next multiple of 32 on the shorter side (as
        ultralytics predicts; a 16:9 frame costs 0.6 of the square)."""
        size = (imgsz or self.imgsz) if self.dynamic else self.imgsz
        h0, w0 = image.shape[:2]
        r = min(size / w0, size / h0)
        w, h = round(w0 * r), round(h0 * r)
        cw, ch = (-(-w // 32) * 32, -(-h // 32) * 32) if self.dynamic else (size, size)
        canvas = np.full((ch, cw, 3), 114, np.uint8)
        canvas[:h, :w] = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR) if r != 1 else image
        blob = cv2.dnn.blobFromImage(canvas, 1 / 255.0, swapRB=True)
        out = self.session.run(None, {self.input: blob})[0][0]  # (4 + nc, anchors)
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

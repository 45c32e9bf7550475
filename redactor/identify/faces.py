"""Finding a face to embed: the largest face of a reference photo, and the faces inside one region of a frame.

YuNet gives the five landmarks SFace aligns on. A region (a tracked face box, a kept person's head) is cut out with
a margin and upscaled before detection, so a 30 px face in a CCTV frame is seen at the size YuNet finds best."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from redactor.detect.yunet import YuNet

REGION_FACE_PX = 112  # a region's face is brought to about this height before detection
MAX_REGION_SCALE = 4.0


@dataclass
class FoundFaces:
    boxes: np.ndarray  # (n, 4) xyxy in frame pixels
    scores: np.ndarray  # (n,)
    landmarks: np.ndarray  # (n, 5, 2) in frame pixels

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls) -> FoundFaces:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32))


@cache
def _yunet(threshold: float) -> YuNet:
    return YuNet(threshold=threshold)


def largest_face(image: np.ndarray, threshold: float = 0.6) -> tuple[np.ndarray, np.ndarray] | None:
    """(box, landmarks) of the largest face in a photo, or None. The photo is brought to about 640 px first (small
    passport-style photos are upscaled, phone photos downscaled), then tried at its own size if nothing was found."""
    yunet = _yunet(threshold)
    long_side = max(image.shape[:2])
    for scale in dict.fromkeys((min(4.0, 640 / long_side), 1.0)):
        boxes, _, marks = yunet.with_landmarks(image, scale)
        if len(boxes):
            i = int(np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
            return boxes[i], marks[i]
    return None


def region(box: np.ndarray, pad: float, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = (float(v) for v in box)
    dw, dh = (x2 - x1) * pad, (y2 - y1) * pad
    h, w = shape[:2]
    return (max(0, int(x1 - dw)), max(0, int(y1 - dh)), min(w, int(np.ceil(x2 + dw))), min(h, int(np.ceil(y2 + dh))))


def faces_in_region(image: np.ndarray, box: np.ndarray, pad: float = 0.5, threshold: float = 0.6,
                    face_h: float | None = None) -> FoundFaces:
    """Faces YuNet finds in `box` grown by `pad` of its size on each side, in frame pixels. `face_h`: the expected
    face height (default: the box's), which sets the upscaling."""
    x1, y1, x2, y2 = region(box, pad, image.shape)
    if x2 - x1 < 4 or y2 - y1 < 4:
        return FoundFaces.empty()
    crop = image[y1:y2, x1:x2]
    face_h = max(1.0, float(face_h if face_h is not None else box[3] - box[1]))
    scale = float(np.clip(REGION_FACE_PX / face_h, 1.0, MAX_REGION_SCALE))
    boxes, scores, marks = _yunet(threshold).with_landmarks(crop, scale)
    if not len(boxes):
        return FoundFaces.empty()
    off = np.array([x1, y1], np.float32)
    return FoundFaces(boxes + np.tile(off, 2), scores, marks + off)


def sharpness(image: np.ndarray, box: np.ndarray) -> float:
    """Variance of the Laplacian inside the box: a blurred crop embeds badly."""
    x1, y1, x2, y2 = region(box, 0.0, image.shape)
    crop = image[y1:y2, x1:x2]
    if crop.size == 0:
        return 0.0
    return float(cv2.Laplacian(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), cv2.CV_32F).var())


def best_match(found: FoundFaces, box: np.ndarray) -> int | None:
    """Index of the found face that is the tracked box's face (highest IoU, at least 0.3), or None."""
    if not len(found):
        return None
    b = found.boxes
    ix = np.clip(np.minimum(b[:, 2], box[2]) - np.maximum(b[:, 0], box[0]), 0, None)
    iy = np.clip(np.minimum(b[:, 3], box[3]) - np.maximum(b[:, 1], box[1]), 0, None)
    inter = ix * iy
    union = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) + (box[2] - box[0]) * (box[3] - box[1]) - inter
    iou = inter / np.maximum(union, 1e-6)
    i = int(np.argmax(iou))
    return i if iou[i] >= 0.3 else None

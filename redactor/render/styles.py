"""Mask styles. Solid is the default: a flat fill carries nothing of the face. Mosaic with coarse blocks is the
readable alternative. Blur is cosmetic only (a weak blur can be reversed), so it is strong and never the default."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import cv2
import numpy as np

SOLID_BGR = (48, 48, 48)


def regions(image: np.ndarray, boxes: np.ndarray) -> Iterator[np.ndarray]:
    """A view into `image` for each box, in whole pixels inside the frame (a box wholly outside gives none): every
    style writes through these views."""
    h, w = image.shape[:2]
    for box in boxes:
        x1, y1 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
        x2, y2 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
        if x2 > x1 and y2 > y1:
            yield image[y1:y2, x1:x2]


def solid(image: np.ndarray, boxes: np.ndarray) -> None:
    for roi in regions(image, boxes):
        roi[:] = SOLID_BGR


def mosaic(image: np.ndarray, boxes: np.ndarray) -> None:
    """Coarse blocks: at most 4 blocks across a box, so a face becomes a few flat tiles."""
    for roi in regions(image, boxes):
        bh, bw = roi.shape[:2]
        nx, ny = max(1, min(4, bw // 8)), max(1, min(4, bh // 8))
        small = cv2.resize(roi, (nx, ny), interpolation=cv2.INTER_AREA)
        roi[:] = cv2.resize(small, (bw, bh), interpolation=cv2.INTER_NEAREST)


def blur(image: np.ndarray, boxes: np.ndarray) -> None:
    for roi in regions(image, boxes):
        sigma = max(roi.shape[:2]) / 2.5
        blurred = cv2.GaussianBlur(roi, (0, 0), sigmaX=sigma, sigmaY=sigma)
        roi[:] = cv2.GaussianBlur(blurred, (0, 0), sigmaX=sigma, sigmaY=sigma)


STYLES: dict[str, Callable[[np.ndarray, np.ndarray], None]] = {"solid": solid, "mosaic": mosaic, "blur": blur}

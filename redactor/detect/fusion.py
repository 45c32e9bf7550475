"""Face fusion: many passes of two face models, merged into one decision per face.

Each pass (a model at a scale, maybe mirrored) proposes boxes at a low threshold. Boxes are grouped (NMS on
per-model normalised scores, suppressing boxes mostly inside a stronger one), and each group is described by the best
score every pass gave it, which passes saw it, its size and shape, and whether it sits in a person's head. A logistic
model over those features (coefficients in redactor/models/face_fusion.json, fitted on the development split by
gpu_benchmarks/train_face_fusion.py, cross-validated by image) gives each group a probability, accepted by a
threshold that depends on the box's height, and an accepted box that duplicates a much stronger one is dropped
(issue 13, `FusionModel.accept`). One pass alone cannot reach the recall the issue asks at a usable precision
(measured in docs/decisions.md); agreement between passes is what separates a small face from texture."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from redactor.errors import ModelMissing
from redactor.geometry import coverage_matrix, iou_matrix

FUSION_FILE = Path(__file__).resolve().parents[1] / "models" / "face_fusion.json"  # shipped in the package
# Per-model candidate floors and the scores that count as "confident" (used to normalise before grouping).
FLOOR = {"centerface": 0.05, "yunet": 0.3}
NORM = {"centerface": 0.3, "yunet": 0.7}


@dataclass(frozen=True)
class Pass:
    model: str  # "yunet" | "centerface"
    scale: float
    flip: bool = False

    @property
    def key(self) -> str:
        return f"{self.model[0]}{self.scale:g}{'f' if self.flip else ''}"


def group(boxes: np.ndarray, norm_scores: np.ndarray, iou: float = 0.4, contain: float = 0.6) -> np.ndarray:
    """Greedy suppression by IoU and by containment (a box mostly inside a stronger one is the same face)."""
    order = np.argsort(-norm_scores)
    ious = iou_matrix(boxes, boxes)
    cover = coverage_matrix(boxes, boxes)  # cover[j, i]: share of j inside i
    suppressed = np.zeros(len(boxes), bool)
    keep = []
    for i in order:
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= (ious[i] >= iou) | (cover[:, i] >= contain)
    return np.asarray(keep, np.int64)


def features(passes: list[Pass], outputs: list[tuple[np.ndarray, np.ndarray]], heads: np.ndarray,
             head_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group the passes' boxes; return the groups' boxes (n, 4) and feature rows (n, k)."""
    bs, ss, pid, norm = [], [], [], []
    for i, (p, (b, s)) in enumerate(zip(passes, outputs, strict=True)):
        m = s >= FLOOR[p.model]
        bs.append(b[m])
        ss.append(s[m])
        pid.append(np.full(int(m.sum()), i))
        norm.append(s[m] / NORM[p.model])
    b, s, pid, norm = (np.concatenate(x) for x in (bs, ss, pid, norm))
    if len(b) == 0:
        return np.zeros((0, 4), np.float32), np.zeros((0, 2 * len(passes) + 3), np.float32)
    keep = group(b, norm)
    members = iou_matrix(b[keep], b) >= 0.4
    best = np.zeros((len(keep), len(passes)), np.float32)
    for row in range(len(keep)):
        idx = np.nonzero(members[row])[0]
        np.maximum.at(best[row], pid[idx], s[idx])
    kb = b[keep]
    h = np.maximum(kb[:, 3] - kb[:, 1], 1)
    w = np.maximum(kb[:, 2] - kb[:, 0], 1)
    in_head = (coverage_matrix(kb, heads) * head_scores[None, :]).max(axis=1) if len(heads) else np.zeros(len(kb))
    x = np.column_stack([best, best > 0, np.log(h), np.log(w / h), in_head]).astype(np.float32)
    return kb.astype(np.float32), x


@dataclass(frozen=True)
class FusionModel:
    passes: tuple[Pass, ...]
    coef: np.ndarray
    intercept: float
    threshold: float
    # Faces under `small_height` px need more evidence: most low-scoring small groups are texture, while a large
    # face missed costs the >= 16 px recall (decision in docs/decisions.md).
    small_threshold: float | None = None
    small_height: float = 16.0
    # Issue 13: the threshold by box height, ((from_height, threshold), ...) ascending, replacing the two above when
    # given: groups of 32 px and more at a low probability were mostly texture (0.44 of them true on held-out photos).
    height_thresholds: tuple[tuple[float, float], ...] | None = None
    # Issue 13: an accepted box that overlaps a stronger accepted one (IoU >= merge_iou, or >= merge_inside of it
    # inside that one) with under merge_ratio of its probability is the same face seen by another pass: dropped.
    merge_iou: float | None = None
    merge_inside: float = 1.0
    merge_ratio: float = 0.0

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(x @ self.coef + self.intercept)))

    def thresholds(self, boxes: np.ndarray) -> np.ndarray:
        """The acceptance threshold of each box, by its height."""
        h = boxes[:, 3] - boxes[:, 1]
        if self.height_thresholds is not None:
            starts = np.asarray([lo for lo, _ in self.height_thresholds], np.float32)
            values = np.asarray([t for _, t in self.height_thresholds], np.float32)
            return values[np.maximum(np.searchsorted(starts, h, side="right") - 1, 0)]
        if self.small_threshold is None:
            return np.full(len(boxes), self.threshold, np.float32)
        return np.where(h < self.small_height, self.small_threshold, self.threshold).astype(np.float32)

    def accept(self, boxes: np.ndarray, prob: np.ndarray) -> np.ndarray:
        """Boolean mask of the groups reported as faces."""
        keep = prob >= self.thresholds(boxes)
        if self.merge_iou is None or keep.sum() < 2:
            return keep
        idx = np.nonzero(keep)[0]
        idx = idx[np.argsort(-prob[idx], kind="stable")]
        b = boxes[idx]
        same = (iou_matrix(b, b) >= self.merge_iou) | (coverage_matrix(b, b) >= self.merge_inside)  # [i, j]: i in j
        weaker = prob[idx][:, None] < self.merge_ratio * prob[idx][None, :]
        kept = np.zeros(len(idx), bool)
        for i in range(len(idx)):  # strongest first: a box goes when it duplicates a stronger box that stayed
            kept[i] = not (same[i, :i] & weaker[i, :i] & kept[:i]).any()
        out = np.zeros(len(boxes), bool)
        out[idx[kept]] = True
        return out

    def to_json(self, extra: dict | None = None) -> dict:
        return {"passes": [[p.model, p.scale, p.flip] for p in self.passes], "coef": self.coef.tolist(),
                "intercept": self.intercept, "threshold": self.threshold, "small_threshold": self.small_threshold,
                "small_height": self.small_height,
                "height_thresholds": [list(x) for x in self.height_thresholds] if self.height_thresholds else None,
                "merge_iou": self.merge_iou, "merge_inside": self.merge_inside, "merge_ratio": self.merge_ratio,
                **(extra or {})}


@cache
def load_fusion(path: str = str(FUSION_FILE)) -> FusionModel:
    try:
        d = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ModelMissing(f"face fusion model {path} is missing: run gpu_benchmarks/train_face_fusion.py") from exc
    return FusionModel(passes=tuple(Pass(m, float(s), bool(f)) for m, s, f in d["passes"]),
                       coef=np.asarray(d["coef"], np.float32), intercept=float(d["intercept"]),
                       threshold=float(d["threshold"]), small_threshold=d.get("small_threshold"),
                       small_height=float(d.get("small_height", 16.0)),
                       height_thresholds=tuple((float(lo), float(t)) for lo, t in d["height_thresholds"])
                       if d.get("height_thresholds") else None,
                       merge_iou=d.get("merge_iou"), merge_inside=float(d.get("merge_inside", 1.0)),
                       merge_ratio=float(d.get("merge_ratio", 0.0)))

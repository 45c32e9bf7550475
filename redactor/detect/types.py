"""`Detections`: one vectorised container per frame, validated once when built (after supervision's Detections)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LABELS = ("face", "plate", "person", "vehicle")
LABEL_ID = {name: i for i, name in enumerate(LABELS)}


@dataclass(frozen=True)
class Detections:
    """Boxes `(n, 4)` float32 xyxy in pixels of the original frame, scores `(n,)`, label ids `(n,)` into LABELS,
    optional track ids `(n,)` and a per-box source tag (which model or rule produced it)."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    track_ids: np.ndarray | None = None
    sources: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        n = len(boxes)
        scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        labels = np.asarray(self.labels, dtype=np.int16).reshape(-1)
        if len(scores) != n or len(labels) != n:
            raise ValueError(f"Detections: {n} boxes but {len(scores)} scores and {len(labels)} labels")
        if n and (labels.min() < 0 or labels.max() >= len(LABELS)):
            raise ValueError("Detections: label id out of range")
        sources = tuple(self.sources) if self.sources else ("",) * n
        if len(sources) != n:
            raise ValueError("Detections: sources must match boxes")
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "sources", sources)
        if self.track_ids is not None:
            track_ids = np.asarray(self.track_ids, dtype=np.int64).reshape(-1)
            if len(track_ids) != n:
                raise ValueError(f"Detections: {n} boxes but {len(track_ids)} track ids")
            object.__setattr__(self, "track_ids", track_ids)
        if not np.all(np.isfinite(boxes)) or not np.all(np.isfinite(scores)):
            raise ValueError("Detections: boxes and scores must be finite numbers")

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int16))

    @classmethod
    def of(cls, boxes: np.ndarray, scores: np.ndarray, label: str, source: str) -> Detections:
        n = len(boxes)
        return cls(boxes, scores, np.full(n, LABEL_ID[label], np.int16), sources=(source,) * n)

    @classmethod
    def merge(cls, parts: list[Detections]) -> Detections:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        # track ids survive a merge only when every part has them: a part without would misalign the rest
        track_ids = (np.concatenate([p.track_ids for p in parts]) if all(p.track_ids is not None for p in parts)
                     else None)
        return cls(np.concatenate([p.boxes for p in parts]), np.concatenate([p.scores for p in parts]),
                   np.concatenate([p.labels for p in parts]), track_ids, sources=sum((p.sources for p in parts), ()))

    def __len__(self) -> int:
        return len(self.boxes)

    def __getitem__(self, index) -> Detections:
        idx = np.arange(len(self))[index]
        idx = np.atleast_1d(idx)
        return Detections(self.boxes[idx], self.scores[idx], self.labels[idx],
                          None if self.track_ids is None else self.track_ids[idx],
                          tuple(self.sources[i] for i in idx))

    def with_label(self, label: str) -> Detections:
        return self[self.labels == LABEL_ID[label]]

    def to_json(self) -> list[dict]:
        out = []
        for box, score, label, source in zip(self.boxes, self.scores, self.labels, self.sources, strict=True):
            item = {"label": LABELS[label], "box": [round(float(v), 1) for v in box], "score": round(float(score), 4)}
            if source == "head":
                item["source"] = "head"
            out.append(item)
        return out

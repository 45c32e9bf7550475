"""`TrackTable`: the stored result of analyze. Serialisable, versioned, with the model versions that made it.

JSON form (version 1):
{"format": "redactor.tracks", "version": 1,
 "video": {VideoInfo fields..., "sha256": ...}, "frames": N, "models": {name: version}, "params": {...},
 "motion": [[a, b, c, d, e, f] per frame: camera motion from the previous frame, see redactor.track.motion],
 "cuts": [frame indices where the picture does not follow on from the frame before (another camera, scene)],
 "tracks": [{"id": 7, "label": "face|plate|person|vehicle", "frames": [f, ...], "boxes": [[x1, y1, x2, y2], ...],
             "scores": [s, ...], "sources": ["yunet", ...], "parent": person/vehicle track id or null,
             "thumbnail": {"frame": f, "box": [...], "jpeg_b64": "..."} or null,
             "embeddings": [[128 floats], ...]   (faces only: SFace embeddings of the track's best crops),
             "origin": id of the track this piece was cut from or null, "contact": true for a piece where the box
             overlapped another of its kind (redactor.track.split)}]}
Frames and boxes are what the detectors (and the tracker) saw; gap filling and padding are applied by render, so
the table stays the record of evidence, and the render parameters can change without analysing again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from redactor.detect.types import LABELS
from redactor.errors import BadInput

FORMAT = "redactor.tracks"
VERSION = 1


@dataclass
class Track:
    id: int
    label: str
    frames: np.ndarray  # (n,) int, increasing
    boxes: np.ndarray  # (n, 4) float32
    scores: np.ndarray  # (n,) float32
    sources: list[str] = field(default_factory=list)
    parent: int | None = None
    thumbnail: dict | None = None
    embeddings: list[list[float]] = field(default_factory=list)
    added_by: str | None = None  # who drew it, for a reviewer's manual track (source "manual")
    origin: int | None = None  # the track this piece was cut from (redactor.track.split), None if never cut
    contact: bool = False  # a piece where its box overlapped another's: who it follows is not known

    def __post_init__(self) -> None:
        """Checked where it is made, failing closed: a label no mask plan knows, frames that go backwards or lists
        of unequal length would otherwise be skipped (or misread) by render, and that leaves someone unmasked."""
        if self.label not in LABELS:
            raise ValueError(f"Track {self.id}: unknown label {self.label!r} (one of {', '.join(LABELS)})")
        frames = np.asarray(self.frames)
        if frames.ndim != 1 or (frames.size and not np.issubdtype(frames.dtype, np.number)):
            raise ValueError(f"Track {self.id}: frames must be a list of frame numbers")
        if frames.size and (not np.all(np.isfinite(frames)) or np.any(frames != np.round(frames))):
            raise ValueError(f"Track {self.id}: frame numbers must be whole numbers")
        frames = frames.astype(np.int64)
        if frames.size and (frames[0] < 0 or np.any(np.diff(frames) <= 0)):
            raise ValueError(f"Track {self.id}: frames must be increasing and not negative")
        boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4) if np.size(self.boxes) else np.zeros((0, 4),
                                                                                                        np.float32)
        scores = np.asarray(self.scores, np.float32).reshape(-1)
        if len(boxes) != len(frames) or len(scores) != len(frames):
            raise ValueError(f"Track {self.id}: {len(frames)} frames but {len(boxes)} boxes and {len(scores)} scores")
        if not np.all(np.isfinite(boxes)):
            raise ValueError(f"Track {self.id}: boxes must be finite numbers")
        if self.sources and len(self.sources) != len(frames):
            raise ValueError(f"Track {self.id}: {len(frames)} frames but {len(self.sources)} sources")
        self.frames, self.boxes, self.scores = frames, boxes, scores

    def to_json(self) -> dict:
        d = {"id": int(self.id), "label": self.label, "frames": [int(f) for f in self.frames],
             "boxes": [[round(float(v), 1) for v in b] for b in self.boxes],
             "scores": [round(float(s), 3) for s in self.scores], "sources": list(self.sources),
             "parent": self.parent, "thumbnail": self.thumbnail,
             "embeddings": [[round(float(v), 5) for v in e] for e in self.embeddings],
             "origin": self.origin, "contact": self.contact}
        if self.added_by is not None:
            d["added_by"] = self.added_by
        return d

    @classmethod
    def from_json(cls, d: dict) -> Track:
        return cls(id=int(d["id"]), label=d["label"], frames=np.asarray(d["frames"], np.int64),
                   boxes=np.asarray(d["boxes"], np.float32).reshape(-1, 4),
                   scores=np.asarray(d["scores"], np.float32), sources=list(d.get("sources", [])),
                   parent=d.get("parent"), thumbnail=d.get("thumbnail"), embeddings=d.get("embeddings", []),
                   added_by=d.get("added_by"), origin=d.get("origin"), contact=bool(d.get("contact", False)))


@dataclass
class TrackTable:
    video: dict
    frames: int
    models: dict[str, str]
    params: dict
    tracks: list[Track]
    # Per frame, the 2x3 camera motion from the previous frame (redactor.track.motion); empty when not measured.
    motion: list[list[float]] = field(default_factory=list)
    # Frames that do not follow on from the one before (redactor.track.motion.CameraMotion.cut); masks are not padded
    # in time across them. Empty in tables made before they were recorded.
    cuts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        ids = [t.id for t in self.tracks]
        if len(set(ids)) != len(ids):
            raise ValueError("TrackTable: track ids must be unique")
        if self.frames < 0:
            raise ValueError("TrackTable: a negative frame count")

    def by_id(self) -> dict[int, Track]:
        return {t.id: t for t in self.tracks}

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "video": self.video, "frames": self.frames,
                "models": self.models, "params": self.params, "tracks": [t.to_json() for t in self.tracks],
                "motion": [[round(float(v), 5) for v in m] for m in self.motion],
                "cuts": [int(c) for c in self.cuts]}

    def save(self, path: str | Path) -> None:
        path = Path(path)
        tmp = path.with_name(f".{path.name}.partial")
        tmp.write_text(json.dumps(self.to_json(), ensure_ascii=False))
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> TrackTable:
        try:
            d = json.loads(Path(path).read_text())
        except (OSError, ValueError) as err:
            raise BadInput(f"{path}: not a readable track table ({err})") from None
        if d.get("format") != FORMAT:
            raise BadInput(f"{path}: not a redactor track table")
        if d.get("version") != VERSION:
            raise BadInput(f"{path}: track table version {d.get('version')} is not supported (expected {VERSION})")
        try:
            return cls(video=d["video"], frames=int(d["frames"]), models=d.get("models", {}),
                       params=d.get("params", {}), tracks=[Track.from_json(t) for t in d["tracks"]],
                       motion=d.get("motion", []), cuts=[int(c) for c in d.get("cuts", [])])
        except (KeyError, TypeError, ValueError) as err:
            raise BadInput(f"{path}: not a valid track table ({err})") from None

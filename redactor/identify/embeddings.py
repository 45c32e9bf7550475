"""Face embeddings in the track table: each face track's best few crops, embedded with SFace after analyze.

One pass over the video: for every face track, a handful of candidate frames (largest, most confident boxes, spread
over the track so that a track which changed identity shows both) are cut out, YuNet finds the landmarks on the
padded crop, the sharpest ones are embedded and stored in `Track.embeddings`."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from redactor.identify.faces import best_match, faces_in_region, sharpness
from redactor.identify.sface import SFace
from redactor.media import decode, probe
from redactor.progress import progress
from redactor.track.table import Track, TrackTable

MIN_FACE_PX = 20  # SFace separates people well down to ~24 px faces (MODELS.md); smaller crops are noise
CANDIDATES = 8
KEEP = 4


def candidate_rows(track: Track, n: int = CANDIDATES, min_px: float = MIN_FACE_PX) -> list[int]:
    """Row indices of the track's best boxes (area x score), at least a few frames apart."""
    b = track.boxes
    h = b[:, 3] - b[:, 1]
    quality = (b[:, 2] - b[:, 0]) * h * track.scores
    order = [int(i) for i in np.argsort(-quality) if h[i] >= min_px]
    gap = max(1, len(track.frames) // (3 * n))
    chosen: list[int] = []
    for i in order:
        if all(abs(int(track.frames[i]) - int(track.frames[j])) >= gap for j in chosen):
            chosen.append(i)
        if len(chosen) == n:
            break
    return chosen


def enrich_embeddings(table: TrackTable, video: str | Path, per_track: int = KEEP, only: set[int] | None = None,
                      show_progress: bool = False) -> int:
    """Fill `Track.embeddings` of every face track that has none (or of `only`); returns how many were embedded."""
    wanted: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
    for t in table.tracks:
        if t.label != "face" or t.embeddings or (only is not None and t.id not in only):
            continue
        for i in candidate_rows(t):
            wanted[int(t.frames[i])].append((t.id, t.boxes[i]))
    if not wanted:
        return 0
    sface = SFace()
    found: dict[int, list[tuple[float, np.ndarray]]] = defaultdict(list)
    last = max(wanted)
    info = probe(video)
    for frame in progress(decode(video, info.rotation), total=last + 1, desc="embed", enabled=show_progress):
        for tid, box in wanted.get(frame.index, ()):
            faces = faces_in_region(frame.image, box)
            i = best_match(faces, box)
            if i is None:
                continue
            fb = faces.boxes[i]
            quality = float((fb[3] - fb[1]) * faces.scores[i] * np.log1p(sharpness(frame.image, fb)))
            found[tid].append((quality, sface.embed(frame.image, faces.landmarks[i][None])[0]))
        if frame.index >= last:
            break
    by_id = table.by_id()
    for tid, items in found.items():
        items.sort(key=lambda q: -q[0])
        by_id[tid].embeddings = [[round(float(v), 5) for v in e] for _, e in items[:per_track]]
    return len(found)


def has_embeddings(table: TrackTable) -> bool:
    return any(t.embeddings for t in table.tracks if t.label == "face")

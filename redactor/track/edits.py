"""A reviewer's edits of a track table: a box the detectors missed, followed forward and backward until lost and
added as a track of its own (source `manual`), and a track split in two where the tracker swapped people. Both
return a new table; the one they were given stays as it was (the evidence)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import numpy as np

from redactor.detect.types import LABELS
from redactor.errors import BadInput
from redactor.track.flow import carry_box, work_grey
from redactor.track.table import Track, TrackTable

BACK_CHUNK = 32  # frames decoded at once when following a box backward


def _next_id(table: TrackTable) -> int:
    return max((t.id for t in table.tracks), default=0) + 1


def follow(frames_from: Callable[[int, int], Iterator[tuple[int, np.ndarray]]], total: int, frame: int,
           box: np.ndarray, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Frames and boxes of `box` (given at `frame`) followed forward and backward until lost, at most `limit`
    frames each way. `frames_from(start, stop)` yields (n, image) in order."""
    limit = total if limit is None else limit
    box = np.asarray(box, np.float32)
    rows: dict[int, np.ndarray] = {frame: box}
    prev = None
    current = box
    for n, image in frames_from(frame, min(total, frame + limit + 1)):
        grey, scale = work_grey(image)
        if prev is not None:
            current = carry_box(prev, grey, current, scale)
            if current is None:
                break
            rows[n] = current
        prev = grey
    current, stop = box, frame  # backward, a chunk at a time
    lost = False
    while stop > 0 and not lost and frame - stop < limit:
        start = max(0, stop - BACK_CHUNK)
        greys = [(n, *work_grey(img)) for n, img in frames_from(start, stop + 1)]
        for (n, grey, scale), (_, later, _) in zip(reversed(greys[:-1]), reversed(greys[1:]), strict=True):
            current = carry_box(later, grey, current, scale)
            if current is None or frame - n > limit:
                lost = True
                break
            rows[n] = current
        stop = start
    order = sorted(rows)
    return np.asarray(order, np.int64), np.asarray([rows[n] for n in order], np.float32)


def add_manual_track(table: TrackTable, label: str, frames: np.ndarray, boxes: np.ndarray, added_by: str
                     ) -> tuple[TrackTable, Track]:
    if label not in LABELS:
        raise BadInput(f"unknown label {label!r} (one of {', '.join(LABELS)})")
    out = copy.deepcopy(table)
    track = Track(id=_next_id(out), label=label, frames=np.asarray(frames, np.int64),
                  boxes=np.asarray(boxes, np.float32).reshape(-1, 4), scores=np.ones(len(frames), np.float32),
                  sources=["manual"] * len(frames), added_by=added_by)
    out.tracks.append(track)
    return out, track


def split_track(table: TrackTable, track_id: int, frame: int) -> tuple[TrackTable, Track, Track]:
    """Rows before `frame` stay in the track; rows from `frame` on become a new track. Face tracks hanging off it
    that start at or after `frame` follow the new part. Face embeddings carry no frame numbers, so neither part
    keeps any: they are computed again where needed (the identity guard embeds kept faces that have none)."""
    out = copy.deepcopy(table)
    by_id = out.by_id()
    track = by_id.get(track_id)
    if track is None:
        raise BadInput(f"no track {track_id} in this analysis")
    before = track.frames < frame
    if before.all() or not before.any():
        raise BadInput(f"track {track_id} spans frames {int(track.frames[0])}-{int(track.frames[-1])}: a split at "
                       f"frame {frame} must leave rows on both sides")
    after = ~before
    new = Track(id=_next_id(out), label=track.label, frames=track.frames[after], boxes=track.boxes[after],
                scores=track.scores[after],
                sources=[s for s, a in zip(track.sources, after, strict=False) if a] if track.sources else [],
                parent=track.parent, added_by=track.added_by)
    track.frames, track.boxes, track.scores = track.frames[before], track.boxes[before], track.scores[before]
    track.sources = [s for s, b in zip(track.sources, before, strict=False) if b] if track.sources else []
    track.embeddings, track.thumbnail = [], (track.thumbnail if track.thumbnail and
                                             track.thumbnail.get("frame", frame) < frame else None)
    for child in out.tracks:
        if child.parent == track_id and len(child.frames) and int(child.frames[0]) >= frame:
            child.parent = new.id
    out.tracks.append(new)
    return out, track, new

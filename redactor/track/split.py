"""Cut person and face tracks where their identity may change, so that keeping a track never carries across a swap.

A tracker that links boxes by overlap swaps identities where two people cross or walk through each other, and can
pick up a stranger after losing someone behind another. Nothing can tell from a track alone which of its frames
follow whom, so every person and face track is cut (issue 14):
- where its box overlaps another box of its kind (persons: IoU >= PERSON_CONTACT; faces and heads: their boxes
  grown by half overlap): the overlapping run becomes a piece of its own, marked `contact` (identity not
  confirmed there);
- where a person near another (their boxes overlap at all) moves unlike their own motion so far: a tracker that
  swapped two people who pass each other shows it as a jump in pace (an overtaking clip: the swap happened at IoU
  0.15, the boxes' centres 0.8 and 0.45 of a width off their constant-velocity paths); both are cut there;
- where a person's appearance jumps (the colours of the body in a keyframe against the mean of the piece so far).
The first piece keeps the track's id and every later piece gets a new one, with `origin` naming the track it came
from. A face's parent is then the person piece whose head region holds it (`assign_parents`). The identity guard
(redactor.identify.guard) links pieces back to the requester where motion and appearance, or their face, say so.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from redactor import geometry
from redactor.identify.appearance import similarity
from redactor.track.masks import head_region
from redactor.track.table import Track

PERSON_CONTACT = 0.3  # IoU of two person boxes from which either may continue as the other
PERSON_NEAR = 0.03  # IoU from which a jump in pace is taken for a swap
MOTION_JUMP = 0.4  # box widths between a detection and where the track's own constant velocity puts it
FACE_GROW = 0.5  # face and head boxes grown by this share of their size on each side before testing overlap
JUMP = 0.45  # a person keyframe whose appearance is less similar than this to its piece's mean starts a new piece
JUMP_CONFIRM = 2  # ...when the next keyframe agrees (one odd crop is no jump)
MIN_PIECE = 2  # rows: shorter contact-free runs between contacts join the contact piece


def dense(track: Track) -> tuple[np.ndarray, np.ndarray]:
    """Frames and boxes over the track's span, gaps interpolated (as render fills them)."""
    span = np.arange(int(track.frames[0]), int(track.frames[-1]) + 1)
    return span, geometry.interpolate(track.frames, track.boxes, span)


def contact_frames(tracks: list[Track], label: str, threshold: float | None = None) -> dict[int, set[int]]:
    """track id -> the frames where its (interpolated) box overlaps another track's of the same label (persons:
    IoU >= `threshold`, default PERSON_CONTACT)."""
    boxes: dict[int, dict[int, np.ndarray]] = defaultdict(dict)  # frame -> id -> box
    for t in tracks:
        if t.label != label or not len(t.frames):
            continue
        for f, b in zip(*dense(t), strict=True):
            boxes[int(f)][t.id] = b
    out: dict[int, set[int]] = defaultdict(set)
    for f, per in boxes.items():
        if len(per) < 2:
            continue
        ids = list(per)
        arr = np.asarray([per[i] for i in ids], np.float32)
        if label == "person":
            touching = geometry.iou_pairs(arr[:, None], arr[None]) >= (PERSON_CONTACT if threshold is None
                                                                       else threshold)
        else:
            g = geometry.pad(arr, FACE_GROW)
            touching = geometry.iou_pairs(g[:, None], g[None]) > 0
        np.fill_diagonal(touching, False)
        for i in np.nonzero(touching.any(axis=1))[0]:
            out[ids[i]].add(f)
    return out


def _jumps(track: Track, descriptors: dict[int, np.ndarray]) -> set[int]:
    """Row indices where the person's appearance jumps from what the piece showed so far (JUMP_CONFIRM keyframes
    in a row unlike the piece's recent mean)."""
    cuts: set[int] = set()
    ref: list[np.ndarray] = []
    unlike: list[tuple[int, np.ndarray]] = []
    for i, f in enumerate(track.frames):
        d = descriptors.get(int(f))
        if d is None or np.isnan(d).any():
            continue
        if ref and float(similarity(d, np.mean(ref[-6:], axis=0))[0, 0]) < JUMP:
            unlike.append((i, d))
            if len(unlike) >= JUMP_CONFIRM:
                cuts.add(unlike[0][0])
                ref, unlike = [x for _, x in unlike], []
            continue
        ref += [x for _, x in unlike] + [d]  # an odd crop or two: part of the piece after all
        unlike = []
    return cuts


def _pace_jumps(track: Track) -> set[int]:
    """Frames of the track's detections (not boxes carried by flow) whose centre lies more than MOTION_JUMP box
    widths from where the two detections before put it at constant velocity."""
    rows = [i for i, s in enumerate(track.sources) if s != "flow"] if track.sources else list(range(len(track.frames)))
    out = set()
    for a, b, c in zip(rows, rows[1:], rows[2:], strict=False):
        fa, fb, fc = (int(track.frames[k]) for k in (a, b, c))
        ca, cb, cc = ((track.boxes[k, :2] + track.boxes[k, 2:]) / 2 for k in (a, b, c))
        pred = cb + (cb - ca) * (fc - fb) / max(fb - fa, 1)
        width = max(float(track.boxes[c, 2] - track.boxes[c, 0]), 1.0)
        if float(np.hypot(*(cc - pred))) / width > MOTION_JUMP:
            out.add(fc)
    return out


def _swap_cuts(tracks: list[Track]) -> dict[int, set[int]]:
    """track id -> frames to cut at: a person near another who jumps in pace, and the others near them then."""
    persons = [t for t in tracks if t.label == "person" and len(t.frames) >= 3]
    near = contact_frames(persons, "person", PERSON_NEAR)
    spans = {t.id: dense(t) for t in persons}
    cuts: dict[int, set[int]] = defaultdict(set)
    for t in persons:
        for f in _pace_jumps(t):
            window = set(range(f - 4, f + 1))
            if not window & near.get(t.id, set()):
                continue
            cuts[t.id].add(f)
            for u in persons:  # whoever was near: the other side of the swap
                if u.id == t.id or not window & near.get(u.id, set()):
                    continue
                fr, bx = spans[u.id]
                ft, bt = spans[t.id]
                both = [k for k in window if k in set(fr.tolist()) and k in set(ft.tolist())]
                if any(geometry.iou_pairs(bx[k - int(fr[0])], bt[k - int(ft[0])]) >= PERSON_NEAR for k in both):
                    cuts[u.id].add(f)
    return cuts


def split_tracks(tracks: list[Track], descriptors: dict[int, dict[int, np.ndarray]] | None = None) -> list[Track]:
    """Person and face tracks cut at contacts and (persons) appearance jumps; other tracks unchanged. `descriptors`:
    track id -> frame -> appearance descriptor of that row (redactor.identify.appearance), where measured."""
    descriptors = descriptors or {}
    contact = {**contact_frames(tracks, "person"), **contact_frames(tracks, "face")}
    swaps = _swap_cuts(tracks)
    next_id = max((t.id for t in tracks), default=0) + 1
    out: list[Track] = []
    for t in tracks:
        if t.label not in ("person", "face") or len(t.frames) < 2:
            out.append(t)
            continue
        touching = np.array([int(f) in contact.get(t.id, ()) for f in t.frames])
        # a short contact-free run between two contacts is part of the crossing
        runs = _runs(touching)
        for k, (a, b, v) in enumerate(runs):
            if not v and 0 < k < len(runs) - 1 and b - a < MIN_PIECE:
                touching[a:b] = True
        jumps = _jumps(t, descriptors.get(t.id, {})) if t.label == "person" else set()
        # a cut between rows at frame f starts the new piece at the first row from f on
        jumps |= {int(np.searchsorted(t.frames, f)) for f in swaps.get(t.id, ())}
        starts = [0] + [i for i in range(1, len(t.frames)) if touching[i] != touching[i - 1] or i in jumps]
        if len(starts) == 1:
            t.contact = bool(touching.all())
            out.append(t)
            continue
        for k, a in enumerate(starts):
            b = starts[k + 1] if k + 1 < len(starts) else len(t.frames)
            piece = Track(id=t.id if k == 0 else next_id, label=t.label, frames=t.frames[a:b].copy(),
                          boxes=t.boxes[a:b].copy(), scores=t.scores[a:b].copy(), sources=list(t.sources[a:b]),
                          parent=t.parent, thumbnail=None, origin=t.id, contact=bool(touching[a]))
            if k:
                next_id += 1
            out.append(piece)
    return out


def _runs(flags: np.ndarray) -> list[tuple[int, int, bool]]:
    out, start = [], 0
    for i in range(1, len(flags) + 1):
        if i == len(flags) or flags[i] != flags[start]:
            out.append((start, i, bool(flags[start])))
            start = i
    return out


def assign_parents(tracks: list[Track], plate_parents: dict[int, int] | None = None) -> None:
    """A face's parent is the person whose head region (grown by half) holds the face's centre in at least half of
    the face's rows, and no other person's head does there; a plate keeps the parent the builder gave it."""
    persons = [p for p in tracks if p.label == "person" and len(p.frames)]
    heads: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
    for p in persons:
        f, b = dense(p)
        for fi, h in zip(f, geometry.pad(head_region(b), 0.5), strict=True):
            heads[int(fi)].append((p.id, h))
    for t in tracks:
        if t.label != "face":
            continue
        votes: dict[int, int] = defaultdict(int)
        cx = (t.boxes[:, 0] + t.boxes[:, 2]) / 2
        cy = (t.boxes[:, 1] + t.boxes[:, 3]) / 2
        for f, x, y in zip(t.frames, cx, cy, strict=True):
            holders = [pid for pid, h in heads.get(int(f), ()) if h[0] <= x <= h[2] and h[1] <= y <= h[3]]
            if len(holders) == 1:
                votes[holders[0]] += 1
        t.parent = None
        if votes:
            best, n = max(votes.items(), key=lambda kv: kv[1])
            if 2 * n >= len(t.frames):
                t.parent = best

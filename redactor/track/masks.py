"""From a track table and a keep-set to the boxes masked in each frame: gaps inside a track filled, every mask
padded in space and in time, head regions of people masked where no face detector can see a face.

Recall first: a box is only ever added here, never removed. Padding in time extrapolates the track's motion a few
frames beyond its first and last detection (a face enters the picture a frame or two before a detector finds it)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass

import numpy as np

from redactor import geometry
from redactor.track.motion import apply, invert
from redactor.track.table import Track, TrackTable


@dataclass(frozen=True)
class MaskParams:
    # Issue 13 (docs/decisions.md): with the tracker following the camera and pieces joined, a face's track is whole
    # and its masks no longer pile up grown copies; part of that collateral bought back as padding (tuning clips).
    # Then (2026-12-01) 0.35 / 6+6 / 0.25 were eased to 0.3 / 5+5 / 0.2: on 960x540 crowd clips made by
    # shared/tools/make_clip.py (the acceptance's kind) they masked 0.9942-1.000 at collateral 0.132-0.195, the
    # collateral limit's side; these mask 0.9934-1.000 at 0.108-0.168 (masks alone, docs/decisions.md).
    face_pad: float = 0.3  # share of the box's width/height added on each side
    plate_pad: float = 0.25
    head_pad: float = 0.15
    min_pad_px: float = 3.0
    pad_before: int = 5  # frames
    pad_after: int = 5
    heads_from_persons: bool = True
    # Heads taller than this (px) get no mask from the body box: a face that size is found by the face models when it
    # is visible, and a head without a face at that size is turned away. Smaller heads are masked regardless.
    head_max_height: float = 32.0
    grow_per_frame: float = 0.2  # padding grows by this share of itself per frame away from a track's ends
    # Tracks of one label where one ends and another starts within `join_gap` frames of it, the end box carried
    # there by the camera's motion overlapping the start box by IoU >= `join_iou`, are masked as one track: padded in
    # time at the ends of the whole chain only, the gap interpolated (see `_chains`). -1 for the keyframe stride.
    join_gap: int = -1
    join_iou: float = 0.3
    # Between keyframes, also mask each detection carried by the camera's motion alone (see `_held`).
    hold_with_camera: bool = True
    # Collateral (issue 13, docs/decisions.md "Collateral of the masks, by source"): the scorer spares each labelled
    # face's box grown to twice its size, so padding a labelled face is nearly free; what costs is padding on faces
    # nobody labelled (a painted face, a poster, a false box): 0.066 of 0.105 of a tuning crowd clip's face-mask
    # collateral was spatial padding. A large face's box is found to within a few pixels, and a share of 0.3 of a
    # 330 px face is 100 px a side, so padding tapers with the box's height: `face_pad` up to `taper_from` px,
    # `face_pad_large` from `taper_to` px, linear between (None: no taper). Tuning clips: no labelled face lost.
    face_pad_large: float | None = 0.1
    taper_from: float = 32.0
    taper_to: float = 96.0
    # The growth in time stops at this factor of the padding (None: grows over all the padded frames, up to 2.6x at
    # 8 frames before a keyframe track's start). Past 1.5x it bought 0.0015 of a hard tuning clip's faces for 0.007
    # of collateral.
    grow_max: float | None = 1.5
    # Spatial padding of an audit finding's re-mask (None: as a track of its label). Most findings on crowd clips
    # are mask-edge patterns, not faces (redactor.audit.MAX_REMASK_ROUNDS); a real face found is re-audited.
    audit_pad: float | None = 0.2
    # No head mask from a body box in a frame where a face mask already covers this share of the head region.
    head_covered: float | None = 0.5

    def to_json(self) -> dict:
        return asdict(self)


def head_region(person: np.ndarray) -> np.ndarray:
    """The head of a person box (n, 4): faces of 8-10 px are found by no face detector, so every person's head is
    masked from the body box. An upper-body box (square-ish) gets a taller share than a full standing figure."""
    x1, y1, x2, y2 = person.T
    w, h = x2 - x1, y2 - y1
    hh = np.minimum(np.maximum(0.22 * h, 0.5 * w), 0.55 * h)
    hw = np.minimum(w, np.maximum(0.55 * w, 0.9 * hh))
    cx = (x1 + x2) / 2
    return np.column_stack([cx - hw / 2, y1 - 0.05 * hh, cx + hw / 2, y1 + hh]).astype(np.float32)


def expand_keep(table: TrackTable, keep: set[int]) -> set[int]:
    """A kept person keeps their face tracks; a kept face keeps its person (the body); a kept vehicle its plates.
    A face's parent is the person whose head region holds it (redactor.track.split.assign_parents), and every face
    and person kept is still checked frame by frame by the identity guard, which masks the frames it cannot verify
    (redactor.identify.guard)."""
    kept = set(keep)
    by_id = table.by_id()
    for t in table.tracks:
        if t.parent is not None and t.parent in keep:
            kept.add(t.id)
        if t.id in keep and t.parent is not None and by_id.get(t.parent) and t.label == "face":
            kept.add(t.parent)
    return kept


def interpolate(track: Track, frames: np.ndarray) -> np.ndarray:
    """The track's boxes at these frames (inside its span), linear between its rows: the boxes render masks and
    keeps between keyframes. One home for it: the frame views of the service ask it too."""
    return geometry.interpolate(track.frames, track.boxes, frames)


def tracks_at(table: TrackTable, frame: int) -> list[tuple[Track, np.ndarray]]:
    """Every track present at `frame` (between its first and last row) with its box there, as render uses it."""
    out = []
    for t in table.tracks:
        if len(t.frames) and int(t.frames[0]) <= frame <= int(t.frames[-1]):
            out.append((t, interpolate(t, np.array([frame]))[0]))
    return out


def _dense(track: Track, frames: int, before: int, after: int, motion: np.ndarray | None = None,
           cuts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices and boxes over the track's whole span (gaps interpolated) plus the padding frames. Padding
    follows the camera's measured motion where the table has it (a one-frame track has no velocity of its own),
    else the track's own velocity at its ends. It stops at a cut: what is seen after one was not there before it."""
    f, b = track.frames, track.boxes
    first, last = int(f[0]), int(f[-1])
    span = np.arange(first, last + 1)
    boxes = interpolate(track, span)
    lo, hi = 0, frames
    if cuts is not None and len(cuts):
        k = int(np.searchsorted(cuts, first, side="right"))
        lo = int(cuts[k - 1]) if k else 0  # the last cut at or before the track's first frame
        k = int(np.searchsorted(cuts, last, side="right"))
        hi = int(cuts[k]) if k < len(cuts) else frames  # the next cut after its last frame
    pre = np.arange(max(lo, first - before), first)
    post = np.arange(last + 1, min(hi, last + 1 + after))
    if motion is not None and len(motion) >= frames:
        pre_boxes, box = [], b[:1]
        for i in range(first, first - len(pre), -1):  # carry back: frame i's box into frame i-1
            box = apply(invert(motion[i]), box)
            pre_boxes.insert(0, box[0])
        post_boxes, box = [], b[-1:]
        for i in post:
            box = apply(motion[i], box)
            post_boxes.append(box[0])
        pre_b = np.asarray(pre_boxes, np.float32).reshape(-1, 4)
        post_b = np.asarray(post_boxes, np.float32).reshape(-1, 4)
    else:
        v = (b[min(2, len(b) - 1)] - b[0]) / max(int(f[min(2, len(f) - 1)]) - first, 1)
        pre_b = b[0] + (pre - first)[:, None] * v
        k = max(0, len(b) - 3)
        v = (b[-1] - b[k]) / max(last - int(f[k]), 1)
        post_b = b[-1] + (post - last)[:, None] * v
    parts_f = [pre, span, post]
    parts_b = [pre_b, boxes, post_b]
    return np.concatenate(parts_f), np.concatenate(parts_b).astype(np.float32)


AUDIT_PAD_FRAMES = 2  # frames either side of an audit finding's frame that its re-mask covers


def time_padding(table: TrackTable, params: MaskParams | None = None) -> tuple[int, int]:
    """How many frames before a track's first row and after its last its masks reach."""
    params = params or MaskParams()
    # Detectors ran on every `stride`-th frame only: a face first seen at a keyframe may have been there since the
    # frame after the previous one. (After its last keyframe a track's boxes are carried by optical flow up to the
    # next keyframe, so its end needs no more than the usual padding.)
    reach = max(1, int(table.params.get("stride", 1))) - 1
    return params.pad_before + reach, params.pad_after


def plan_masks(table: TrackTable, keep: set[int] | None = None, params: MaskParams | None = None,
               window: tuple[int, int] | None = None) -> dict[int, np.ndarray]:
    """frame index -> (n, 4) float32 boxes to mask, in pixels of the upright frame. `window` (first, end): only
    those frames, from only the tracks that reach them (a segment's render holds its own frames' masks, not the
    whole recording's); the boxes are those of the whole plan."""
    params = params or MaskParams()
    before, after = time_padding(table, params)
    reach = max(1, int(table.params.get("stride", 1))) - 1  # frames between keyframes
    kept = expand_keep(table, keep or set())
    per_frame: dict[int, list[np.ndarray]] = defaultdict(list)
    motion = np.asarray(table.motion, np.float32).reshape(-1, 2, 3) if table.motion else None
    cuts = np.unique(np.asarray(table.cuts, np.int64))
    gap = reach + 1 if params.join_gap < 0 else params.join_gap
    pieces = _split_at_cuts(_whole_tracks(table, kept), cuts)
    # Bodies last: a head mask is left out where a face mask already covers the head (`head_covered`).
    chains = sorted(_chains(pieces, motion, cuts, gap, params.join_iou), key=lambda c: c[0].label == "person")
    face_masks: dict[int, list[np.ndarray]] = defaultdict(list)
    for t, allowed in chains:
        if t.label == "face":
            frac = params.face_pad
        elif t.label == "plate":
            frac = params.plate_pad
        elif t.label == "person" and params.heads_from_persons:
            frac = params.head_pad
        else:
            continue
        # An audit finding (a one-frame track of redactor.audit) is masked AUDIT_PAD_FRAMES either side, not grown:
        # the audit saw that frame, the frames beside it are masked with it, and the next round audits again those
        # whose masks changed. Padded and grown as a track's end it made 15-frame blobs out of each of a crowd clip's
        # 180 mask-edge findings.
        found = set(t.sources) == {"audit"}
        if found and params.audit_pad is not None:
            frac = params.audit_pad
        t_before, t_after = (AUDIT_PAD_FRAMES, AUDIT_PAD_FRAMES) if found else (before, after)
        if window is not None and (int(t.frames[-1]) + t_after < window[0] or
                                   int(t.frames[0]) - t_before >= window[1]):
            continue
        frames, boxes = _dense(t, table.frames, t_before, t_after, motion, cuts)
        if params.hold_with_camera and motion is not None:
            held_f, held_b = _held(t, motion, cuts, reach + 1)
            frames, boxes = np.concatenate([frames, held_f]), np.concatenate([boxes, held_b])
        if allowed is not None:
            frames, boxes = frames[allowed(frames)], boxes[allowed(frames)]
        if window is not None:
            inside = (frames >= window[0]) & (frames < window[1])
            frames, boxes = frames[inside], boxes[inside]
        if t.label == "person":
            boxes = head_region(boxes)
            small = (boxes[:, 3] - boxes[:, 1]) <= params.head_max_height
            frames, boxes = frames[small], boxes[small]
        # Extrapolated frames are less certain: grow their padding with the distance from the track's ends.
        dist = np.maximum(t.frames[0] - frames, frames - t.frames[-1]).clip(0)
        grow = 0.0 if found else params.grow_per_frame
        scale = 1.0 + grow * dist
        if params.grow_max is not None:
            scale = np.minimum(scale, params.grow_max)
        if t.label == "face" and not found and params.face_pad_large is not None:
            frac = _tapered(boxes, params)
        boxes = geometry.pad(boxes, frac, params.min_pad_px, scale)
        if t.label == "person" and params.head_covered is not None:
            boxes, frames = _uncovered_heads(boxes, frames, face_masks, params.head_covered)
        for fi, box in zip(frames, boxes, strict=True):
            per_frame[int(fi)].append(box)
            if t.label == "face":
                face_masks[int(fi)].append(box)
    return {f: np.asarray(v, np.float32) for f, v in per_frame.items()}


def _tapered(boxes: np.ndarray, params: MaskParams) -> np.ndarray:
    """Per box, the face padding share for its height: `face_pad` up to `taper_from` px, `face_pad_large` from
    `taper_to` px, linear between."""
    h = boxes[:, 3] - boxes[:, 1]
    a = ((h - params.taper_from) / max(params.taper_to - params.taper_from, 1e-6)).clip(0.0, 1.0)
    large = params.face_pad if params.face_pad_large is None else params.face_pad_large
    return (params.face_pad + (large - params.face_pad) * a).astype(np.float32)


def _uncovered_heads(heads: np.ndarray, frames: np.ndarray, face_masks: dict[int, list[np.ndarray]],
                     share: float) -> tuple[np.ndarray, np.ndarray]:
    """The head masks (and their frames) that the frame's face masks do not already cover by `share` or more."""
    keep = np.ones(len(frames), bool)
    for k, fi in enumerate(frames):
        faces = face_masks.get(int(fi))
        if faces:
            keep[k] = geometry.coverage_matrix(heads[k:k + 1], np.asarray(faces)).max() < share
    return heads[keep], frames[keep]


def _whole_tracks(table: TrackTable, kept: set[int]):
    """The tracks to mask, with the pieces cut from one track (redactor.track.split) joined again, so that the
    frames between two pieces are filled as in any track; where some pieces are kept, a filter of the frames left
    to mask (those outside the kept pieces' spans, and no padding in time beyond a kept piece at either end)."""
    groups: dict[int, list[Track]] = defaultdict(list)
    for t in table.tracks:
        if len(t.frames):
            groups[t.origin if t.origin is not None else t.id].append(t)
    for members in groups.values():
        if len(members) == 1:
            if members[0].id not in kept:
                yield members[0], None
            continue
        members.sort(key=lambda m: int(m.frames[0]))
        spans = [(int(m.frames[0]), int(m.frames[-1])) for m in members if m.id in kept]
        if len(spans) == len(members):
            continue
        frames = np.concatenate([m.frames for m in members])
        order = np.argsort(frames, kind="stable")
        sources = _sources(members)
        whole = Track(id=members[0].origin or members[0].id, label=members[0].label, frames=frames[order],
                      boxes=np.concatenate([m.boxes for m in members])[order],
                      scores=np.concatenate([m.scores for m in members])[order],
                      sources=[sources[k] for k in order] if sources else [])
        first, last = int(whole.frames[0]), int(whole.frames[-1])
        head_kept, tail_kept = members[0].id in kept, max(members, key=lambda m: int(m.frames[-1])).id in kept

        def allowed(frames: np.ndarray, spans=spans, first=first, last=last, head_kept=head_kept,
                    tail_kept=tail_kept) -> np.ndarray:
            ok = np.ones(len(frames), bool)
            for a, b in spans:
                ok &= ~((frames >= a) & (frames <= b))
            if head_kept:
                ok &= frames >= first
            if tail_kept:
                ok &= frames <= last
            return ok

        yield whole, (allowed if spans else None)


def _split_at_cuts(tracks, cuts: np.ndarray):
    """Each track cut at the cuts it spans. The tracker may continue a track across a cut (a box in the new picture
    where one was in the old); masked whole, its box would be interpolated across the cut from one picture's face to
    another's, and neither side padded in time towards it."""
    for t, allowed in tracks:
        inside = cuts[(cuts > t.frames[0]) & (cuts <= t.frames[-1])] if len(cuts) else cuts
        if not len(inside):
            yield t, allowed
            continue
        side = np.searchsorted(inside, t.frames, side="right")
        for k in np.unique(side):
            sel = np.nonzero(side == k)[0]
            yield Track(id=t.id, label=t.label, frames=t.frames[sel], boxes=t.boxes[sel], scores=t.scores[sel],
                        sources=[t.sources[i] for i in sel] if t.sources else []), allowed


def _held(track: Track, motion: np.ndarray, cuts: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Each detector row of the track (not a box carried by optical flow) carried by the camera's measured motion
    into the frames after it, up to the track's next detector row, `horizon` frames at most and never across a cut.
    Between keyframes a track's boxes are moved by the optical flow of a few points inside each box; on a small face
    in a noisy, shaking picture those points slip (a 20 px face carried 40 px away in one frame) or the box goes to
    another track, and the mask left the face for the rest of the stride (issue 13: whole frames of faces unmasked
    two frames after a keyframe). A face standing still in the scene moves exactly with the camera, so the mask is
    held there too; where the two agree the boxes overlap and cost nothing."""
    if not track.sources:
        return np.zeros(0, np.int64), np.zeros((0, 4), np.float32)
    rows = [k for k, src in enumerate(track.sources) if src != "flow"]
    out_f, out_b = [], []
    for n, k in enumerate(rows):
        f0 = int(track.frames[k])
        stop = min(f0 + horizon, int(track.frames[rows[n + 1]]) if n + 1 < len(rows) else f0 + horizon,
                   len(motion) - 1)
        box = track.boxes[k:k + 1]
        for f in range(f0 + 1, stop + 1):
            if f in cuts:
                break
            box = apply(motion[f], box)
            out_f.append(f)
            out_b.append(box[0])
    return np.asarray(out_f, np.int64), np.asarray(out_b, np.float32).reshape(-1, 4)


def _chains(tracks, motion: np.ndarray | None, cuts: np.ndarray, gap: int, min_iou: float):
    """The tracks to mask (from `_whole_tracks`), those masked whole (no kept piece) joined end to start into
    chains. ByteTrack starts no track from a box under its activation score, so a small face found at every
    keyframe with a score of 0.1-0.3 became one track per keyframe (a keyframe and the frames carried after it):
    each piece padded in time and grown by itself, about three grown copies of the mask on every frame, most of the
    collateral on shaking footage (issue 13). Joined, the face is one track: masked over its whole life, padded at
    its ends, and a keyframe that missed it in the middle is filled by interpolation."""
    items = list(tracks)
    whole = [i for i, (t, allowed) in enumerate(items) if allowed is None]
    by_start: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i in whole:
        by_start[(items[i][0].label, int(items[i][0].frames[0]))].append(i)
    nxt: dict[int, int] = {}
    taken: set[int] = set()
    for i in sorted(whole, key=lambda i: int(items[i][0].frames[-1])):
        t = items[i][0]
        end, box = int(t.frames[-1]), t.boxes[-1:]
        best, best_iou = None, min_iou
        for start in range(end + 1, end + 2 + gap):
            if np.any((cuts > end) & (cuts <= start)):
                break  # nothing carries on across a cut
            if motion is not None and start < len(motion):
                box = apply(motion[start], box)  # the end box carried with the picture to `start`
            cands = [j for j in by_start.get((t.label, start), ()) if j not in taken and j != i]
            if not cands:
                continue
            ious = geometry.iou_matrix(box, np.stack([items[j][0].boxes[0] for j in cands]))[0]
            k = int(np.argmax(ious))
            if ious[k] >= best_iou:
                best, best_iou = cands[k], float(ious[k])
                break  # the nearest start in time that overlaps
        if best is not None:
            nxt[i] = best
            taken.add(best)
    for i, (t, allowed) in enumerate(items):
        if allowed is not None:
            yield t, allowed
        elif i not in taken:  # the head of a chain
            members = [t]
            while i in nxt:
                i = nxt[i]
                members.append(items[i][0])
            if len(members) == 1:
                yield t, None
                continue
            yield Track(id=t.id, label=t.label, frames=np.concatenate([m.frames for m in members]),
                        boxes=np.concatenate([m.boxes for m in members]),
                        scores=np.concatenate([m.scores for m in members]), sources=_sources(members)), None


def _sources(members: list[Track]) -> list[str]:
    """The members' row sources end to end, or none where one of them has none."""
    return [s for m in members for s in m.sources] if all(m.sources for m in members) else []


def kept_boxes(table: TrackTable, keep: set[int], labels: tuple[str, ...] | None = None) -> dict[int, np.ndarray]:
    """frame index -> boxes of the kept tracks (of `labels`, default all), interpolated between a track's rows as
    render fills them: analysis detects on keyframes, and the audit looks at the frames between them."""
    out: dict[int, list[np.ndarray]] = defaultdict(list)
    kept = expand_keep(table, keep)
    for t in table.tracks:
        if t.id in kept and len(t.frames) and (labels is None or t.label in labels):
            frames, boxes = _dense(t, table.frames, 0, 0)
            for f, b in zip(frames, boxes, strict=True):
                out[int(f)].append(b)
    return {f: np.asarray(v, np.float32) for f, v in out.items()}

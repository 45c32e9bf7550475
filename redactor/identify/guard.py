"""Fail closed on identity: a kept track shows the requester, or it is masked.

A tracker can swap identities when two people cross, or a second person can step into a kept box; the kept track
then follows a stranger. Before render, one pass over the video looks for faces inside every kept face box and in
the head of every kept person box, embeds them and compares them with the reference (the requester's photo when one
was given, with the kept tracks' crops that match it; else the best crops of the tracks the clerk chose). A face
that does not match is masked in that frame. A mismatch that persists (two checks in a row with no match between)
is an identity swap: the track is masked from the frame after its last match to its end, and reported. Faces too
small to judge (< 20 px) neither confirm nor condemn.

`IdentityGuard(table, keep, video, reference)` is the `extra_masks(image, frame_index)` callable of
`redactor.pipeline.render`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from redactor.detect.nms import nms
from redactor.identify.embeddings import MIN_FACE_PX, enrich_embeddings
from redactor.identify.faces import FoundFaces, faces_in_region
from redactor.identify.sface import THRESHOLD, SFace, cosine
from redactor.media import decode, probe
from redactor.progress import progress
from redactor.track.masks import expand_keep, head_region
from redactor.track.table import Track, TrackTable

CONFIRM = 2  # consecutive mismatching checks that make an identity swap
PAD = 0.3  # mask padding, as render's face masks
PAD_AFTER = 6  # frames masked past a swapped track's end (render pads tracks in time by as much)
CANDIDATE_RUN = 4  # consecutive matching checks before a face in a track not kept is shown as the requester's


@dataclass
class Check:
    frame: int
    score: float  # cosine with the reference
    box: np.ndarray  # the face found, frame pixels
    clear: bool = False  # no other face overlaps it

    @property
    def matched(self) -> bool:
        return self.score >= THRESHOLD


def dense_boxes(track: Track) -> dict[int, np.ndarray]:
    """frame -> box over the track's whole span, gaps interpolated (as render fills them)."""
    f, b = track.frames, track.boxes
    span = np.arange(int(f[0]), int(f[-1]) + 1)
    boxes = np.column_stack([np.interp(span, f, b[:, k]) for k in range(4)]).astype(np.float32)
    return {int(i): box for i, box in zip(span, boxes, strict=True)}


def reference_of(track: Track) -> np.ndarray | None:
    """The track's own reference when no photo was given: its best crops that agree with their medoid (a track that
    swapped identity mid-way keeps the identity most of its best crops show)."""
    if not track.embeddings:
        return None
    e = np.asarray(track.embeddings, np.float32)
    sim = cosine(e, e)
    medoid = int(np.argmax(sim.sum(axis=1)))
    return e[sim[medoid] >= THRESHOLD]


def _pad(box: np.ndarray, frac: float = PAD, min_px: float = 3.0) -> np.ndarray:
    w, h = box[2] - box[0], box[3] - box[1]
    dx, dy = max(w * frac, min_px), max(h * frac, min_px)
    return np.array([box[0] - dx, box[1] - dy, box[2] + dx, box[3] + dy], np.float32)


class IdentityGuard:
    def __init__(self, table: TrackTable, keep, video: str | Path, reference: np.ndarray | None = None,
                 show_progress: bool = False) -> None:
        self.table = table
        self.chosen = {int(k) for k in keep}
        self.keep = expand_keep(table, self.chosen)
        self.video = Path(video)
        self.reference = None if reference is None else np.asarray(reference, np.float32).reshape(-1, 128)
        self.show_progress = show_progress
        self.events: list[dict] = []
        self._masks: dict[int, list[np.ndarray]] | None = None
        self._visible: dict[int, list[np.ndarray]] = {}
        self._segments: list[list[Check]] = []
        self.added: list[int] = []  # kept tracks the guard made: the requester's face verified in other tracks
        self._others = _raw_faces(table, self.keep)
        self._held: tuple[int, list[tuple[tuple[int, int, int, int], np.ndarray]]] | None = None

    def __call__(self, image: np.ndarray, index: int) -> np.ndarray:
        """Extra boxes to mask in this frame (render calls it before painting, with the decoded frame)."""
        if self._masks is None:
            self.run()
        self._hold(image, index)
        boxes = self._masks.get(index) if self._masks else None
        return np.asarray(boxes, np.float32).reshape(-1, 4) if boxes else np.zeros((0, 4), np.float32)

    def _hold(self, image: np.ndarray, index: int) -> None:
        held = []
        h, w = image.shape[:2]
        others = self._others.get(index)
        for box in self._visible.get(index, ()):
            if others is not None and (_overlaps(box, others) & (_iou(box, others) < 0.5)).any():
                continue  # a face the engine found (and YuNet did not) partly overlaps it: it stays masked
            x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
            x2, y2 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
            if x2 > x1 and y2 > y1:
                held.append(((x1, y1, x2, y2), image[y1:y2, x1:x2].copy()))
        self._held = (index, held)

    def restore(self, image: np.ndarray, index: int) -> np.ndarray:
        """A render hook (run it first): puts back the requester's verified face where another track's mask covers
        it (a neighbour's padded mask, a person box's head region, a mask padded in time). Only a face that YuNet
        found in a kept region, that SFace matched to the reference, and that no other face overlaps."""
        if self._held is None or self._held[0] != index:
            return image
        for (x1, y1, x2, y2), pixels in self._held[1]:
            image[y1:y2, x1:x2] = pixels
        self._held = None
        return image

    def _reference(self) -> np.ndarray | None:
        """One reference for every kept region: the photo (with the kept tracks' own crops that match it, which are
        at the clip's resolution), else the best crops of the tracks the clerk chose, medoid-filtered. A face track
        that is kept only because its person is kept is checked against this, never against itself (a stranger's
        face assigned to the requester's body would otherwise vouch for itself)."""
        by_id = self.table.by_id()
        chosen = [by_id[k] for k in self.chosen if k in by_id]
        own = [e for t in chosen for e in t.embeddings]
        own += [e for t in chosen if t.label != "face" for c in self.table.tracks if c.parent == t.id
                for e in c.embeddings]
        if self.reference is not None:
            if own:
                e = np.asarray(own, np.float32)
                agree = e[cosine(e, self.reference).max(axis=1) >= THRESHOLD]
                return np.concatenate([self.reference, agree])
            return self.reference
        if not own:
            return None
        return reference_of(Track(id=-1, label="face", frames=np.zeros(0), boxes=np.zeros((0, 4)),
                                  scores=np.zeros(0), embeddings=own))

    def prepare(self) -> list[int]:
        """Run the pre-pass (once) and return the ids of the tracks it added to the table; render and audit
        must keep them too: `keep = [*keep, *guard.prepare()]`."""
        if self._masks is None:
            self.run()
        return list(self.added)

    def run(self) -> list[dict]:
        """The pre-pass over the video: per-frame masks and the reported events."""
        kept = [t for t in self.table.tracks if t.id in self.keep and t.label in ("face", "person") and len(t.frames)]
        faces = {t.id for t in kept if t.label == "face"}
        if not kept:  # a kept vehicle and its plate: no face to check
            self._masks = {}
            return self.events
        if not any(t.embeddings for t in kept if t.label == "face"):
            enrich_embeddings(self.table, self.video, only=faces)
        ref = self._reference()
        if ref is None:
            self.events.append({"track": sorted(self.chosen), "event": "unverifiable",
                                "detail": "no face embedding for the kept tracks: their identity cannot be checked"})
            self._masks = {}
            return self.events
        regions: dict[int, list[tuple[Track, np.ndarray]]] = defaultdict(list)
        spans: dict[int, dict[int, np.ndarray]] = {}
        for t in kept:
            spans[t.id] = dense_boxes(t)
            for f, box in spans[t.id].items():
                regions[f].append((t, head_region(box[None])[0] if t.label == "person" else box))
        # Face tracks not kept but large enough to judge: after an identity swap the requester's face goes on in
        # another track; where that track shows the requester steadily, their face is shown (see `_candidates`).
        candidates = [t for t in self.table.tracks if t.label == "face" and t.id not in self.keep and len(t.frames)
                      and float(np.median(t.boxes[:, 3] - t.boxes[:, 1])) >= MIN_FACE_PX]
        for t in candidates:
            for f, box in zip(t.frames, t.boxes, strict=True):
                regions[int(f)].append((t, box))
        masks: dict[int, list[np.ndarray]] = defaultdict(list)
        checks: dict[int, list[Check]] = defaultdict(list)
        if regions:
            sface = SFace()
            info = probe(self.video)
            last = max(regions)
            for frame in progress(decode(self.video, info.rotation), total=last + 1, desc="identity",
                                  enabled=self.show_progress):
                if frame.index in regions:
                    self._check(frame.image, frame.index, regions[frame.index], ref, sface, checks, masks)
                if frame.index >= last:
                    break
        for t in kept:
            if t.id in spans and checks[t.id]:
                self._swaps(t, checks[t.id], spans[t.id], masks)
        for t in candidates:
            self._candidates(checks[t.id])
        self._add_segments()
        self._masks = dict(masks)
        return self.events

    def _check(self, image: np.ndarray, index: int, regions: list[tuple[Track, np.ndarray]], ref: np.ndarray,
               sface: SFace, checks: dict[int, list[Check]], masks: dict[int, list[np.ndarray]]) -> None:
        """Find and judge the faces in one frame's kept regions. Overlapping regions (a face track, its duplicate,
        its person's head) are searched once, and each face found is embedded once."""
        found = FoundFaces.empty()
        for cluster in _clusters([box for _, box in regions]):
            boxes = np.asarray([regions[i][1] for i in cluster])
            union = np.array([boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()])
            face_h = float(np.min(boxes[:, 3] - boxes[:, 1]))
            more = faces_in_region(image, union, pad=0.5, face_h=face_h)
            found = FoundFaces(np.concatenate([found.boxes, more.boxes]), np.concatenate([found.scores, more.scores]),
                               np.concatenate([found.landmarks, more.landmarks]))
        if not len(found):
            return
        keep = nms(found.boxes, found.scores, 0.5)
        found = FoundFaces(found.boxes[keep], found.scores[keep], found.landmarks[keep])
        big = (found.boxes[:, 3] - found.boxes[:, 1]) >= MIN_FACE_PX
        scores = np.full(len(found), np.nan, np.float32)
        if big.any():
            scores[big] = cosine(sface.embed(image, found.landmarks[big]), ref).max(axis=1)
        strangers = [i for i in range(len(found)) if big[i] and scores[i] < THRESHOLD]
        for i in strangers:
            masks[index].append(_pad(found.boxes[i]))  # a face that is not the requester's, inside a kept region
        clear = np.zeros(len(found), bool)
        for i in range(len(found)):
            others = np.delete(found.boxes, i, axis=0)
            clear[i] = big[i] and (not len(others) or not _overlaps(found.boxes[i], others).any())
        cx = (found.boxes[:, 0] + found.boxes[:, 2]) / 2
        cy = (found.boxes[:, 1] + found.boxes[:, 3]) / 2
        for track, box in regions:
            # The region holds the requester while any face centred in it matches: a stranger passing through is
            # masked (above) but is no identity swap; a swap leaves only strangers' faces in the region.
            g = _pad(box, 0.3)
            mine = [i for i in range(len(found)) if big[i] and g[0] <= cx[i] <= g[2] and g[1] <= cy[i] <= g[3]]
            if mine:
                i = max(mine, key=lambda k: scores[k])
                checks[track.id].append(Check(index, float(scores[i]), found.boxes[i], bool(clear[i])))
                # The requester's own face, verified in a kept region and clear of every other face, is shown even
                # where another track's (padded) mask covers it: see `restore`.
                if track.id in self.keep and scores[i] >= THRESHOLD and clear[i]:
                    self._visible.setdefault(index, []).append(found.boxes[i])

    def _candidates(self, checks: list[Check], steady: int = CANDIDATE_RUN) -> None:
        """A face track that is not kept shows the requester's face only in runs of `steady` consecutive checks
        that all match: one matching frame among strangers' frames could be a false accept (0.3% at 0.363).
        Each such run becomes a new kept track of the verified face boxes (`added`), so that render and the audit
        treat the requester's face there as kept; the track it came from stays masked under it."""
        run: list[Check] = []
        for c in sorted(checks, key=lambda c: c.frame) + [None]:
            if c is not None and c.matched and (not run or c.frame - run[-1].frame <= 2):
                run.append(c)
                continue
            if len(run) >= steady:
                for r in run:
                    if r.clear:
                        self._visible.setdefault(r.frame, []).append(r.box)
                self._segments.append(run)
            run = [c] if c is not None and c.matched else []

    def _add_segments(self) -> None:
        next_id = max((t.id for t in self.table.tracks), default=0) + 1
        for run in self._segments:
            track = Track(id=next_id, label="face", frames=np.array([c.frame for c in run], np.int64),
                          boxes=np.asarray([c.box for c in run], np.float32),
                          scores=np.asarray([c.score for c in run], np.float32), sources=["identity"] * len(run))
            self.table.tracks.append(track)
            self.added.append(next_id)
            self.keep.add(next_id)
            self.events.append({"track": next_id, "event": "requester found in another track",
                                "frames": [int(run[0].frame), int(run[-1].frame)],
                                "score": round(float(np.mean([c.score for c in run])), 3)})
            next_id += 1

    def _swaps(self, track: Track, checks: list[Check], span: dict[int, np.ndarray],
               masks: dict[int, list[np.ndarray]]) -> None:
        # For a person, several faces may be checked in one frame: the frame matches if any face does.
        per_frame: dict[int, Check] = {}
        for c in checks:
            if c.frame not in per_frame or c.score > per_frame[c.frame].score:
                per_frame[c.frame] = c
        ordered = [per_frame[f] for f in sorted(per_frame)]
        last_match = None
        run = 0
        for c in ordered:
            if c.matched:
                last_match, run = c.frame, 0
                continue
            run += 1
            masks[c.frame].append(_region_mask(track, span[c.frame]))
            if run >= CONFIRM:
                start = (last_match + 1) if last_match is not None else min(span)
                end = max(span)
                for f in range(start, end + 1 + PAD_AFTER):
                    box = span.get(f, span[end])
                    masks[f].append(_region_mask(track, box))
                self.events.append({"track": track.id, "event": "identity mismatch", "from_frame": start,
                                    "first_mismatch": ordered[ordered.index(c) - run + 1].frame,
                                    "score": round(c.score, 3)})
                return


def _region_mask(track: Track, box: np.ndarray) -> np.ndarray:
    return _pad(head_region(box[None])[0] if track.label == "person" else box)


def _overlaps(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    others = np.asarray(others, np.float32).reshape(-1, 4)
    return ((np.minimum(box[2], others[:, 2]) > np.maximum(box[0], others[:, 0]))
            & (np.minimum(box[3], others[:, 3]) > np.maximum(box[1], others[:, 1])))


def _clusters(boxes: list[np.ndarray], pad: float = 0.5) -> list[list[int]]:
    """Groups of regions whose padded boxes overlap (connected components)."""
    grown = [_pad(np.asarray(b, np.float32), pad) for b in boxes]
    parent = list(range(len(boxes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            if _overlaps(grown[i], grown[j][None])[0]:
                parent[root(i)] = root(j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(boxes)):
        groups[root(i)].append(i)
    return list(groups.values())


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    inter = ix * iy
    union = (box[2] - box[0]) * (box[3] - box[1]) + (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(union - inter, 1e-6)


def _raw_faces(table: TrackTable, keep: set[int]) -> dict[int, np.ndarray]:
    """frame -> the boxes of faces detected there (not head guesses, nor boxes carried between keyframes by optical
    flow, which follow whatever face is in front) in tracks that are not kept."""
    out: dict[int, list[np.ndarray]] = defaultdict(list)
    for t in table.tracks:
        if t.label != "face" or t.id in keep:
            continue
        for f, b, src in zip(t.frames, t.boxes, t.sources, strict=False):
            if src not in ("head", "flow"):
                out[int(f)].append(b)
    return {f: np.asarray(v, np.float32) for f, v in out.items()}


def guard_for(table: TrackTable, keep, video: str | Path, photo: str | Path | None = None) -> IdentityGuard | None:
    """The identity guard for a render with a keep-set (None without one), its reference from the requester's
    photo when one was given."""
    if not keep:
        return None
    from redactor.identify.propose import embed_photo

    reference = embed_photo(photo).embedding if photo else None
    return IdentityGuard(table, keep, video, reference)

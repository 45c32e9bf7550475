"""Fail closed on identity: a kept track shows the requester, frame by frame, or it is masked and the frame listed.

A tracker swaps identities where two people cross, and a kept box can hold a stranger. Analysis cuts person and
face tracks where that can happen (redactor.track.split): a kept piece never runs across a crossing. Before render,
the guard decides, for every frame of every kept track, whether it shows the requester:

- **Faces of 20 px and up** are found inside every kept face box and kept person's head, embedded with SFace and
  compared with the reference (the requester's photo with the kept tracks' crops that match it; else the best crops
  of the tracks the clerk chose). A face that does not match is masked; a mismatch that persists is an identity
  swap: the track is masked from the frame after its last match to its end. Steady matches in a face track that is
  not kept show the requester there (`added`). Between two chosen face tracks (the detector lost the face for a
  few frames beside or behind someone), the face is looked for where it was going (`_face_gaps`): there too it is
  shown only where SFace matches it clear of every other face, and any other face found there is masked.
- **Smaller faces: the person.** The clerk's person pieces are the requester (the clerk looked at them); a piece
  that starts where one of them ended is the requester's too when the motion model puts it there and the body's
  appearance (redactor.identify.appearance) agrees, clearly better than any other piece that could be it. A piece
  confirmed so shows the requester in every frame where no other person's box overlaps it.
- A kept face of any size is shown in a frame only where SFace matched it, or its piece holds matches and no
  mismatch there, or it sits in the head of a verified requester's body (and in no one else's head).
- A clerk's confirmation (who, when, which frames; redactor.identify.confirm) makes the kept tracks in those frames
  verified, except where SFace saw another face.

Every kept frame that is not verified is masked (face box, or the person's head) and listed with its reason
(`masked_frames`); the requester's verified boxes per frame (`verified`) are all that the audit exempts.

`IdentityGuard(table, keep, video, reference)` is the `extra_masks(image, frame_index)` callable of
`redactor.pipeline.render`; `restore` is its first hook."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from redactor import geometry
from redactor.detect.nms import nms
from redactor.identify.appearance import LINK_APPEARANCE, crop_of, describe_crop, similarity
from redactor.identify.embeddings import MIN_FACE_PX, enrich_embeddings
from redactor.identify.faces import FoundFaces, faces_in_region
from redactor.identify.sface import THRESHOLD, SFace, cosine
from redactor.media import decode, probe
from redactor.progress import progress
from redactor.track.masks import MaskParams, expand_keep, head_region
from redactor.track.masks import _dense as _dense_padded
from redactor.track.split import PERSON_CONTACT, dense
from redactor.track.table import Track, TrackTable

CONFIRM = 2  # consecutive mismatching checks that make an identity swap
PAD = 0.3  # mask padding, as render's face masks
PAD_AFTER = 6  # frames masked past a swapped track's end (render pads tracks in time by as much)
CANDIDATE_RUN = 4  # consecutive matching checks before a face in a track not kept is shown as the requester's
# Linking a person piece to the requester (measured on tests/make_pedestrian_clips.py, docs/decisions.md):
LINK_GAP_S = 3.0  # seconds between a requester piece's end and the next piece's start
LINK_DISTANCE = 0.6  # person heights from where the motion model puts the requester, plus...
LINK_DISTANCE_PER_FRAME = 0.04  # ...this much per frame of gap (the requester may change pace behind someone)
LINK_MARGIN = 0.06  # over every other piece that could be the requester (appearance minus 0.1 per person height)
BACKGROUND_SAMPLES = 40  # frames whose median is a static camera's empty scene
AUDIT_REACH = 8  # frames before and after an audit finding that the restore keeps off it (render's padding)
GAP_PACE = 0.5  # face heights a frame that the requester's face may move between two chosen face tracks
JOIN_GAP = 32  # frames: pieces of one track further apart than this are not bridged (`_joined`)
LOOK_ROWS = 12  # detector boxes of a person piece whose appearance is measured (spread over the piece)


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
    return {int(f): b for f, b in zip(*dense(track), strict=True)}


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
    """A region as the guard pads it: PAD of its size, at least 3 px (render's face padding, redactor.track.masks)."""
    return geometry.pad(box, frac, min_px)

class IdentityGuard:
    def __init__(self, table: TrackTable, keep, video: str | Path, reference: np.ndarray | None = None,
                 show_progress: bool = False, confirmed: list[dict] | None = None) -> None:
        self.table = table
        self.chosen = {int(k) for k in keep}
        self.keep = expand_keep(table, self.chosen)
        self.video = Path(video)
        self.reference = None if reference is None else np.asarray(reference, np.float32).reshape(-1, 128)
        self.show_progress = show_progress
        # the clerk's confirmations: [{"first": f, "last": f, "track": id or None, ...}] (redactor.identify.confirm)
        self.confirmed = list(confirmed or [])
        self.events: list[dict] = []
        self._masks: dict[int, list[np.ndarray]] | None = None
        self._visible: dict[int, list[np.ndarray]] = {}
        self._verified: dict[int, list[np.ndarray]] = defaultdict(list)
        self._masked: dict[tuple[int, str], set[int]] = defaultdict(set)  # (track, reason) -> frames
        self._segments: list[list[Check]] = []
        self.added: list[int] = []  # kept tracks the guard made or linked: the requester verified in other tracks
        self.requester: set[int] = set()  # person pieces that are the requester
        self._segment_ids: set[int] = set()  # kept face tracks made of SFace-verified boxes (`_add_segments`)
        self._swapped: dict[int, int] = {}  # track -> the frame from which an identity swap masks it
        self._others = _raw_faces(table, self.keep)
        self._reach_cache: dict[int, list[tuple[np.ndarray, int]]] | None = None
        self._body_cache: tuple[dict[int, np.ndarray], set[int]] | None = None
        self._heads_shown: dict[int, list[np.ndarray]] = defaultdict(list)  # verified small heads to put back
        self._strangers: dict[int, np.ndarray] = {}  # frame -> every face and head that is not the requester's
        self._strangers_of = -1  # how many tracks the table had when `_strangers` was made
        self._held: tuple[int, list[tuple[tuple[int, int, int, int], np.ndarray, np.ndarray | None]]] | None = None

    # ---- render's interface -------------------------------------------------------------------------------------
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
            x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
            x2, y2 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
            if x2 <= x1 or y2 <= y1:
                continue
            pixels = image[y1:y2, x1:x2].copy()
            partly = (others[geometry.overlaps(box, others) & (geometry.iou_pairs(box, others) < 0.5)]
                      if others is not None else ())
            # a face the engine found (and YuNet did not) partly overlaps it: that face, padded as render pads
            # faces, stays masked; the rest of the requester's face is put back
            out = [_pad(o) for o in partly]
            held.append(((x1, y1, x2, y2), pixels, ~_keep_out(pixels.shape[:2], x1, y1, box, out) if out else None))
        if len(self.table.tracks) != self._strangers_of:  # the audit's findings joined the table: they stay masked
            self._strangers = self._stranger_boxes()
        strangers = self._strangers.get(index, np.zeros((0, 4), np.float32))
        for box in self._heads_shown.get(index, ()):
            x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
            x2, y2 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
            if x2 <= x1 or y2 <= y1:
                continue
            pixels = image[y1:y2, x1:x2].copy()  # someone else's face or head: stays masked
            held.append(((x1, y1, x2, y2), pixels, ~_keep_out(pixels.shape[:2], x1, y1, box, strangers)))
        self._held = (index, held)

    def restore(self, image: np.ndarray, index: int) -> np.ndarray:
        """A render hook (run it first): puts back the requester's verified face where another track's mask covers
        it (a neighbour's padded mask, a person box's head region, a mask padded in time). Only a face that YuNet
        found in a kept region, that SFace matched to the reference, and that no other face overlaps."""
        if self._held is None or self._held[0] != index:
            return image
        for (x1, y1, x2, y2), pixels, where in self._held[1]:
            if where is None:
                image[y1:y2, x1:x2] = pixels
            else:
                image[y1:y2, x1:x2][where] = pixels[where]
        self._held = None
        return image

    def verified(self, index: int) -> np.ndarray:
        """The requester's verified boxes in this frame (faces, and the heads of verified bodies): all the audit
        exempts (redactor.audit.FrameAudit)."""
        if self._masks is None:
            self.run()
        # what `restore` puts back (the requester's face SFace matched there) is verified too
        boxes = [*self._verified.get(index, ()), *self._visible.get(index, ())]
        return np.asarray(boxes, np.float32).reshape(-1, 4) if boxes else np.zeros((0, 4), np.float32)

    def masked_frames(self) -> list[dict]:
        """The kept tracks' frames masked for identity, as ranges, with the reason: for the render report."""
        out = []
        for (track, reason), frames in sorted(self._masked.items()):
            out.append({"track": track, "reason": reason, "frames": sorted(frames),
                        "ranges": _ranges(sorted(frames))})
        return out

    def prepare(self) -> list[int]:
        """Run the pre-pass (once) and return the ids of the tracks it added to the keep-set (pieces of the requester
        found in tracks not kept); render and the audit must keep them too: `keep = [*keep, *guard.prepare()]`."""
        if self._masks is None:
            self.run()
        return list(self.added)

    # ---- the pre-pass ---------------------------------------------------------------------------------------------
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

    def run(self) -> list[dict]:
        """The pre-pass over the video: who the requester is in each frame, the masks where that is not known."""
        by_id = self.table.by_id()
        kept = [t for t in self.table.tracks if t.id in self.keep and t.label in ("face", "person") and len(t.frames)]
        if not kept:  # a kept vehicle and its plate: no one's identity to check
            self._masks = {}
            return self.events
        self._masks = {}
        masks: dict[int, list[np.ndarray]] = defaultdict(list)
        # 1. the requester's body: the clerk's person pieces, then the pieces motion and appearance link to them
        # (never a piece cut where it overlapped someone: who it follows there is not known)
        self.requester = {t.id for t in kept if t.label == "person" and t.id in self.chosen and not t.contact}
        self.requester |= {by_id[t.parent].id for t in kept if t.label == "face" and t.id in self.chosen
                           and t.parent in by_id and not by_id[t.parent].contact}
        if self.requester:
            self._link_persons()
        self._adopt_faces()
        kept = [t for t in self.table.tracks if t.id in self.keep and t.label in ("face", "person") and len(t.frames)]
        # 2. faces large enough to recognise
        checks = self._face_pass(kept, masks)
        # 3. every kept frame: verified, or masked and listed
        self._gate(kept, checks, masks)
        self._masks = dict(masks)
        return self.events

    def _face_pass(self, kept: list[Track], masks: dict[int, list[np.ndarray]]) -> dict[int, list[Check]]:
        checks: dict[int, list[Check]] = defaultdict(list)
        faces = {t.id for t in kept if t.label == "face"}
        big = {t.id for t in kept if float(np.max(t.boxes[:, 3] - t.boxes[:, 1])) >= 0.6 * MIN_FACE_PX
               or t.label == "person"}
        if faces and not any(t.embeddings for t in kept if t.label == "face"):
            enrich_embeddings(self.table, self.video, only=faces)
        ref = self._reference()
        if ref is None:
            self.events.append({"track": sorted(self.chosen), "event": "no face to recognise",
                                "detail": "no face of 20 px or more in the kept tracks: identity rests on the body's "
                                          "motion and appearance, and frames it cannot confirm are masked"})
            return checks
        regions: dict[int, list[tuple[Track, np.ndarray]]] = defaultdict(list)
        spans: dict[int, dict[int, np.ndarray]] = {}
        for t in kept:
            spans[t.id] = dense_boxes(t)
            if t.id not in big:
                continue
            for f, box in spans[t.id].items():
                region = head_region(box[None])[0] if t.label == "person" else box
                if region[3] - region[1] >= 0.6 * MIN_FACE_PX:
                    regions[f].append((t, region))
        # Face tracks not kept but large enough to judge: after an identity swap the requester's face goes on in
        # another track; where that track shows the requester steadily, their face is shown (see `_candidates`).
        # The requester's body between their pieces (interpolated): their face there is checked too.
        body, _ = self._body()
        covered = {f for t in kept if t.label == "person" for f in spans[t.id]}
        for f, b in body.items():
            region = head_region(b[None])[0]
            if f not in covered and region[3] - region[1] >= 0.6 * MIN_FACE_PX:
                regions[f].append((BODY, region))
        # The requester's face between the chosen face tracks (the detector lost it for a few frames behind or
        # beside someone): their face is looked for where it was going, and shown where SFace verifies it.
        for f, box in self._face_gaps().items():
            regions[f].append((GAP, box))
        candidates = [t for t in self.table.tracks if t.label == "face" and t.id not in self.keep and len(t.frames)
                      and float(np.median(t.boxes[:, 3] - t.boxes[:, 1])) >= MIN_FACE_PX]
        for t in candidates:  # over the whole span: a piece's rows are keyframes, 4 frames apart
            for f, box in dense_boxes(t).items():
                regions[f].append((t, box))
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
        return checks

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
            clear[i] = big[i] and (not len(others) or not geometry.overlaps(found.boxes[i], others).any())
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
                if (track.id in self.keep or track is BODY or track is GAP) and scores[i] >= THRESHOLD and clear[i]:
                    self._visible.setdefault(index, []).append(found.boxes[i])

    def _face_gaps(self) -> dict[int, np.ndarray]:
        """frame -> where the requester's face is between two of the chosen face tracks, over gaps of up to
        LINK_GAP_S that no chosen track covers: the box interpolated from the end of one to the start of the next,
        where the face could go that far in that time (GAP_PACE face heights a frame). Never a track of its own:
        only a face SFace matches there, clear of every other face, is shown (`_check`); any other face found there
        is masked."""
        fps = float(self.table.video.get("fps") or 10.0)
        max_gap = max(8, round(LINK_GAP_S * fps))
        faces = sorted((t for t in self.table.tracks if t.id in self.chosen and t.label == "face" and len(t.frames)
                        and float(np.max(t.boxes[:, 3] - t.boxes[:, 1])) >= 0.6 * MIN_FACE_PX),
                       key=lambda t: (int(t.frames[0]), int(t.frames[-1])))
        out: dict[int, np.ndarray] = {}
        tip = None
        for t in faces:
            if tip is not None and int(t.frames[0]) - int(tip.frames[-1]) > 1:
                f0, f1 = int(tip.frames[-1]), int(t.frames[0])
                a, b = tip.boxes[-1].astype(np.float32), t.boxes[0].astype(np.float32)
                h = max(float(min(a[3] - a[1], b[3] - b[1])), 1.0)
                moved = float(np.hypot((a[0] + a[2] - b[0] - b[2]) / 2, (a[1] + a[3] - b[1] - b[3]) / 2))
                if f1 - f0 - 1 <= max_gap and moved <= GAP_PACE * h * (f1 - f0):
                    for f in range(f0 + 1, f1):
                        out[f] = a + (b - a) * (f - f0) / (f1 - f0)
            if tip is None or int(t.frames[-1]) > int(tip.frames[-1]):
                tip = t
        return out

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
            self._segment_ids.add(next_id)
            self.events.append({"track": next_id, "event": "requester found in another track",
                                "frames": [int(run[0].frame), int(run[-1].frame)],
                                "score": round(float(np.mean([c.score for c in run])), 3)})
            next_id += 1
        self._segments = []

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
            self._masked[(track.id, "another face (SFace)")].add(c.frame)
            if run >= CONFIRM:
                start = (last_match + 1) if last_match is not None else min(span)
                end = max(span)
                for f in range(start, end + 1 + PAD_AFTER):
                    box = span.get(f, span[end])
                    masks[f].append(_region_mask(track, box))
                    if f in span:
                        self._masked[(track.id, "identity swap (SFace)")].add(f)
                self.events.append({"track": track.id, "event": "identity mismatch", "from_frame": start,
                                    "first_mismatch": ordered[ordered.index(c) - run + 1].frame,
                                    "score": round(c.score, 3)})
                self._swapped[track.id] = start
                return

    # ---- the body: linking person pieces --------------------------------------------------------------------------
    def _appearance(self, persons: list[Track]) -> dict[int, dict[int, np.ndarray]]:
        """track id -> frame -> appearance descriptor of its box (foreground only where the camera stands still)."""
        info = probe(self.video)
        want: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
        for t in persons:
            for i in _sample_rows(t, LOOK_ROWS):
                want[int(t.frames[i])].append((t.id, t.boxes[i]))
        if not want:
            return {}
        step = max(1, self.table.frames // BACKGROUND_SAMPLES)
        still = _still_camera(self.table)
        samples, crops = [], []
        last = max(want)
        for frame in progress(decode(self.video, info.rotation), total=self.table.frames, desc="appearance",
                              enabled=self.show_progress):
            if still and frame.index % step == 0:
                samples.append(frame.image[::2, ::2].copy())
            for tid, b in want.get(frame.index, ()):
                crop = crop_of(frame.image, b)
                if crop is not None:
                    crops.append((tid, frame.index, b, crop))
            if frame.index >= last and (not still or frame.index >= self.table.frames - 1):
                break
        background = None
        if still and len(samples) >= 5:
            small = np.median(np.stack(samples), axis=0).astype(np.uint8)
            background = np.repeat(np.repeat(small, 2, axis=0), 2, axis=1)
        out: dict[int, dict[int, np.ndarray]] = defaultdict(dict)
        for tid, f, b, crop in crops:
            bg = crop_of(background, b) if background is not None else None
            out[tid][f] = describe_crop(crop, bg)
        return out

    def _link_persons(self) -> None:
        persons = [t for t in self.table.tracks if t.label == "person" and len(t.frames)]
        looks = self._appearance(persons)
        by_id = {t.id: t for t in persons}
        fps = float(self.table.video.get("fps") or 10.0)
        max_gap = max(8, round(LINK_GAP_S * fps))
        contact = _contacts(persons)

        def mean_look(t: Track, frames: set[int] | None = None) -> np.ndarray | None:
            rows = [d for f, d in looks.get(t.id, {}).items() if f not in contact.get(t.id, ()) and
                    (frames is None or f in frames)]
            return np.mean(rows, axis=0) if rows else None

        ref_rows = [d for tid in self.requester for f, d in looks.get(tid, {}).items()
                    if f not in contact.get(tid, ())]
        for c in self.confirmed:
            for tid in ([c["track"]] if c.get("track") is not None else list(self.requester)):
                ref_rows += [d for f, d in looks.get(tid, {}).items() if c["first"] <= f <= c["last"]]
        if not ref_rows:
            return
        ref = np.mean(ref_rows, axis=0)
        refused: set[tuple[int, int]] = set()
        linked = True
        while linked:
            linked = False
            chain = sorted((by_id[i] for i in self.requester if i in by_id), key=lambda t: int(t.frames[0]))
            for direction in (1, -1):
                for tip in chain:
                    at = int(tip.frames[-1] if direction > 0 else tip.frames[0])
                    q = self._link_from(tip, at, direction, chain, persons, ref, mean_look, max_gap, refused)
                    if q is not None:
                        linked = True
                        break
                if linked:
                    break

    def _link_from(self, tip: Track, at: int, direction: int, chain: list[Track], persons: list[Track],
                   ref: np.ndarray, mean_look, max_gap: int, refused: set[tuple[int, int]]) -> Track | None:
        """Link the piece that goes on from `tip` (after its end, or before its start going back) if motion puts it
        there, its appearance is the requester's and no piece at the same time is as good a fit."""
        options = []
        for q in persons:
            if q.id in self.requester or q.contact:
                continue
            start = int(q.frames[0] if direction > 0 else q.frames[-1])
            gap = (start - at) * direction
            if not -2 <= gap <= max_gap:
                continue
            if any(_apart(q, t) for t in chain):
                continue  # somewhere at the same time as the requester: someone else
            d = _distance(tip, q, direction, gap)
            look = mean_look(q)
            a = float(similarity(look, ref)[0, 0]) if look is not None else 0.0
            options.append((a - 0.1 * d, a, d, gap, q))
        if not options:
            return None
        options.sort(key=lambda o: -o[0])
        score, a, d, gap, q = options[0]
        allowed = LINK_DISTANCE + LINK_DISTANCE_PER_FRAME * max(gap, 0)
        # a rival: another piece that could be the requester at the same time (one that only starts after the best
        # ends is the next link of the chain, not a rival)
        rivals = [o for o in options[1:] if o[2] <= allowed + 1.0 and _coexist(o[4], q)]
        if d > allowed or a < LINK_APPEARANCE or (rivals and score - rivals[0][0] < LINK_MARGIN):
            if d <= allowed and (q.id, tip.id) not in refused:
                refused.add((q.id, tip.id))
                self.events.append({"track": q.id, "event": "not linked to the requester", "after": tip.id,
                                    "appearance": round(a, 3), "distance": round(d, 2),
                                    "rival": rivals[0][4].id if rivals else None})
            return None
        self.requester.add(q.id)
        self.keep.add(q.id)
        self.added.append(q.id)
        self.events.append({"track": q.id, "event": "requester followed into track", "after": tip.id,
                            "frames": [int(q.frames[0]), int(q.frames[-1])], "appearance": round(a, 3),
                            "distance": round(d, 2)})
        return q

    def _adopt_faces(self) -> None:
        """Face tracks that sit in the head of a requester's body are the requester's face: kept, and gated frame by
        frame (`_gate`) like every kept face."""
        if not self.requester:
            return
        heads = self._requester_heads()
        for t in self.table.tracks:
            if t.label != "face" or t.id in self.keep or not len(t.frames):
                continue
            inside = sum(1 for f, b in zip(t.frames, t.boxes, strict=True)
                         if any(geometry.centre_in(b, h) for h in heads.get(int(f), ())))
            if inside and 2 * inside >= len(t.frames):
                self.keep.add(t.id)
                self.added.append(t.id)

    def _body(self) -> tuple[dict[int, np.ndarray], set[int]]:
        """The requester's body over the frames of their pieces and the gaps between linked pieces (interpolated),
        and the frames where another person's box overlaps it (IoU >= PERSON_CONTACT) or another head touches its
        head: who is who there is not known."""
        if self._body_cache is not None:
            return self._body_cache
        pieces = sorted((t for t in self.table.tracks if t.id in self.requester and len(t.frames)),
                        key=lambda t: int(t.frames[0]))
        rows: dict[int, list[np.ndarray]] = defaultdict(list)
        for t in pieces:
            for f, b in zip(t.frames, t.boxes, strict=True):
                rows[int(f)].append(b)
        body: dict[int, np.ndarray] = {}
        frames = sorted(rows)
        fps = float(self.table.video.get("fps") or 10.0)
        max_gap = max(8, round(LINK_GAP_S * fps))
        for k, f in enumerate(frames):
            body[f] = np.mean(rows[f], axis=0).astype(np.float32)
            if k + 1 < len(frames) and 1 < frames[k + 1] - f <= max_gap:
                g = frames[k + 1]
                nxt = np.mean(rows[g], axis=0)
                for i in range(f + 1, g):
                    body[i] = (body[f] + (nxt - body[f]) * (i - f) / (g - f)).astype(np.float32)
        others = {f: [b for b, _ in v] for f, v in self._others_reach().items()}
        contact = set()
        for f, b in body.items():
            near = np.asarray(others.get(f, ()), np.float32).reshape(-1, 4)
            if not len(near):
                continue
            head = geometry.pad(head_region(b[None])[0], 0.1)
            heads = np.stack([geometry.pad(h, 0.1) for h in head_region(near)])
            if (geometry.iou_pairs(b, near) >= PERSON_CONTACT).any() or geometry.overlaps(head, heads).any():
                contact.add(f)
        self._body_cache = (body, contact)
        return self._body_cache

    def _others_reach(self) -> dict[int, list[tuple[np.ndarray, int]]]:
        """frame -> (box, frames from the track's end) of every person who is not the requester, their pieces
        joined, over their span and as far before and after it as render pads masks in time (carried on at their
        own pace or the camera's): where someone was lost for a few frames they may still be, beside the
        requester (a measured leak: a stranger unseen for 4 frames while overtaking was put back with the
        requester's head)."""
        if self._reach_cache is not None:
            return self._reach_cache
        params = MaskParams()
        before = params.pad_before + max(1, int(self.table.params.get("stride", 1))) - 1
        # at their own pace: render carries masks with the camera's motion, which leaves a walker lost behind
        # someone where they were (the camera here stands still)
        motion = np.asarray(self.table.motion, np.float32).reshape(-1, 2, 3) if self.table.motion else None
        still = motion is None or _still_camera(self.table)
        out: dict[int, list[tuple[np.ndarray, int]]] = defaultdict(list)
        for t in _joined(self.table.tracks, "person", self.requester):
            frames, boxes = _dense_padded(t, self.table.frames, before, params.pad_after, None if still else motion)
            dist = np.maximum(int(t.frames[0]) - frames, frames - int(t.frames[-1])).clip(0)
            for f, b, d in zip(frames, boxes, dist, strict=True):
                out[int(f)].append((b, int(d)))
        self._reach_cache = out
        return out

    def _requester_heads(self) -> dict[int, list[np.ndarray]]:
        """frame -> the head region (grown by half) of the requester's body where no one else's overlaps it."""
        body, contact = self._body()
        return {f: [geometry.pad(head_region(b[None])[0], 0.5)] for f, b in body.items() if f not in contact}

    def _others_heads(self) -> dict[int, list[np.ndarray]]:
        out: dict[int, list[np.ndarray]] = defaultdict(list)
        for t in _joined(self.table.tracks, "person", self.requester):
            for f, b in zip(*dense(t), strict=True):
                out[int(f)].append(geometry.pad(head_region(b[None])[0], 0.25))
        return out

    def _stranger_boxes(self) -> dict[int, np.ndarray]:
        """frame -> every face box of a track not kept (grown by a fifth) and the head of every person who is not
        the requester, over each track's span."""
        out: dict[int, list[np.ndarray]] = defaultdict(list)
        self._strangers_of = len(self.table.tracks)
        for t in self.table.tracks:
            if not len(t.frames):
                continue
            if "audit" in t.sources:  # a finding: masked over render's padding in time, so kept out as long
                for f, b in zip(t.frames, t.boxes, strict=True):
                    for g in range(int(f) - AUDIT_REACH, int(f) + AUDIT_REACH + 1):
                        out[g].append(geometry.pad(b, 0.2))
        for t in _joined(self.table.tracks, "face", self.keep):
            for f, b in zip(*dense(t), strict=True):
                out[int(f)].append(geometry.pad(b, 0.2))
        for f, v in self._others_reach().items():
            for b, d in v:
                out[f].append(geometry.pad(head_region(b[None])[0], 0.1 + 0.15 * d))
        # A face seen by no one's body, before and after its track: where it is then is not known, so its mask
        # padded in time (as render pads it) is not undone. (A face of someone's body is where their head is,
        # above, their body carried on at its pace.)
        params = MaskParams()
        before = params.pad_before + max(1, int(self.table.params.get("stride", 1))) - 1
        persons = {t.id for t in self.table.tracks if t.label == "person"}
        for t in self.table.tracks:
            if t.label != "face" or t.id in self.keep or not len(t.frames) or t.parent in persons:
                continue
            first, last = int(t.frames[0]), int(t.frames[-1])
            for g in (*range(first - before, first), *range(last + 1, last + 1 + params.pad_after)):
                dist = first - g if g < first else g - last
                out[g].append(geometry.pad(t.boxes[0] if g < first else t.boxes[-1],
                                           params.face_pad * (1 + 0.15 * dist)))
        return {f: np.asarray(v, np.float32) for f, v in out.items()}

    # ---- the gate ------------------------------------------------------------------------------------------------
    def _confirmed(self, track: int, frame: int) -> bool:
        return any(c["first"] <= frame <= c["last"] and c.get("track") in (None, track) for c in self.confirmed)

    def _gate(self, kept: list[Track], checks: dict[int, list[Check]], masks: dict[int, list[np.ndarray]]) -> None:
        body, contact = self._body()
        # where SFace saw another face on the requester's body (or a swap from then on), the body is not theirs
        refuted: set[int] = set()
        for t in self.table.tracks:
            if t.id in self.requester:
                if t.id in self._swapped:
                    refuted |= set(range(self._swapped[t.id], int(t.frames[-1]) + 1 + PAD_AFTER))
                refuted |= {c.frame for c in checks.get(t.id, []) if not c.matched}
        # where SFace matched the requester's face, clear of every other face, in their body's head, overlapping
        # bodies leave no doubt whose head it is
        seen = {c.frame for t in self.requester | {BODY.id} for c in checks.get(t, []) if c.matched and c.clear}
        refuted |= {c.frame for c in checks.get(BODY.id, []) if not c.matched}
        contact = (contact - (seen - refuted)) | refuted
        heads = {f: h for f, h in self._requester_heads().items() if f not in refuted}
        if seen - refuted:
            heads.update({f: [geometry.pad(head_region(body[f][None])[0], 0.5)] for f in seen - refuted if f in body})
        others = self._others_heads()
        # someone lost for a few frames beside the requester (no box of theirs there, only where they were going):
        # their head is masked where they may be, and the requester's is not shown
        reach = self._others_reach()
        for f, b in body.items():
            near = geometry.pad(head_region(b[None])[0], 1.0)
            for o, d in reach.get(f, ()):
                head = geometry.pad(head_region(o[None])[0], 0.3 + 0.15 * d)
                if d > 0 and geometry.overlaps(head, near[None])[0]:
                    masks[f].append(head)
                    contact.add(f)
        pieces = sorted((t for t in kept if t.id in self.requester), key=lambda t: int(t.frames[0]))
        for f, b in body.items():
            head = head_region(b[None])[0]
            confirmed = any(self._confirmed(t, f) for t in self.requester)
            if f not in contact or confirmed:  # the requester's head, put back where others' padded masks cover it
                self._verified[f].append(head)
                self._heads_shown[f].append(geometry.pad(head, 0.3))
            else:
                # between or in the requester's pieces, someone overlaps: masked and listed under the piece there
                # (or the one before the gap)
                owner = next((t.id for t in reversed(pieces) if int(t.frames[0]) <= f), pieces[0].id if pieces
                             else -1)
                masks[f].append(_pad(head))
                self._masked[(owner, "another face (SFace)" if f in refuted else "another person overlaps")].add(f)
        for t in kept:
            span = dense_boxes(t)
            swapped = self._swapped.get(t.id)
            if t.label == "person":
                for f, box in span.items():
                    if swapped is not None and f >= swapped:
                        continue  # masked to its end already
                    if self._confirmed(t.id, f):
                        ok, why = True, ""
                    elif t.id not in self.requester:
                        ok, why = False, "body not confirmed as the requester's"
                    elif f in contact:
                        ok, why = False, "another face (SFace)" if f in refuted else "another person overlaps"
                    else:
                        ok, why = True, ""
                    if ok:
                        self._verified[f].append(head_region(box[None])[0])
                    else:
                        masks[f].append(_region_mask(t, box))
                        self._masked[(t.id, why)].add(f)
                continue
            per_frame = {c.frame: c for c in checks.get(t.id, [])}
            matched = any(c.matched for c in per_frame.values())
            segment = t.id in self._segment_ids  # the requester's face verified by SFace in every row
            for f, box in span.items():
                if swapped is not None and f >= swapped:
                    continue
                c = per_frame.get(f)
                if c is not None and not c.matched:
                    continue  # masked by _swaps
                in_head = any(geometry.centre_in(box, h) for h in heads.get(f, ()))
                in_other = any(geometry.centre_in(box, h) for h in others.get(f, ()))
                if segment or (c is not None and c.matched) or self._confirmed(t.id, f):
                    ok, why = True, ""
                elif matched and not (in_other and not in_head):
                    ok, why = True, ""  # SFace matched this piece, and nothing in it mismatched
                elif in_head and not in_other:
                    ok, why = True, ""
                elif in_head:
                    ok, why = False, "another person's head is there"
                elif float(box[3] - box[1]) < MIN_FACE_PX:
                    ok, why = False, "face too small to recognise, and no verified body"
                else:
                    ok, why = False, "face not recognised, and no verified body"
                if ok:
                    self._verified[f].append(box)
                else:
                    masks[f].append(_pad(box))
                    self._masked[(t.id, why)].add(f)
        self._strangers = self._stranger_boxes()
        for (track, why), frames in sorted(self._masked.items()):
            if frames:
                self.events.append({"track": track, "event": "masked for identity", "reason": why,
                                    "frames": _ranges(sorted(frames))})


# The requester's body between their pieces, as a region the face pass checks (its checks carry this id)
BODY = Track(id=-1, label="person", frames=np.zeros(0, np.int64), boxes=np.zeros((0, 4), np.float32),
             scores=np.zeros(0, np.float32))
# The requester's face between the chosen face tracks (`_face_gaps`), as a region the face pass checks
GAP = Track(id=-2, label="face", frames=np.zeros(0, np.int64), boxes=np.zeros((0, 4), np.float32),
            scores=np.zeros(0, np.float32))

def _keep_out(shape: tuple[int, int], x1: int, y1: int, box: np.ndarray, boxes) -> np.ndarray:
    """The pixels of a region (`shape`, its top-left at x1, y1, holding `box`) that lie in any of `boxes` that
    overlap `box` (one pixel more on their far sides)."""
    out = np.zeros(shape, bool)
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    for s in boxes[geometry.overlaps(box, boxes)] if len(boxes) else ():
        sx1, sy1 = max(0, int(np.floor(s[0])) - x1), max(0, int(np.floor(s[1])) - y1)
        sx2, sy2 = int(np.ceil(s[2])) + 1 - x1, int(np.ceil(s[3])) + 1 - y1
        out[sy1:max(sy1, sy2), sx1:max(sx1, sx2)] = True
    return out


def _ranges(frames: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for f in frames:
        if out and f == out[-1][1] + 1:
            out[-1][1] = f
        else:
            out.append([f, f])
    return out


def _still_camera(table: TrackTable) -> bool:
    """Whether the camera stands still (its measured motion never shifts the picture by a pixel or more)."""
    if not table.motion:
        return True
    m = np.asarray(table.motion, np.float32).reshape(-1, 2, 3)
    return bool(np.abs(m[:, :, 2]).max() < 1.0 and np.abs(m[:, :, :2] - np.eye(2)).max() < 0.01)


def _contacts(persons: list[Track], among: set[int] | None = None) -> dict[int, set[int]]:
    """track id -> frames where another person's box overlaps it (IoU >= PERSON_CONTACT); with `among`, only for
    those tracks, and overlaps among them do not count (two pieces of the requester are one person)."""
    boxes: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
    for t in persons:
        for f, b in zip(*dense(t), strict=True):
            boxes[int(f)].append((t.id, b))
    out: dict[int, set[int]] = defaultdict(set)
    for f, per in boxes.items():
        for tid, b in per:
            if among is not None and tid not in among:
                continue
            for oid, o in per:
                if oid == tid or (among is not None and oid in among):
                    continue
                if geometry.iou_pairs(b, o) >= PERSON_CONTACT:
                    out[tid].add(f)
                    break
    return out


def _joined(tracks: list[Track], label: str, exclude: set[int]) -> list[Track]:
    """The tracks of `label` not in `exclude`, with the pieces cut from one track joined again (as render masks
    them, redactor.track.masks): someone else is where the frames between their pieces put them, even where a
    piece of the requester was cut from the same track (a measured leak: a stranger between two one-frame pieces
    of theirs, beside the requester, had no box there and their face was put back with the requester's)."""
    groups: dict[int, list[Track]] = defaultdict(list)
    for t in tracks:
        if t.label == label and len(t.frames) and t.id not in exclude and "audit" not in t.sources:
            groups[t.origin if t.origin is not None else t.id].append(t)
    out = []
    for gid, members in groups.items():
        if len(members) == 1:
            out.append(members[0])
            continue
        frames = np.concatenate([m.frames for m in members])
        boxes = np.concatenate([m.boxes for m in members])
        order = np.argsort(frames, kind="stable")
        frames, boxes = frames[order], boxes[order]
        # no bridge over a long gap (two swaps apart): boxes swept across it would cover whoever is between
        cuts = [0, *(np.nonzero(np.diff(frames) > JOIN_GAP)[0] + 1), len(frames)]
        for a, b in zip(cuts, cuts[1:], strict=False):
            out.append(Track(id=gid, label=label, frames=frames[a:b], boxes=boxes[a:b],
                             scores=np.ones(b - a, np.float32)))
    return out


def _sample_rows(track: Track, n: int) -> list[int]:
    """Up to n row indices spread over the track, detector boxes before boxes carried by flow."""
    rows = [i for i, s in enumerate(track.sources) if s != "flow"] if track.sources else []
    rows = rows or list(range(len(track.frames)))
    if len(rows) <= n:
        return rows
    return [rows[int(k)] for k in np.linspace(0, len(rows) - 1, n).round()]


def _apart(a: Track, b: Track) -> bool:
    """Whether the two tracks are in two places at once in some frame (not one box twice: IoU < 0.5)."""
    if int(a.frames[-1]) < int(b.frames[0]) or int(b.frames[-1]) < int(a.frames[0]):
        return False
    fa, ba = dense(a)
    fb, bb = dense(b)
    common, ia, ib = np.intersect1d(fa, fb, return_indices=True)
    return bool(len(common) and (geometry.iou_pairs(ba[ia], bb[ib]) < 0.5).any())


def _coexist(a: Track, b: Track) -> int:
    return max(0, min(int(a.frames[-1]), int(b.frames[-1])) - max(int(a.frames[0]), int(b.frames[0])) + 1)


def _distance(tip: Track, q: Track, direction: int, gap: int) -> float:
    """How far `q`'s first (last, going back) box is from where `tip`'s motion puts it, in person heights."""
    f, b = tip.frames, tip.boxes
    k = min(len(f) - 1, 6)
    if direction > 0:
        end, ref = b[-1], b[-1 - k]
        v = (end - ref) / max(int(f[-1]) - int(f[-1 - k]), 1)
        other = q.boxes[0]
    else:
        end, ref = b[0], b[k]
        v = (end - ref) / max(int(f[k]) - int(f[0]), 1)
        other = q.boxes[-1]
    pred = end + v * gap
    h = max(float(end[3] - end[1]), 1.0)
    dc = np.hypot((pred[0] + pred[2] - other[0] - other[2]) / 2, (pred[1] + pred[3] - other[1] - other[3]) / 2)
    size = abs(float(other[3] - other[1]) / h - 1.0)
    return float(dc / h + size)


def _region_mask(track: Track, box: np.ndarray) -> np.ndarray:
    return _pad(head_region(box[None])[0] if track.label == "person" else box)

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
            if geometry.overlaps(grown[i], grown[j][None])[0]:
                parent[root(i)] = root(j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(boxes)):
        groups[root(i)].append(i)
    return list(groups.values())

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


def guard_for(table: TrackTable, keep, video: str | Path, photo: str | Path | None = None,
              confirmed: list[dict] | None = None) -> IdentityGuard | None:
    """The identity guard for a render with a keep-set (None without one), its reference from the requester's
    photo when one was given, and the clerk's confirmed frame ranges."""
    if not keep:
        return None
    from redactor.identify.propose import embed_photo

    reference = embed_photo(photo).embedding if photo else None
    return IdentityGuard(table, keep, video, reference, confirmed=confirmed)

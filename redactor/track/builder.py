"""Accumulate tracked detections frame by frame into the TrackTable's tracks, with a thumbnail for each track and
the parent (the person holding a face, the vehicle carrying a plate) that keeping a whole person or car relies on.
Person and face tracks are cut where their identity may change (redactor.track.split): a person's appearance is
measured at every keyframe for that."""

from __future__ import annotations

import base64
from collections import defaultdict

import cv2
import numpy as np

from redactor.detect.types import LABEL_ID, LABELS, Detections
from redactor.geometry import coverage_matrix, crop_window
from redactor.identify.appearance import describe
from redactor.track.split import assign_parents, split_tracks
from redactor.track.table import Track

THUMB_MAX = 128  # px, longest side of a stored thumbnail
THUMB_WINDOW = 16  # frames: the best thumbnail of each window is kept, so that every piece of a cut track has one


class TrackBuilder:
    def __init__(self) -> None:
        self._rows: dict[int, list[tuple[int, np.ndarray, float, str]]] = defaultdict(list)
        self._label: dict[int, int] = {}
        self._thumb: dict[tuple[int, int], tuple[float, int, np.ndarray, bytes | None]] = {}
        self._looks: dict[int, dict[int, np.ndarray]] = defaultdict(dict)  # person track -> frame -> appearance
        self._cooccur: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, index: int, image: np.ndarray | None, dets: Detections) -> None:
        """One frame's tracked boxes; `image` None (or empty) for boxes carried between keyframes, which offer no
        thumbnail (a thumbnail shows what a detector saw)."""
        for box, score, label, tid, source in zip(dets.boxes, dets.scores, dets.labels, dets.track_ids,
                                                  dets.sources, strict=True):
            tid = int(tid)
            self._rows[tid].append((index, box, float(score), source))
            self._label[tid] = int(label)
            if image is not None and image.size:
                self._offer_thumbnail(tid, index, image, box, float(score))
        if image is not None and image.size and dets.track_ids is not None:
            persons = np.nonzero(dets.labels == LABEL_ID["person"])[0]
            if len(persons):
                for tid, d in zip(dets.track_ids[persons], describe(image, dets.boxes[persons]), strict=True):
                    self._looks[int(tid)][index] = d
        self._note_parents(dets)

    def _offer_thumbnail(self, tid: int, index: int, image: np.ndarray, box: np.ndarray, score: float) -> None:
        w, h = float(box[2] - box[0]), float(box[3] - box[1])
        quality = w * h * score
        key = (tid, index // THUMB_WINDOW)
        best = self._thumb.get(key)
        if best is not None and quality <= best[0]:
            return
        x1, y1, x2, y2 = crop_window(box, 0.15, image.shape)
        crop = image[y1:y2, x1:x2]
        if crop.size == 0:
            return
        s = THUMB_MAX / max(crop.shape[:2])
        if s < 1:
            crop = cv2.resize(crop, (max(1, round(crop.shape[1] * s)), max(1, round(crop.shape[0] * s))),
                              interpolation=cv2.INTER_AREA)
        # kept as JPEG: a long clip holds one per track and window
        ok, jpg = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 85])
        self._thumb[key] = (quality, index, box.copy(), jpg.tobytes() if ok else None)

    def _note_parents(self, dets: Detections) -> None:
        for child, parent in (("plate", "vehicle"),):  # faces: by head region, after the cut (assign_parents)
            c = dets.with_label(child)
            p = dets.with_label(parent)
            if not len(c) or not len(p):
                continue
            cover = coverage_matrix(c.boxes, p.boxes)
            for i, j in zip(*np.nonzero(cover >= 0.6), strict=True):
                self._cooccur[int(c.track_ids[i])][int(p.track_ids[j])] += 1

    def tracks(self) -> list[Track]:
        out = []
        for tid, rows in sorted(self._rows.items()):
            rows.sort(key=lambda r: r[0])
            rows = _between_detections_interpolated(rows)
            parent = None
            if self._cooccur.get(tid):
                best, count = max(self._cooccur[tid].items(), key=lambda kv: kv[1])
                if count * 2 >= len(rows):
                    parent = best
            out.append(Track(id=tid, label=LABELS[self._label[tid]], frames=np.array([r[0] for r in rows]),
                             boxes=np.array([r[1] for r in rows], np.float32).reshape(-1, 4),
                             scores=np.array([r[2] for r in rows], np.float32), sources=[r[3] for r in rows],
                             parent=parent))
        out = split_tracks(out, self._looks)
        assign_parents(out)
        for t in out:
            t.thumbnail = self._thumbnail(t)
        return out

    def _thumbnail(self, track: Track) -> dict | None:
        """The best crop a detector saw within the track's (or piece's) frames."""
        origin = track.origin if track.origin is not None else track.id
        first, last = int(track.frames[0]), int(track.frames[-1])
        offers = [self._thumb[(origin, w)] for w in range(first // THUMB_WINDOW, last // THUMB_WINDOW + 1)
                  if (origin, w) in self._thumb]
        offers = [o for o in offers if first <= o[1] <= last]
        if not offers:
            return None
        _, index, box, jpg = max(offers, key=lambda o: o[0])
        return {"frame": index, "box": [round(float(v), 1) for v in box],
                "jpeg_b64": base64.b64encode(jpg).decode() if jpg else None}


def _between_detections_interpolated(rows: list) -> list:
    """Drop the boxes carried by optical flow (source "flow") that lie between two detections of the track: there
    the track is interpolated from what the detectors saw, which does not drift when two faces cross (carried boxes
    can follow the face in front). Carried boxes before the first detection (a track taken over from another's
    keyframe) and after the last one (the track's tail, up to the next keyframe) stay."""
    found = [i for i, r in enumerate(rows) if r[3] != "flow"]
    if len(found) < 2:
        return rows
    first, last = found[0], found[-1]
    return [r for i, r in enumerate(rows) if not (first < i < last and r[3] == "flow")]

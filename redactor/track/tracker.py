"""Tracking with ByteTrack from the maintained `trackers` package (one tracker per label, so a face never continues a
plate's track). Every detection comes out with a track id: ByteTrack leaves unmatched low-confidence boxes without
one (-1), and those become one-frame tracks of their own, so nothing detected goes unmasked (or keep the id they
came with: boxes carried between keyframes by redactor.track.flow).

ByteTrack's motion model is a constant-velocity Kalman filter in picture coordinates: a shaking camera (steps of
10-20 px a frame) throws a small face's box further than its size between two frames, and it matched nothing or a
neighbour, so each keyframe began new tracks (issue 13). Given the camera's measured motion, boxes are tracked in
the coordinates of a reference frame (the first, or the last cut): there a face on a still photo stands still."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker

from redactor.detect.types import LABELS, Detections
from redactor.track.motion import apply

# The reference is taken again (the tracks there are then lost) once the picture's scale in it leaves this range: a
# long zoom would otherwise shrink boxes to nothing or blow them up in the tracker's coordinates.
_REF_SCALE = (0.25, 4.0)


class MultiLabelTracker:
    def __init__(self, lost_frames: int = 25, activation: float = 0.3, high: float = 0.5) -> None:
        self._ids = itertools.count(1)
        self._map: dict[tuple[int, int], int] = {}
        self._claimed: set[int] = set()  # the global ids some ByteTrack track holds: never given to a second one
        self._trackers = {
            label: ByteTrackTracker(lost_track_buffer=lost_frames, frame_rate=30.0,
                                    track_activation_threshold=activation, minimum_consecutive_frames=1,
                                    minimum_iou_threshold=0.1, high_conf_det_threshold=high)
            for label in range(len(LABELS))
        }
        self._to_ref = np.eye(3)  # this frame's pixel coordinates to the reference frame's

    def update(self, dets: Detections, camera: np.ndarray | None = None) -> Detections:
        """Track one frame's boxes. `camera`: the 2x3 motion from the previous frame to this one
        (redactor.track.motion), None at a cut or where not measured (the reference is then this frame)."""
        self._follow(camera)
        ref = apply(self._to_ref[:2].astype(np.float32), dets.boxes) if len(dets) else dets.boxes
        parts = []
        for label, tracker in self._trackers.items():
            sel = np.nonzero(dets.labels == label)[0]
            sub = dets[sel]
            sv_dets = sv.Detections(xyxy=ref[sel].astype(np.float32), confidence=sub.scores,
                                    class_id=np.full(len(sub), label), data={"i": sel})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = tracker.update(sv_dets)
            if len(out) == 0:
                continue
            order = np.asarray(out.data["i"], np.int64)
            carried = dets.track_ids[order] if dets.track_ids is not None else None
            for k, t in enumerate(out.tracker_id):
                if t >= 0 and carried is not None:
                    self._take_over(label, int(t), int(carried[k]))
            tracked = {self._global(label, int(t)) for t in out.tracker_id if t >= 0}
            ids = []
            for k, t in enumerate(out.tracker_id):
                if t >= 0:
                    ids.append(self._global(label, int(t)))
                elif carried is not None and int(carried[k]) not in tracked and int(carried[k]) not in ids:
                    ids.append(int(carried[k]))  # a box carried between keyframes keeps its track
                else:
                    # its carried id went to another box this frame: one id a frame, or a track would hold two
                    # boxes at one frame and render would mask only one of them
                    ids.append(next(self._ids))
            ids = np.array(ids, np.int64)
            part = dets[order]
            parts.append(Detections(part.boxes, part.scores, part.labels, ids, part.sources))
        if not parts:
            return Detections(*_empty_arrays(), track_ids=np.zeros(0, np.int64))
        return Detections(np.concatenate([p.boxes for p in parts]), np.concatenate([p.scores for p in parts]),
                          np.concatenate([p.labels for p in parts]), np.concatenate([p.track_ids for p in parts]),
                          sum((p.sources for p in parts), ()))

    def _take_over(self, label: int, local: int, carried: int) -> None:
        """A track ByteTrack starts on a carried box continues that box's track. ByteTrack confirms a track on its
        second update, so the boxes of a clip's (or a cut's) first keyframe come out untracked with ids of their
        own, and the track confirmed a frame later on their carried copies would get yet another id: every face of
        the first keyframe was a one-frame track, and a clerk's click there kept the requester at that frame only."""
        key = (label, local)
        if key in self._map or carried < 0 or carried in self._claimed:
            return
        self._map[key] = carried
        self._claimed.add(carried)

    def _follow(self, camera: np.ndarray | None) -> None:
        if camera is None:
            self._to_ref = np.eye(3)
            return
        m = np.vstack([np.asarray(camera, np.float64).reshape(2, 3), [0, 0, 1]])
        to_ref = self._to_ref @ np.linalg.inv(m)
        scale = abs(np.linalg.det(to_ref[:2, :2])) ** 0.5
        self._to_ref = to_ref if _REF_SCALE[0] <= scale <= _REF_SCALE[1] else np.eye(3)

    def _global(self, label: int, local: int) -> int:
        if local < 0:
            return next(self._ids)  # an untracked box: a track of its own
        key = (label, local)
        if key not in self._map:
            self._map[key] = next(self._ids)
            self._claimed.add(self._map[key])
        return self._map[key]


def _empty_arrays():
    return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int16)

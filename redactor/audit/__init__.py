"""The audit (the fifth step): a second opinion on what render wrote. A detector set other than the one that drove
the masks (redactor.detect.engine.AuditDetector) looks at the output's frames; a face or plate found outside the
kept tracks and outside the masks is a finding. `redact` re-masks findings as one-frame tracks in the same render
(redactor.audit.stream), unless a finding persists where it was masked (`persisting`); findings left after the
re-mask rounds block the release (exit 3, nothing written). The segmented render re-renders the segments a round's
findings touch instead (`remask_again`).

- `FrameAudit`: the audit as a frame hook on the very pixels handed to the encoder (no second decode).
- `audit(video, table, keep)`: the same over a clip on disk (`redactor audit`), with the masks the table plans.
- `findings_as_tracks`: what a re-mask round adds to the table."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from redactor.detect.engine import AuditDetector
from redactor.detect.types import LABEL_ID, LABELS
from redactor.geometry import coverage_matrix, pad
from redactor.media import decode, probe
from redactor.progress import progress
from redactor.track.masks import MaskParams, kept_boxes, plan_masks
from redactor.track.table import Track, TrackTable
from redactor.weights.runtime import frame_workers


@dataclass
class Finding:
    frame: int
    label: str
    box: list[float]
    score: float

    def to_json(self) -> dict:
        return {"frame": self.frame, "label": self.label, "box": [round(v, 1) for v in self.box],
                "score": round(self.score, 3)}


def audit(video: str | Path, table: TrackTable | None = None, keep: Iterable[int] = (),
          detector: AuditDetector | None = None, show_progress: bool = True,
          params: MaskParams | None = None) -> list[Finding]:
    """Scan a rendered clip, every frame, with a different detector than the one that drove the masks; every face
    or plate found outside the kept tracks is a finding. With the clip's track table, the masks it plans are passed
    too, as `redact` passes them: a plate "found" on one of them is the mask itself."""
    info = probe(video)
    masks = plan_masks(table, set(keep), params) if table is not None else None
    check = FrameAudit(detector or AuditDetector(), table, keep, masks=masks)
    for frame in progress(decode(video, info.rotation), total=info.frames, desc="audit", enabled=show_progress):
        check(frame.image, frame.index)
    return check.findings


# A plate finding that encloses one of the frame's masks and is at least this much covered by it is the mask, not a
# plate: a plain rectangle is what a plate detector looks for. On a 720p street clip 11 of the audit's 20 findings
# were fastanpr boxes around masked plates (62-70% covered, the mask 83-100% inside), and they cost a re-mask round
# that rendered the whole clip again.
PLATE_ON_MASK = 0.5


def around_a_mask(boxes: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Which boxes are drawn around one of the masks: the mask lies (almost) wholly inside the box and fills at
    least PLATE_ON_MASK of it. A mask that slid half off a plate is larger than the plate, so it is never inside
    the plate's box: that finding stands."""
    inside = coverage_matrix(masks, boxes).T >= 0.8  # (boxes, masks)
    fills = coverage_matrix(boxes, masks) >= PLATE_ON_MASK
    return (inside & fills).any(axis=1)


class FrameAudit:
    """The audit as a frame hook: `redact` runs it on the very pixels handed to the encoder (after masks and
    watermarks), on every `stride`-th frame from `offset`, so the clip is not decoded a second time for it. Solid,
    mosaic and blur masks survive encoding, so what the encoder is given is what the file shows."""

    def __init__(self, detector: AuditDetector, table: TrackTable | None = None, keep: Iterable[int] = (),
                 stride: int = 1, offset: int = 0, only: set[int] | None = None,
                 pool: ThreadPoolExecutor | None = None, masks: dict[int, np.ndarray] | None = None,
                 verified: Callable[[int], np.ndarray] | None = None) -> None:
        self.detector = detector
        # The boxes render masked on each frame: a plate "found" inside one is the mask itself (a plain rectangle
        # is what a plate detector looks for), not a plate left visible.
        self.masks = masks if masks is not None else {}  # the caller's dict: re-masks it adds later count (stream)
        # With a pool, frames are checked by its workers while the caller goes on encoding; `findings` waits for
        # them. The caller must not change a frame's pixels after handing it over (render does not).
        self.pool = pool
        self._pending: deque[Future] = deque()
        self._findings: list[Finding] = []
        self.only = only  # audit just these frames (of those the stride picks): a re-mask round's changed ones
        # What the audit lets through: only what was verified as the requester in that frame (their face, the head of
        # their verified body: `verified`, from redactor.identify.guard) and a kept vehicle's plates; never a whole
        # kept body or vehicle box, which can hold a stranger's face (issue 14). Without a guard, the kept face and
        # plate boxes themselves.
        keep = set(keep)
        self.verified = verified
        self.kept = kept_boxes(table, keep, labels=("plate",) if verified else ("face", "plate")) \
            if table is not None and keep else {}
        self.stride, self.offset = max(1, stride), offset % max(1, stride)
        self.audited: set[int] = set()
        self.seconds = 0.0  # summed over workers: it overlaps rendering when a pool is used

    def __call__(self, image: np.ndarray, index: int) -> np.ndarray:
        if index % self.stride != self.offset or (self.only is not None and index not in self.only):
            return image
        self.audited.add(index)
        if self.pool is None:
            self._findings += self._check(image, index)
            return image
        self._pending.append(self.pool.submit(self._check, image, index))
        while len(self._pending) > 2 * frame_workers():  # bound the frames held in memory
            self._findings += self._pending.popleft().result()
        return image

    @property
    def findings(self) -> list[Finding]:
        while self._pending:
            self._findings += self._pending.popleft().result()
        return sorted(self._findings, key=lambda f: f.frame)

    def _check(self, image: np.ndarray, index: int) -> list[Finding]:
        t = time.perf_counter()
        dets = self.detector.detect(image)
        own = self.kept.get(index, _NO_BOXES)
        if self.verified is not None:
            own = np.concatenate([own, self.verified(index)])
        if len(dets) and len(own):
            # a face or plate box at most a third larger than the verified one (another detector's box of it)
            inside = coverage_matrix(dets.boxes, pad(own, 0.3)).max(axis=1) >= 0.5
            dets = dets[~inside]
        masked = self.masks.get(index)
        if len(dets) and masked is not None and len(masked):
            dets = dets[~((dets.labels == LABEL_ID["plate"]) & around_a_mask(dets.boxes, masked))]
            # faces beside a flat mask are looked at again without the mask's edge (AuditDetector.beside_masks)
            if len(dets) and hasattr(self.detector, "beside_masks"):
                dets = dets[self.detector.beside_masks(image, dets, masked)]
        found = [Finding(index, LABELS[label], [float(v) for v in box], float(score))
                 for box, score, label in zip(dets.boxes, dets.scores, dets.labels, strict=True)]
        self.seconds += time.perf_counter() - t
        return found


_NO_BOXES = np.zeros((0, 4), np.float32)


def same_boxes(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and bool(np.array_equal(a, b))


def findings_as_tracks(findings: list[Finding], start_id: int) -> list[Track]:
    """Audit findings become one-frame tracks, so the next render masks them (padded in time like any track)."""
    out = []
    for i, f in enumerate(findings):
        out.append(Track(id=start_id + i, label=f.label, frames=np.array([f.frame]),
                         boxes=np.array([f.box], np.float32), scores=np.array([f.score], np.float32),
                         sources=["audit"]))
    return out


AUDIT_STRIDE = 2  # redact audits every other frame of its output (every frame when the analysis stride is 1)

# Re-mask rounds. A re-mask paints new blocks, and their straight edges frame patches of the picture beside them
# that the audit's low thresholds then take for a face or a plate: each round's findings are new ones next to the
# last round's masks, not the old ones seen again. On the held-out shaking and noisy 720p clips of issue 13 the
# findings went 73 -> 10 -> 1 -> 0 and 56 -> 6 -> 1 -> 0 (none on a spot masked before, none a labelled face): two
# rounds refused both clips, the third released them. Run again through `redact`, the shaking clip went 71 -> 11 ->
# 1 -> 2 -> 0 (scores within a hair of the threshold differ from run to run): four rounds. So rounds go on, up to
# this many, unless a finding persists (`persisting`); their count need not fall every round. More would buy little:
# an audit with CenterFace at 0.12 (165 -> 19 -> 9 -> 6 -> 1 -> 1 -> 3 on the shaking clip) did not settle in six.
MAX_REMASK_ROUNDS = 6

# A finding at least this much under the re-masks of earlier findings is seen again where it was masked: the mask does
# not hide it (a face painted over the mask, a detector that sees the mask itself), and more rounds would not either.
# Not half: a box half on a new mask is the mask-edge finding above. At 0.5 a 960x540 crowd clip made by
# shared/tools/make_clip.py over held-out photos was refused after one round (186 -> 29 findings, some straddling the
# edge of a re-mask), which in another run of the same clip released after three (182 -> 25 -> 1 -> 0).
PERSISTS = 0.9


def persisting(findings: list[Finding], remasked: dict[int, np.ndarray]) -> list[Finding]:
    """The findings that lie (PERSISTS or more) under the masks planned for earlier rounds' findings in their frame."""
    out = []
    for f in findings:
        boxes = remasked.get(f.frame)
        if boxes is not None and len(boxes) and coverage_matrix(np.float32([f.box]), boxes).max() >= PERSISTS:
            out.append(f)
    return out


def remask_again(findings: list[Finding], rounds: int, remasked: dict[int, np.ndarray],
                 max_rounds: int = MAX_REMASK_ROUNDS) -> bool:
    """Whether `redact` re-masks and renders once more after a render whose audit found `findings`, `rounds` re-mask
    rounds done, `remasked` the masks of the findings re-masked so far (`audit_masks`): never with no finding left
    or no round left, and never when a finding persists, which would only spend renders before the same refusal."""
    return bool(findings) and rounds < max_rounds and not persisting(findings, remasked)


def audit_masks(table: TrackTable, params: MaskParams | None = None) -> dict[int, np.ndarray]:
    """The masks planned for the audit's findings alone (their one-frame tracks, padded as any track)."""
    return plan_masks(replace(table, tracks=[t for t in table.tracks if "audit" in t.sources]), set(), params)

def audited_frames(table: TrackTable) -> tuple[int, int]:
    """(stride, offset) of the frames redact audits, for the whole clip and for each of its segments alike: every
    other frame, the odd ones (the frames whose masks were interpolated or carried), or every frame when the analysis
    looked at every frame."""
    stride = min(AUDIT_STRIDE, max(1, int(table.params.get("stride", 1))))
    return stride, 1 if stride > 1 else 0
